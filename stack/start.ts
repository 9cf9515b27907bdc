/**
 * `npm start`: the whole stack on embedded defaults.
 *
 *   1. PostgreSQL: the embedded server with its data in .data/ (or the server
 *      named by DATABASE_URL);
 *   2. the database's boot sequence (db/prepare.ts): bootstrap, migrations as
 *      the owner, boot settings, demo data and admin user;
 *   3. PostgREST (the real binary) serving the `api` schema as `authenticator`,
 *      on a free loopback port of its own, behind
 *   4. the API edge (edge/server.ts) on API_HOST:API_PORT: client addresses,
 *      body limit, CORS, error rewrites (README "The API edge");
 *   5. the worker (graphile-worker tasks and schedule) as `app_worker`;
 *   6. the realtime hub (WebSockets on REALTIME_PORT, path /realtime), as the
 *      worker process runs it.
 *
 * Ctrl-C or SIGTERM stops them in reverse order: the edge (requests in
 * flight may finish), the hub, the worker and PostgREST first, then PostgreSQL with its clean "fast" shutdown (a checkpoint, no
 * crash recovery on the next start). The process exits only after every
 * part has exited, so an immediate second `npm start` finds nothing in use.
 */
import path from "node:path";
import { EMBEDDED_DATABASE } from "../config/paths";
import { loadOrCreateSecrets, resolveSecrets } from "../config/secrets";
import { readConfig, type StackConfig } from "../config/settings";
import { describeStartupFailure } from "../config/startup-error";
import { databaseUrl, redactedUrl, withClient } from "../db/pg";
import { bootOptions, prepareDatabase } from "../db/prepare";
import { startEmbeddedPostgres, type EmbeddedServer } from "../services/embedded-postgres";
import { stopLeftOver } from "../services/child-process";
import { freePort, portIsFree } from "../services/ports";
import { startEdge, type EdgeServer } from "../edge/server";
import { PostgrestError, startPostgrest, type PostgrestServer } from "../services/postgrest";
import { readSimulatorSettings } from "../config/simulator-settings";
import { startSimulator, type RunningSimulator } from "../simulator";
import { createMidtransGateway } from "../worker/payments/midtrans-gateway";
import { workerInstance } from "../worker/resilience/instance";
import { createResilienceMonitor } from "../worker/resilience/monitor";
import { startRealtimeHub, type RealtimeHub } from "../realtime/hub";
import { createTaskList, startWorker, type PaymentDependencies, type WorkerRunner } from "../worker/runner";

type Running = {
  postgres?: EmbeddedServer;
  postgrest?: PostgrestServer;
  edge?: EdgeServer;
  simulator?: RunningSimulator;
  worker?: WorkerRunner;
  realtime?: RealtimeHub;
  /** Set when the stack starts stopping (its worker's end is then expected). */
  stopping?: boolean;
};

function log(message: string): void {
  process.stdout.write(`[jasaweb] ${message}\n`);
}

async function ensureDatabase(superuserUrl: string, name: string): Promise<void> {
  await withClient(databaseUrl(superuserUrl, "postgres"), async (client) => {
    const { rowCount } = await client.query("select 1 from pg_database where datname = $1", [name]);
    if (!rowCount) await client.query(`create database ${client.escapeIdentifier(name)}`);
  });
}

async function start(config: StackConfig, running: Running): Promise<void> {
  const startedAt = Date.now();
  const postgrestPidFile = path.join(config.dataDir, "postgrest.pid");
  const leftOver = await stopLeftOver(postgrestPidFile, "SIGTERM");
  if (leftOver) log(`stopped a PostgREST (pid ${leftOver}) that an earlier start left running`);
  if (!(await portIsFree(config.apiPort, config.apiHost))) {
    throw new PostgrestError(
      `Port ${config.apiPort} is already in use, so the REST API cannot listen on it. ` +
        "Stop whatever holds it (another `npm start`?), or choose another port with API_PORT=<port>.",
    );
  }
  const stored = loadOrCreateSecrets(config.dataDir);
  const secrets = resolveSecrets(config, stored);

  let superuserUrl: string;
  if (config.databaseUrl) {
    superuserUrl = config.databaseUrl;
    log("using the PostgreSQL server of DATABASE_URL");
  } else {
    running.postgres = await startEmbeddedPostgres({
      dataDir: path.join(config.dataDir, "postgres"),
      port: config.pgPort,
      superuserPassword: stored.superuserPassword,
      onLog: config.logLevel === "debug" ? (line) => process.stderr.write(line) : undefined,
      onNotice: log,
    });
    superuserUrl = running.postgres.url(EMBEDDED_DATABASE);
    await ensureDatabase(superuserUrl, EMBEDDED_DATABASE);
  }

  // Without a Midtrans server key, payments go to the local simulator, which
  // notifies this stack's PostgREST like Midtrans would.
  let midtrans = { serverKey: config.midtransServerKey, settings: config.midtrans };
  if (!midtrans.serverKey) {
    running.simulator = await startSimulator({
      ...readSimulatorSettings(),
      notificationUrl: `http://${config.apiHost}:${config.apiPort}/rpc/midtrans_notification`,
    });
    midtrans = {
      serverKey: running.simulator.serverKey,
      settings: { ...config.midtrans, baseUrl: running.simulator.url },
    };
  }
  const prepared = await prepareDatabase(
    bootOptions({ ...config, midtransServerKey: midtrans.serverKey }, secrets, superuserUrl, true),
  );
  if (prepared.applied.length)
    log(`applied ${prepared.applied.length} migration(s), latest ${prepared.applied.at(-1)}`);
  if (prepared.seeded?.generatedAdminPassword) {
    log(
      `created the admin user ${config.adminEmail} with the generated password: ${prepared.seeded.generatedAdminPassword}`,
    );
    log("(shown once; set ADMIN_PASSWORD before the first start to choose it)");
  }

  // PostgREST listens on loopback only; clients reach it through the edge.
  running.postgrest = await startPostgrest({
    dbUri: prepared.connections.authenticator,
    port: await freePort(),
    host: "127.0.0.1",
    jwtSecret: secrets.jwtSecret,
    publicUrl: `http://${config.apiHost.includes(":") ? `[${config.apiHost}]` : config.apiHost}:${config.apiPort}`,
    pidFile: postgrestPidFile,
    onLog: (line) => process.stderr.write(`[postgrest] ${line}`),
  });
  try {
    running.edge = await startEdge({
      upstream: running.postgrest.url,
      port: config.apiPort,
      host: config.apiHost,
      trustedProxies: config.edge.trustedProxies,
      maxBodyBytes: config.edge.maxBodyBytes,
      corsAllowedOrigins: config.edge.corsAllowedOrigins,
      onLog: (line) => process.stderr.write(`[edge] ${line}\n`),
    });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EADDRINUSE")
      throw new PostgrestError(
        `Port ${config.apiPort} is already in use, so the REST API cannot listen on it. ` +
          "Stop whatever holds it (another `npm start`?), or choose another port with API_PORT=<port>.",
      );
    throw error;
  }

  const resilience = createResilienceMonitor({
    instance: workerInstance(config.worker.instanceId),
    heartbeatMs: config.worker.heartbeatMs,
  });
  const payments: PaymentDependencies = {
    gateway: resilience.track("midtrans", (onStateChange) =>
      createMidtransGateway({ serverKey: midtrans.serverKey!, settings: midtrans.settings, onStateChange }),
    ),
    qrisExpiryMinutes: config.qrisExpiryMinutes,
  };
  const worker = await startWorker(prepared.connections.worker, {
    payments,
    resilience,
    concurrency: config.worker.concurrency,
  });
  running.worker = worker;
  // The worker starts its runner again by itself after a database outage
  // (worker/runner-supervisor.ts); it ends on its own only when graphile-worker
  // stops cleanly by itself (a breaking migration of its schema). That stops
  // its jobs, not the API: say so and keep serving.
  void worker.promise.then(() => {
    if (running.stopping || running.worker !== worker) return;
    running.worker = undefined;
    process.stderr.write("[jasaweb] the worker stopped by itself; restart npm start to run jobs again\n");
    void worker.stopWithin(config.workerShutdownTimeoutMs);
  });

  try {
    running.realtime = await startRealtimeHub({
      connectionString: prepared.connections.worker,
      port: config.realtimePort,
      host: config.realtimeHost,
      jwtSecret: secrets.jwtSecret,
      tokenRecheckMs: config.realtimeTokenRecheckMs,
      trustedProxies: config.realtimeTrustedProxies,
      onLog: (line) => process.stderr.write(`[realtime] ${line}\n`),
    });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EADDRINUSE")
      throw new PostgrestError(
        `Port ${config.realtimePort} is already in use, so the realtime hub cannot listen on it. ` +
          "Stop whatever holds it, or choose another port with REALTIME_PORT=<port>.",
      );
    throw error;
  }

  log(`ready in ${((Date.now() - startedAt) / 1000).toFixed(1)} s`);
  log(`REST API:          ${running.edge.url}/`);
  log(`OpenAPI document:  ${running.edge.url}/  (Accept: application/openapi+json)`);
  log(
    `database:          ${redactedUrl(superuserUrl)}${config.databaseUrl ? "" : `  (password in ${path.join(config.dataDir, "secrets.json")})`}`,
  );
  log(
    `worker:            graphile-worker as app_worker (instance ${resilience.instance.id}), tasks: ${Object.keys(createTaskList(payments)).join(", ")}`,
  );
  log(
    `realtime:          ${running.realtime.url}  (WebSocket; token as ?token= or protocols jasaweb, <token>; GET /health)`,
  );
  if (running.simulator) {
    log(
      `Midtrans:          the local simulator ${running.simulator.url}/ (server key ${running.simulator.serverKey}; set MIDTRANS_SERVER_KEY for the real one)`,
    );
    log("pay a demo invoice: POST /rpc/create_project, POST /rpc/pay_invoice, then press Pay on the simulator's page");
  } else {
    log(
      `Midtrans:          ${midtrans.settings.baseUrl ?? (midtrans.settings.isProduction ? "production" : "sandbox")}`,
    );
  }
  log("press Ctrl-C to stop");
}

/**
 * Stops what runs, in reverse order of starting. A part that fails to stop is
 * reported and the next one is still stopped: PostgreSQL must always get its
 * clean shutdown. Returns false if any part failed.
 */
async function stop(running: Running, workerShutdownTimeoutMs: number): Promise<boolean> {
  running.stopping = true;
  let clean = true;
  const attempt = async (name: string, fn: (() => Promise<void>) | undefined) => {
    try {
      await fn?.();
    } catch (error) {
      clean = false;
      process.stderr.write(`[jasaweb] stopping ${name} failed: ${(error as Error).stack ?? String(error)}\n`);
    }
  };
  // No new API requests first; those in flight may finish (edge/server.ts).
  await attempt("the API edge", running.edge?.stop);
  running.edge = undefined;
  await attempt("the realtime hub", running.realtime?.stop);
  running.realtime = undefined;
  const worker = running.worker;
  // Running jobs may finish within the bound; the rest are released for the
  // next start's worker (or another one) to run again.
  await attempt(
    "the worker",
    worker &&
      (async () => {
        const outcome = await worker.stopWithin(workerShutdownTimeoutMs);
        if (outcome.forced)
          log(
            `the worker released ${outcome.releasedJobIds.length} running job(s) after ${workerShutdownTimeoutMs} ms`,
          );
        if (outcome.errors.length) throw new Error(outcome.errors.join("; "));
      }),
  );
  running.worker = undefined;
  await attempt("PostgREST", running.postgrest?.stop);
  running.postgrest = undefined;
  await attempt("the Midtrans simulator", running.simulator?.stop);
  running.simulator = undefined;
  await attempt("PostgreSQL", running.postgres?.stop);
  running.postgres = undefined;
  return clean;
}

async function main(): Promise<void> {
  const running: Running = {};
  // Read with the configuration, before any worker runs.
  let workerShutdownTimeoutMs = 0;
  let shuttingDown = false;
  const shutdown = async (signal: string) => {
    if (shuttingDown) {
      // A second signal does not wait for the worker's running jobs.
      if (running.worker) {
        log(`${signal} again: releasing the worker's running jobs now`);
        void running.worker.forceStop();
      }
      return;
    }
    shuttingDown = true;
    log(`${signal}: stopping`);
    const clean = await stop(running, workerShutdownTimeoutMs);
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
    workerShutdownTimeoutMs = config.workerShutdownTimeoutMs;
    await start(config, running);
  } catch (error) {
    process.stderr.write(`[jasaweb] could not start: ${describeStartupFailure(error)}\n`);
    await stop(running, workerShutdownTimeoutMs);
    process.exit(1);
  }
}

void main();
