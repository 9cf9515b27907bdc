/**
 * Secrets the embedded stack generates on first start and keeps in
 * `.data/secrets.json` (mode 600), so a second start reuses them. Values set
 * in the environment always win. A file written by an older version that
 * lacks a secret added since (e.g. the owner role's password) gets it
 * generated and added; the secrets it has are kept.
 */
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { z } from "zod";
import { StartupError } from "./startup-error";

export const randomSecret = (bytes = 32): string => crypto.randomBytes(bytes).toString("base64url");

const generated = {
  superuserPassword: () => randomSecret(),
  ownerPassword: () => randomSecret(),
  authenticatorPassword: () => randomSecret(),
  workerPassword: () => randomSecret(),
  jwtSecret: () => randomSecret(48),
  credentialsKey: () => randomSecret(48),
};

const secretsSchema = z.object({
  superuserPassword: z.string().min(16),
  ownerPassword: z.string().min(16),
  authenticatorPassword: z.string().min(16),
  workerPassword: z.string().min(16),
  jwtSecret: z.string().min(32),
  credentialsKey: z.string().min(32),
});
export type StackSecrets = z.infer<typeof secretsSchema>;

function write(file: string, secrets: StackSecrets): void {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o755 });
  fs.writeFileSync(file, JSON.stringify(secrets, null, 2) + "\n", { mode: 0o600 });
}

export function loadOrCreateSecrets(dataDir: string): StackSecrets {
  const file = path.join(dataDir, "secrets.json");
  const stored: Record<string, unknown> = fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, "utf8")) : {};
  const missing = Object.keys(generated).filter((name) => stored[name] === undefined) as (keyof typeof generated)[];
  const completed = { ...stored, ...Object.fromEntries(missing.map((name) => [name, generated[name]()])) };
  const parsed = secretsSchema.safeParse(completed);
  if (!parsed.success) {
    throw new StartupError(
      `${file} is not a valid secrets file (${parsed.error.issues[0]?.path.join(".")}: ${parsed.error.issues[0]?.message}); move it away to generate new secrets.`,
    );
  }
  if (missing.length) write(file, parsed.data);
  return parsed.data;
}

/** The secrets a boot uses: each from the environment when set there, else from the secrets file. */
export type ResolvedSecrets = {
  passwords: { owner: string; authenticator: string; worker: string };
  jwtSecret: string;
  credentialsKey: string;
};

type SecretSettings = {
  ownerPassword?: string;
  authenticatorPassword?: string;
  workerPassword?: string;
  jwtSecret?: string;
  credentialsKey?: string;
};

export function resolveSecrets(config: SecretSettings, stored: StackSecrets): ResolvedSecrets {
  return {
    passwords: {
      owner: config.ownerPassword ?? stored.ownerPassword,
      authenticator: config.authenticatorPassword ?? stored.authenticatorPassword,
      worker: config.workerPassword ?? stored.workerPassword,
    },
    jwtSecret: config.jwtSecret ?? stored.jwtSecret,
    credentialsKey: config.credentialsKey ?? stored.credentialsKey,
  };
}

/** The secrets from the environment alone (deployments keep no secrets file); names what is missing. */
export function secretsFromEnvironment(config: SecretSettings): ResolvedSecrets {
  const required = [
    ["OWNER_PASSWORD", config.ownerPassword],
    ["AUTHENTICATOR_PASSWORD", config.authenticatorPassword],
    ["WORKER_PASSWORD", config.workerPassword],
    ["JWT_SECRET", config.jwtSecret],
    ["CREDENTIALS_KEY", config.credentialsKey],
  ] as const;
  const missing = required.filter(([, value]) => !value).map(([name]) => name);
  if (missing.length) throw new StartupError(`Set ${missing.join(", ")} (a deployment keeps no secrets file).`);
  return {
    passwords: {
      owner: config.ownerPassword!,
      authenticator: config.authenticatorPassword!,
      worker: config.workerPassword!,
    },
    jwtSecret: config.jwtSecret!,
    credentialsKey: config.credentialsKey!,
  };
}
