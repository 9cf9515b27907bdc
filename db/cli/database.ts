/**
 * The database a command-line tool works on: DATABASE_URL when set, else the
 * embedded server in .data/ (used as it is when `npm start` is running,
 * started for the duration of the command otherwise).
 */
import fs from "node:fs";
import path from "node:path";
import { Client } from "pg";
import { EMBEDDED_DATABASE, readConfig } from "../config";
import { startEmbeddedPostgres } from "../embedded-postgres";
import { loadOrCreateSecrets } from "../secrets";

async function reachable(url: string): Promise<boolean> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 2_000 });
  try {
    await client.connect();
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

export async function withDatabase<T>(fn: (url: string) => Promise<T>): Promise<T> {
  const config = readConfig();
  if (config.databaseUrl) return fn(config.databaseUrl);
  const dataDir = path.join(config.dataDir, "postgres");
  if (!fs.existsSync(path.join(dataDir, "PG_VERSION"))) {
    throw new Error(`No embedded database in ${config.dataDir} yet: run \`npm start\` once, or set DATABASE_URL.`);
  }
  const secrets = loadOrCreateSecrets(config.dataDir);
  const url = `postgres://postgres:${encodeURIComponent(secrets.superuserPassword)}@127.0.0.1:${config.pgPort}/${EMBEDDED_DATABASE}`;
  if (fs.existsSync(path.join(dataDir, "postmaster.pid")) && (await reachable(url))) return fn(url);
  const server = await startEmbeddedPostgres({ dataDir, port: config.pgPort, superuserPassword: secrets.superuserPassword });
  try {
    return await fn(server.url(EMBEDDED_DATABASE));
  } finally {
    await server.stop();
  }
}

/** Runs a CLI body, printing a one-line error (no stack trace) on failure. */
export function runCli(main: () => Promise<void>): void {
  main().catch((error: unknown) => {
    process.stderr.write(`error: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
}
