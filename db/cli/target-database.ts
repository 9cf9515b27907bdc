/**
 * The database a db:* command works on: DATABASE_URL (a superuser
 * connection) when set, with the secrets from the environment; else the
 * embedded server in .data/ with the secrets npm start generated (used as it
 * is when `npm start` is running, started for the duration of the command
 * otherwise).
 */
import fs from "node:fs";
import path from "node:path";
import { EMBEDDED_DATABASE } from "../../config/paths";
import {
  loadOrCreateSecrets,
  resolveSecrets,
  secretsFromEnvironment,
  type ResolvedSecrets,
} from "../../config/secrets";
import { readConfig, type StackConfig } from "../../config/settings";
import { StartupError } from "../../config/startup-error";
import { startEmbeddedPostgres } from "../../services/embedded-postgres";
import { canConnect, connectionsFor, databaseUrl, type DatabaseConnections } from "../pg";

export type TargetDatabase = {
  config: StackConfig;
  secrets: ResolvedSecrets;
  connections: DatabaseConnections;
};

export async function withTargetDatabase<T>(fn: (target: TargetDatabase) => Promise<T>): Promise<T> {
  const config = readConfig();
  if (config.databaseUrl) {
    const secrets = secretsFromEnvironment(config);
    return fn({ config, secrets, connections: connectionsFor(config.databaseUrl, secrets.passwords) });
  }
  const dataDir = path.join(config.dataDir, "postgres");
  if (!fs.existsSync(path.join(dataDir, "PG_VERSION"))) {
    throw new StartupError(
      `No embedded database in ${config.dataDir} yet: run \`npm start\` once, or set DATABASE_URL.`,
    );
  }
  const stored = loadOrCreateSecrets(config.dataDir);
  const secrets = resolveSecrets(config, stored);
  const superuserUrl = (port: number) =>
    databaseUrl(
      `postgres://postgres:${encodeURIComponent(stored.superuserPassword)}@127.0.0.1:${port}/`,
      EMBEDDED_DATABASE,
    );
  const running = superuserUrl(config.pgPort);
  if (fs.existsSync(path.join(dataDir, "postmaster.pid")) && (await canConnect(running))) {
    return fn({ config, secrets, connections: connectionsFor(running, secrets.passwords) });
  }
  const server = await startEmbeddedPostgres({
    dataDir,
    port: config.pgPort,
    superuserPassword: stored.superuserPassword,
  });
  try {
    return await fn({ config, secrets, connections: connectionsFor(superuserUrl(server.port), secrets.passwords) });
  } finally {
    await server.stop();
  }
}
