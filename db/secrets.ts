/**
 * Secrets the embedded stack generates on first start and keeps in
 * `.data/secrets.json` (mode 600), so a second start reuses them. Values set
 * in the environment always win.
 */
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { z } from "zod";

const secretsSchema = z.object({
  superuserPassword: z.string().min(16),
  authenticatorPassword: z.string().min(16),
  workerPassword: z.string().min(16),
  jwtSecret: z.string().min(32),
  credentialsKey: z.string().min(32),
});
export type StackSecrets = z.infer<typeof secretsSchema>;

const randomSecret = (bytes = 32) => crypto.randomBytes(bytes).toString("base64url");

export function loadOrCreateSecrets(dataDir: string): StackSecrets {
  const file = path.join(dataDir, "secrets.json");
  if (fs.existsSync(file)) {
    const parsed = secretsSchema.safeParse(JSON.parse(fs.readFileSync(file, "utf8")));
    if (parsed.success) return parsed.data;
    throw new Error(`${file} is not a valid secrets file (${parsed.error.issues[0]?.message}); move it away to generate new secrets.`);
  }
  const secrets: StackSecrets = {
    superuserPassword: randomSecret(),
    authenticatorPassword: randomSecret(),
    workerPassword: randomSecret(),
    jwtSecret: randomSecret(48),
    credentialsKey: randomSecret(48),
  };
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o755 });
  fs.writeFileSync(file, JSON.stringify(secrets, null, 2) + "\n", { mode: 0o600 });
  return secrets;
}

export { randomSecret };
