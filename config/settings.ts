/**
 * Configuration of the stack, read from the environment once and validated
 * with zod so that a wrong value stops start-up with a message that names it.
 */
import path from "node:path";
import { z } from "zod";
import { projectRoot } from "./paths";
import { StartupError } from "./startup-error";

const port = z.coerce.number().int().min(1).max(65535);

const envSchema = z.object({
  DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/ }).optional(),
  WORKER_DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/ }).optional(),
  JASAWEB_DATA_DIR: z.string().min(1).optional(),
  PG_PORT: port.default(55432),
  API_PORT: port.default(3000),
  API_HOST: z.string().min(1).default("127.0.0.1"),
  ADMIN_EMAIL: z.email().default("admin@jasaweb.id"),
  ADMIN_PASSWORD: z.string().min(8, "ADMIN_PASSWORD must have at least 8 characters").optional(),
  OWNER_PASSWORD: z.string().min(8).optional(),
  AUTHENTICATOR_PASSWORD: z.string().min(8).optional(),
  JWT_SECRET: z.string().min(32, "JWT_SECRET must have at least 32 characters").optional(),
  CREDENTIALS_KEY: z.string().min(32, "CREDENTIALS_KEY must have at least 32 characters").optional(),
  WORKER_PASSWORD: z.string().min(8).optional(),
  MIDTRANS_SERVER_KEY: z.string().min(8, "MIDTRANS_SERVER_KEY looks too short").optional(),
  JWT_LIFETIME_SECONDS: z.coerce
    .number()
    .int()
    .min(60)
    .max(30 * 24 * 3600)
    .default(3600),
  SEED_DEMO_DATA: z.enum(["true", "false"]).optional(),
  LOG_LEVEL: z.enum(["debug", "info", "warn", "error"]).default("info"),
});

export type StackConfig = {
  /**
   * Set when an external server is used instead of the embedded one: a
   * superuser connection to the application's database (the bootstrap needs
   * it; migrations then run as the owner role).
   */
  databaseUrl: string | undefined;
  /** The worker's own connection (app_worker); derived from DATABASE_URL and WORKER_PASSWORD when unset. */
  workerDatabaseUrl: string | undefined;
  dataDir: string;
  pgPort: number;
  apiPort: number;
  apiHost: string;
  adminEmail: string;
  adminPassword: string | undefined;
  ownerPassword: string | undefined;
  authenticatorPassword: string | undefined;
  jwtSecret: string | undefined;
  credentialsKey: string | undefined;
  workerPassword: string | undefined;
  jwtLifetimeSeconds: number;
  /** The Midtrans server key: HTTP Basic user for the Core API and the secret of notification signatures. */
  midtransServerKey: string | undefined;
  /** Demo content (posts, pages, FAQs, templates, plans) on seeding; the admin user is always ensured. */
  seedDemoData: boolean | undefined;
  logLevel: "debug" | "info" | "warn" | "error";
};

export class ConfigError extends StartupError {}

export function readConfig(env: NodeJS.ProcessEnv = process.env): StackConfig {
  // An empty variable counts as unset (compose files often pass VAR= ).
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ""));
  const parsed = envSchema.safeParse(present);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join(".")}: ${i.message}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join("\n")}`);
  }
  const e = parsed.data;
  return {
    databaseUrl: e.DATABASE_URL,
    workerDatabaseUrl: e.WORKER_DATABASE_URL,
    dataDir: path.resolve(projectRoot, e.JASAWEB_DATA_DIR ?? ".data"),
    pgPort: e.PG_PORT,
    apiPort: e.API_PORT,
    apiHost: e.API_HOST,
    adminEmail: e.ADMIN_EMAIL.toLowerCase(),
    adminPassword: e.ADMIN_PASSWORD,
    ownerPassword: e.OWNER_PASSWORD,
    authenticatorPassword: e.AUTHENTICATOR_PASSWORD,
    jwtSecret: e.JWT_SECRET,
    credentialsKey: e.CREDENTIALS_KEY,
    workerPassword: e.WORKER_PASSWORD,
    jwtLifetimeSeconds: e.JWT_LIFETIME_SECONDS,
    midtransServerKey: e.MIDTRANS_SERVER_KEY,
    seedDemoData: e.SEED_DEMO_DATA === undefined ? undefined : e.SEED_DEMO_DATA === "true",
    logLevel: e.LOG_LEVEL,
  };
}
