/**
 * `npm start`: the whole stack on embedded defaults.
 *
 *   1. PostgreSQL: the embedded server with its data in .data/ (or the server
 *      named by DATABASE_URL);
 *   2. migrations, then the role passwords and settings supplied at boot;
 *   3. demo data on first start;
 *   4. PostgREST (the real binary) serving the `api` schema;
 *   5. the worker (graphile-worker tasks and schedule).
 *
 * Ctrl-C or SIGTERM stops the worker and PostgREST first and then shuts PostgreSQL down
 * cleanly (a checkpoint, no crash recovery on the next start).
 */
import path from "node:path";
import { Client } from "pg";
import { ConfigError, EMBEDDED_DATABASE, readConfig, type StackConfig } from "./config";
import { EmbeddedPostgresError, startEmbeddedPostgres, type EmbeddedServer } from "./embedded-postgres";
import { MigrationError, migrate } from "./migrations";
import { PostgrestError, startPostgrest, type PostgrestServer } from "./postgrest";
import { configureDatabase } from "./boot-settings";
import { loadOrCreateSecrets, type StackSecrets } from "./secrets";
import { seed } from "./seed";
import { portIsFree } from "./ports";
import type { Runner } from "graphile-worker";
import { startWorker, taskList } from "../worker/runner";


type Running = { postgres?: EmbeddedServer; postgrest?: PostgrestServer; worker?: Runner };

function log(message: string): void {
  process.stdout.write(`[jasaweb] ${message}\n`);
}

async function ensureDatabase(server: EmbeddedServer, name: string): Promise<void> {
  const client = new Client({ connectionString: server.url("postgres") });
  await client.connect();
  try {
    const { rowCount } = await client.query("select 1 from pg_database where datname = $1", [name]);
    if (!rowCount) await client.query(`create database ${client.escapeIdentifier(name)}`);
  } finally {
    await client.end();
  }
}

/** The authenticator's connection string: same server, its own user and password. */
function authenticatorUrl(ownerUrl: string, password: string): string {
  const url = new URL(ownerUrl);
  url.username = "authenticator";
  url.password = password;
  return url.toString();
}

async function start(config: StackConfig, secrets: StackSecrets, running: Running): Promise<void> {
  const startedAt = Date.now();
  if (!(await portIsFree(config.apiPort, config.apiHost))) {
    throw new PostgrestError(
      `Port ${config.apiPort} is already in use, so the REST API cannot listen on it. ` +
        "Stop whatever holds it (another `npm start`?), or choose another port with API_PORT=<port>.",
    );
  }

  let ownerUrl: string;
  if (config.databaseUrl) {
    ownerUrl = config.databaseUrl;
    log(`using the PostgreSQL server of DATABASE_URL`);
  } else {
    running.postgres = await startEmbeddedPostgres({
      dataDir: path.join(config.dataDir, "postgres"),
      port: config.pgPort,
      superuserPassword: secrets.superuserPassword,
      onLog: config.logLevel === "debug" ? (line) => process.stderr.write(line) : undefined,
    });
    await ensureDatabase(running.postgres, EMBEDDED_DATABASE);
    ownerUrl = running.postgres.url(EMBEDDED_DATABASE);
  }

  await migrate(ownerUrl, { quiet: config.logLevel !== "debug" });
  const authenticatorPassword = config.authenticatorPassword ?? secrets.authenticatorPassword;
  const jwtSecret = config.jwtSecret ?? secrets.jwtSecret;

  const client = new Client({ connectionString: ownerUrl });
  await client.connect();
  try {
    await configureDatabase(client, {
      authenticatorPassword,
      workerPassword: config.workerPassword ?? secrets.workerPassword,
      jwtSecret,
      credentialsKey: config.credentialsKey ?? secrets.credentialsKey,
      jwtLifetimeSeconds: config.jwtLifetimeSeconds,
    });
    const seeded = await seed(client, {
      adminEmail: config.adminEmail,
      adminPassword: config.adminPassword,
      demoContent: config.seedDemoData ?? true,
    });
    if (seeded.generatedAdminPassword) {
      log(`created the admin user ${config.adminEmail} with the generated password: ${seeded.generatedAdminPassword}`);
      log("(shown once; set ADMIN_PASSWORD before the first start to choose it)");
    }
  } finally {
    await client.end();
  }

  running.postgrest = await startPostgrest({
    dbUri: authenticatorUrl(ownerUrl, authenticatorPassword),
    port: config.apiPort,
    host: config.apiHost,
    jwtSecret,
    onLog: (line) => process.stderr.write(`[postgrest] ${line}`),
  });

  const worker = await startWorker(ownerUrl);
  running.worker = worker;
  // A worker that fails stops its jobs, not the API: say why and keep serving.
  worker.promise.catch((error: unknown) => {
    if (running.worker === worker) running.worker = undefined;
    process.stderr.write(`[jasaweb] the worker stopped: ${(error as Error)?.stack ?? String(error)}\n`);
  });

  const dbShown = new URL(ownerUrl);
  if (dbShown.password) dbShown.password = "****";
  log(`ready in ${((Date.now() - startedAt) / 1000).toFixed(1)} s`);
  log(`REST API:          ${running.postgrest.url}/`);
  log(`OpenAPI document:  ${running.postgrest.url}/  (Accept: application/openapi+json)`);
  log(`database:          ${dbShown.toString()}${config.databaseUrl ? "" : `  (password in ${path.join(config.dataDir, "secrets.json")})`}`);
  log(`worker:            graphile-worker, tasks: ${Object.keys(taskList).join(", ")}`);
  log("press Ctrl-C to stop");
}

/**
 * Stops what runs, in order. A part that fails to stop is reported and the
 * next one is still stopped: PostgreSQL must always get its clean shutdown.
 * Returns false if any part failed.
 */
async function stop(running: Running): Promise<boolean> {
  let clean = true;
  const attempt = async (name: string, fn: (() => Promise<void>) | undefined) => {
    try {
      await fn?.();
    } catch (error) {
      clean = false;
      process.stderr.write(`[jasaweb] stopping ${name} failed: ${(error as Error).stack ?? String(error)}\n`);
    }
  };
  await attempt("the worker", running.worker && (() => running.worker!.stop()));
  running.worker = undefined;
  await attempt("PostgREST", running.postgrest?.stop);
  running.postgrest = undefined;
  await attempt("PostgreSQL", running.postgres?.stop);
  running.postgres = undefined;
  return clean;
}

async function main(): Promise<void> {
  const running: Running = {};
  let shuttingDown = false;
  const shutdown = async (signal: string) => {
    if (shuttingDown) return;
    shuttingDown = true;
    log(`${signal}: stopping`);
    const clean = await stop(running);
    log(clean ? "stopped cleanly" : "stopped, with the errors above");
    process.exit(clean ? 0 : 1);
  };
  // Whatever goes wrong later is reported with its cause before the exit.
  process.on("unhandledRejection", (reason) => {
    process.stderr.write(`[jasaweb] unhandled rejection: ${(reason as Error)?.stack ?? String(reason)}\n`);
  });
  process.on("SIGINT", () => void shutdown("SIGINT"));
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
  process.on("SIGHUP", () => void shutdown("SIGHUP"));

  try {
    const config = readConfig();
    const secrets = loadOrCreateSecrets(config.dataDir);
    await start(config, secrets, running);
  } catch (error) {
    const known =
      error instanceof ConfigError ||
      error instanceof EmbeddedPostgresError ||
      error instanceof PostgrestError ||
      error instanceof MigrationError;
    process.stderr.write(`[jasaweb] could not start: ${known ? (error as Error).message : (error as Error).stack}\n`);
    await stop(running);
    process.exit(1);
  }
}

void main();
