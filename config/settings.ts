/**
 * Configuration of the stack, read from the environment once and validated
 * with zod so that a wrong value stops start-up with a message that names it.
 */
import path from "node:path";
import { z } from "zod";
import { parseTrustedProxies, TrustedProxiesError } from "./client-address";
import { LOG_LEVELS, type LogLevel } from "./console-log";
import { projectRoot } from "./paths";
import { DEFAULT_ROLE_LIMITS, type RoleLimits } from "./role-limits";
import { StartupError } from "./startup-error";

const port = z.coerce.number().int().min(1).max(65535);
const int = (min: number, max: number, fallback: number) => z.coerce.number().int().min(min).max(max).default(fallback);
const attempts = (fallback: number) => int(1, 10, fallback);
const timeoutMs = (fallback: number) => int(100, 120_000, fallback);

/** The Midtrans operations the worker calls, each with its own attempt budget and per-attempt timeout. */
export const MIDTRANS_OPERATIONS = ["create", "status", "cancel", "expire", "refund"] as const;
export type MidtransOperation = (typeof MIDTRANS_OPERATIONS)[number];

/** TRUSTED_PROXIES and REALTIME_TRUSTED_PROXIES: addresses and CIDR ranges, comma-separated; empty trusts nobody. */
const trustedProxies = z
  .string()
  .default("")
  .transform((value, ctx) => {
    try {
      return parseTrustedProxies(value).entries;
    } catch (error) {
      if (!(error instanceof TrustedProxiesError)) throw error;
      ctx.addIssue({ code: "custom", message: error.message });
      return z.NEVER;
    }
  });

/** CORS_ALLOWED_ORIGINS: `*`, or origins (`https://app.example`, no path), comma-separated. */
const corsOrigins = z
  .string()
  .default("*")
  .transform((value, ctx): "*" | string[] => {
    const items = value
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean);
    if (items.length === 1 && items[0] === "*") return "*";
    for (const item of items) {
      let origin: string | undefined;
      try {
        origin = new URL(item).origin;
      } catch {
        // not a URL
      }
      if (origin !== item || !/^https?:/.test(item)) {
        ctx.addIssue({
          code: "custom",
          message: `"${item}" is not an origin like https://app.example (scheme, host and port only), nor a lone *`,
        });
        return z.NEVER;
      }
    }
    if (!items.length) ctx.addIssue({ code: "custom", message: "name at least one origin, or *" });
    return items;
  });

const envSchema = z.object({
  DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/ }).optional(),
  WORKER_DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/ }).optional(),
  JASAWEB_DATA_DIR: z.string().min(1).optional(),
  PG_PORT: port.default(55432),
  API_PORT: port.default(3000),
  API_HOST: z.string().min(1).default("127.0.0.1"),
  TRUSTED_PROXIES: trustedProxies,
  API_MAX_BODY_BYTES: int(1024, 100 * 1024 * 1024, 1024 * 1024),
  CORS_ALLOWED_ORIGINS: corsOrigins,
  POSTGREST_URL: z.url({ protocol: /^https?$/ }).optional(),
  REALTIME_PORT: port.default(3001),
  REALTIME_HOST: z.string().min(1).default("127.0.0.1"),
  REALTIME_TOKEN_RECHECK_MS: int(100, 3_600_000, 30_000),
  REALTIME_TRUSTED_PROXIES: trustedProxies,
  ADMIN_EMAIL: z.email().default("admin@jasaweb.id"),
  ADMIN_PASSWORD: z.string().min(8, "ADMIN_PASSWORD must have at least 8 characters").optional(),
  OWNER_PASSWORD: z.string().min(8).optional(),
  AUTHENTICATOR_PASSWORD: z.string().min(8).optional(),
  JWT_SECRET: z.string().min(32, "JWT_SECRET must have at least 32 characters").optional(),
  CREDENTIALS_KEY: z.string().min(32, "CREDENTIALS_KEY must have at least 32 characters").optional(),
  WORKER_PASSWORD: z.string().min(8).optional(),
  MIDTRANS_SERVER_KEY: z.string().min(8, "MIDTRANS_SERVER_KEY looks too short").optional(),
  MIDTRANS_BASE_URL: z.url({ protocol: /^https?$/ }).optional(),
  MIDTRANS_IS_PRODUCTION: z.enum(["true", "false"]).default("false"),
  MIDTRANS_CREATE_ATTEMPTS: attempts(3),
  MIDTRANS_CREATE_TIMEOUT_MS: timeoutMs(15_000),
  MIDTRANS_STATUS_ATTEMPTS: attempts(2),
  MIDTRANS_STATUS_TIMEOUT_MS: timeoutMs(10_000),
  MIDTRANS_CANCEL_ATTEMPTS: attempts(2),
  MIDTRANS_CANCEL_TIMEOUT_MS: timeoutMs(10_000),
  MIDTRANS_EXPIRE_ATTEMPTS: attempts(2),
  MIDTRANS_EXPIRE_TIMEOUT_MS: timeoutMs(10_000),
  MIDTRANS_REFUND_ATTEMPTS: attempts(3),
  MIDTRANS_REFUND_TIMEOUT_MS: timeoutMs(15_000),
  MIDTRANS_RETRY_BASE_DELAY_MS: int(100, 5000, 1000),
  MIDTRANS_RETRY_MAX_DELAY_MS: int(2000, 5000, 5000),
  MIDTRANS_RETRY_JITTER: z.coerce.number().min(0).max(0.5).default(0.1),
  MIDTRANS_BREAKER_FAILURES: int(1, 100, 5),
  MIDTRANS_BREAKER_HALF_OPEN_AFTER_MS: int(100, 3_600_000, 60_000),
  MIDTRANS_BREAKER_SUCCESSES_TO_CLOSE: int(1, 100, 2),
  MIDTRANS_QRIS_EXPIRY_MINUTES: int(1, 7 * 24 * 60, 15),
  WORKER_CONCURRENCY: int(1, 64, 4),
  WORKER_SHUTDOWN_TIMEOUT_MS: int(100, 600_000, 20_000),
  WORKER_INSTANCE_ID: z
    .string()
    .regex(/^[A-Za-z0-9._:@-]{1,200}$/, "WORKER_INSTANCE_ID: 1-200 letters, digits and . _ : @ -")
    .optional(),
  WORKER_HEARTBEAT_MS: int(100, 3_600_000, 15_000),
  JWT_LIFETIME_SECONDS: z.coerce
    .number()
    .int()
    .min(60)
    .max(30 * 24 * 3600)
    .default(3600),
  PASSWORD_HASH_SLOTS: int(1, 64, 2),
  SEED_DEMO_DATA: z.enum(["true", "false"]).optional(),
  LOG_LEVEL: z.enum(LOG_LEVELS).default("info"),
  DB_STATEMENT_TIMEOUT_ANON_MS: int(100, 600_000, DEFAULT_ROLE_LIMITS.statementTimeoutMs.anon),
  DB_STATEMENT_TIMEOUT_CLIENT_MS: int(100, 600_000, DEFAULT_ROLE_LIMITS.statementTimeoutMs.client),
  DB_STATEMENT_TIMEOUT_ADMIN_MS: int(100, 600_000, DEFAULT_ROLE_LIMITS.statementTimeoutMs.admin),
  DB_STATEMENT_TIMEOUT_WORKER_MS: int(100, 3_600_000, DEFAULT_ROLE_LIMITS.statementTimeoutMs.worker),
  DB_TEMP_FILE_LIMIT_MB: int(1, 1_048_576, DEFAULT_ROLE_LIMITS.tempFileLimitMb),
  DB_IDLE_IN_TRANSACTION_TIMEOUT_MS: int(1_000, 3_600_000, DEFAULT_ROLE_LIMITS.idleInTransactionTimeoutMs),
});

/** How the worker reaches Midtrans and how hard it tries (worker/payments/midtrans-gateway.ts). */
export type MidtransSettings = {
  /** A Core API base URL other than the library's (e.g. the simulator's); undefined: sandbox or production. */
  baseUrl: string | undefined;
  isProduction: boolean;
  /** Per operation: total calls (first one included) and the timeout of each call. */
  operations: Record<MidtransOperation, { attempts: number; timeoutMs: number }>;
  retry: {
    /** The delay before the first retry; each next one doubles, up to maxDelayMs. */
    baseDelayMs: number;
    maxDelayMs: number;
    /** Each delay is shifted randomly by up to this fraction (0.1: ±10 %). */
    jitter: number;
  };
  breaker: {
    /** Consecutive failed operations that open the circuit. */
    failuresToOpen: number;
    /** How long the circuit stays open before it lets a trial call through (half-open). */
    halfOpenAfterMs: number;
    /** Consecutive successful trial calls in half-open that close it again. */
    successesToClose: number;
  };
};

/** The worker process as the resilience API sees it (worker/resilience/). */
export type WorkerSettings = {
  /** The instance's name in the breaker snapshots; undefined: hostname:pid:random. */
  instanceId: string | undefined;
  /** How often the instance reports its breakers (and so proves it is alive). */
  heartbeatMs: number;
  /** Jobs one worker process runs at once (graphile-worker's concurrency). */
  concurrency: number;
};

/** The API edge in front of PostgREST (edge/): who is trusted, what is refused. */
export type EdgeSettings = {
  /** Peers whose X-Forwarded-For is believed (config/client-address.ts); empty: nobody's. */
  trustedProxies: readonly string[];
  /** Request bodies over this many bytes are refused with 413 before they are read. */
  maxBodyBytes: number;
  /** Origins a browser may call the API from; "*": any (development). */
  corsAllowedOrigins: "*" | readonly string[];
  /** The PostgREST the stand-alone edge (stack/edge.ts) forwards to; npm start runs its own. */
  postgrestUrl: string | undefined;
};

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
  /** Where the API edge listens (PostgREST itself listens on a loopback port of its own). */
  apiPort: number;
  apiHost: string;
  edge: EdgeSettings;
  /** Where the realtime hub (WebSocket /realtime, GET /health) listens. */
  realtimePort: number;
  realtimeHost: string;
  /** How often the hub re-checks the tokens of its open sockets (revoked, role changed, account deleted). */
  realtimeTokenRecheckMs: number;
  /**
   * The proxies (addresses, CIDR ranges) in front of the hub whose X-Forwarded-For it believes
   * for the client address it records; empty: the TCP peer's address is recorded.
   */
  realtimeTrustedProxies: readonly string[];
  adminEmail: string;
  adminPassword: string | undefined;
  ownerPassword: string | undefined;
  authenticatorPassword: string | undefined;
  jwtSecret: string | undefined;
  credentialsKey: string | undefined;
  workerPassword: string | undefined;
  jwtLifetimeSeconds: number;
  /** How many bcrypt hashes (login, register) may run at once; more answer 503 BUSY at once. */
  passwordHashSlots: number;
  /**
   * How long a stopping worker (SIGTERM/SIGINT) lets running jobs finish
   * before it releases them to other workers (worker/shutdown.ts).
   */
  workerShutdownTimeoutMs: number;
  /** The Midtrans server key: HTTP Basic user for the Core API and the secret of notification signatures. */
  midtransServerKey: string | undefined;
  midtrans: MidtransSettings;
  /** How long a QR code may be paid (the charge's custom_expiry), in minutes. */
  qrisExpiryMinutes: number;
  worker: WorkerSettings;
  /** Demo content (posts, pages, FAQs, templates, plans) on seeding; the admin user is always ensured. */
  seedDemoData: boolean | undefined;
  /** What npm start prints (config/console-log.ts). */
  logLevel: LogLevel;
  /** Per-role statement timeouts, temporary-file cap, idle-in-transaction timeout (set by the bootstrap). */
  roleLimits: RoleLimits;
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
    edge: {
      trustedProxies: e.TRUSTED_PROXIES,
      maxBodyBytes: e.API_MAX_BODY_BYTES,
      corsAllowedOrigins: e.CORS_ALLOWED_ORIGINS,
      postgrestUrl: e.POSTGREST_URL?.replace(/\/+$/, ""),
    },
    realtimePort: e.REALTIME_PORT,
    realtimeHost: e.REALTIME_HOST,
    realtimeTokenRecheckMs: e.REALTIME_TOKEN_RECHECK_MS,
    realtimeTrustedProxies: e.REALTIME_TRUSTED_PROXIES,
    adminEmail: e.ADMIN_EMAIL.toLowerCase(),
    adminPassword: e.ADMIN_PASSWORD,
    ownerPassword: e.OWNER_PASSWORD,
    authenticatorPassword: e.AUTHENTICATOR_PASSWORD,
    jwtSecret: e.JWT_SECRET,
    credentialsKey: e.CREDENTIALS_KEY,
    workerPassword: e.WORKER_PASSWORD,
    jwtLifetimeSeconds: e.JWT_LIFETIME_SECONDS,
    passwordHashSlots: e.PASSWORD_HASH_SLOTS,
    workerShutdownTimeoutMs: e.WORKER_SHUTDOWN_TIMEOUT_MS,
    midtransServerKey: e.MIDTRANS_SERVER_KEY,
    midtrans: {
      baseUrl: e.MIDTRANS_BASE_URL?.replace(/\/+$/, ""),
      isProduction: e.MIDTRANS_IS_PRODUCTION === "true",
      operations: {
        create: { attempts: e.MIDTRANS_CREATE_ATTEMPTS, timeoutMs: e.MIDTRANS_CREATE_TIMEOUT_MS },
        status: { attempts: e.MIDTRANS_STATUS_ATTEMPTS, timeoutMs: e.MIDTRANS_STATUS_TIMEOUT_MS },
        cancel: { attempts: e.MIDTRANS_CANCEL_ATTEMPTS, timeoutMs: e.MIDTRANS_CANCEL_TIMEOUT_MS },
        expire: { attempts: e.MIDTRANS_EXPIRE_ATTEMPTS, timeoutMs: e.MIDTRANS_EXPIRE_TIMEOUT_MS },
        refund: { attempts: e.MIDTRANS_REFUND_ATTEMPTS, timeoutMs: e.MIDTRANS_REFUND_TIMEOUT_MS },
      },
      retry: {
        baseDelayMs: e.MIDTRANS_RETRY_BASE_DELAY_MS,
        maxDelayMs: e.MIDTRANS_RETRY_MAX_DELAY_MS,
        jitter: e.MIDTRANS_RETRY_JITTER,
      },
      breaker: {
        failuresToOpen: e.MIDTRANS_BREAKER_FAILURES,
        halfOpenAfterMs: e.MIDTRANS_BREAKER_HALF_OPEN_AFTER_MS,
        successesToClose: e.MIDTRANS_BREAKER_SUCCESSES_TO_CLOSE,
      },
    },
    worker: {
      instanceId: e.WORKER_INSTANCE_ID,
      heartbeatMs: e.WORKER_HEARTBEAT_MS,
      concurrency: e.WORKER_CONCURRENCY,
    },
    qrisExpiryMinutes: e.MIDTRANS_QRIS_EXPIRY_MINUTES,
    seedDemoData: e.SEED_DEMO_DATA === undefined ? undefined : e.SEED_DEMO_DATA === "true",
    logLevel: e.LOG_LEVEL,
    roleLimits: {
      statementTimeoutMs: {
        anon: e.DB_STATEMENT_TIMEOUT_ANON_MS,
        client: e.DB_STATEMENT_TIMEOUT_CLIENT_MS,
        admin: e.DB_STATEMENT_TIMEOUT_ADMIN_MS,
        worker: e.DB_STATEMENT_TIMEOUT_WORKER_MS,
      },
      tempFileLimitMb: e.DB_TEMP_FILE_LIMIT_MB,
      idleInTransactionTimeoutMs: e.DB_IDLE_IN_TRANSACTION_TIMEOUT_MS,
    },
  };
}
