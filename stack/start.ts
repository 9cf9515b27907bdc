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
import { displayPath, writeAdminPasswordFile } from "./admin-password-file";
import { createConsoleLog, type ConsoleLog } from "../config/console-log";
import { checkBeforeCreating, portInUseMessage, PortInUseError, type PlannedListener } from "./preflight";
import { loadOrCreateSecrets, resolveSecrets } from "../config/secrets";
import { readConfig, type StackConfig } from "../config/settings";
import { describeStartupFailure } from "../config/startup-error";
import { databaseUrl, redactedUrl, withClient } from "../db/pg";
import { bootOptions, prepareDatabase } from "../db/prepare";
import { startEmbeddedPostgres, type EmbeddedServer } from "../services/embedded-postgres";
import { freePort } from "../services/ports";
import { startEdge, type EdgeServer } from "../edge/server";
import { startPostgrest, type PostgrestServer } from "../services/postgrest";
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

/** The console of this process, at LOG_LEVEL once the configuration is read (config/console-log.ts). */
let consoleLog: ConsoleLog = createConsoleLog("info");
const log = (message: string) => consoleLog.write("info", message);

async function ensureDatabase(superuserUrl: string, name: string): Promise<void> {
  await withClient(databaseUrl(superuserUrl, "postgres"), async (client) => {
    const { rowCount } = await client.query("select 1 from pg_database where datname = $1", [name]);
    if (!rowCount) await client.query(`create database ${client.escapeIdentifier(name)}`);
  });
}

async function start(config: StackConfig, running: Running): Promise<void> {
  const startedAt = Date.now();
  const postgrestPidFile = path.join(config.dataDir, "postgrest.pid");
  const simulatorSettings = config.midtransServerKey ? undefined : readSimulatorSettings();
  const listeners: Record<"api" | "realtime" | "postgres" | "simulator", PlannedListener> = {
    api: { port: config.apiPort, host: config.apiHost, setting: "API_PORT", part: "the REST API" },
    realtime: {
      port: config.realtimePort,
      host: config.realtimeHost,
      setting: "REALTIME_PORT",
      part: "the realtime hub",
    },
    postgres: { port: config.pgPort, host: "127.0.0.1", setting: "PG_PORT", part: "the embedded PostgreSQL" },
    simulator: {
      port: simulatorSettings?.port ?? 0,
      host: simulatorSettings?.host ?? "127.0.0.1",
      setting: "SIMULATOR_PORT",
      part: "the Midtrans simulator",
    },
  };
  // Nothing is created (data directory, secrets.json) before the start is known to be possible.
  await checkBeforeCreating({
    dataDir: config.dataDir,
    embeddedPostgres: !config.databaseUrl,
    listeners: [
      listeners.api,
      listeners.realtime,
      ...(config.databaseUrl ? [] : [listeners.postgres]),
      ...(simulatorSettings && simulatorSettings.port !== 0 ? [listeners.simulator] : []),
    ],
    onNotice: log,
  });
  const stored = loadOrCreateSecrets(config.dataDir);
  const secrets = resolveSecrets(config, stored);

  let superuserUrl: string;
  if (config.databaseUrl) {
    superuserUrl = config.databaseUrl;
    consoleLog.write("debug", "using the PostgreSQL server of DATABASE_URL");
  } else {
    running.postgres = await startEmbeddedPostgres({
      dataDir: path.join(config.dataDir, "postgres"),
      port: config.pgPort,
      superuserPassword: stored.superuserPassword,
      onLog: consoleLog.lines("postgres", "debug"),
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
      ...simulatorSettings!,
      notificationUrl: `http://${config.apiHost}:${config.apiPort}/rpc/midtrans_notification`,
    });
    midtrans = {
      serverKey: running.simulator.serverKey,
      settings: { ...config.midtrans, baseUrl: running.simulator.url },
    };
  }
  const prepared = await prepareDatabase({
    ...bootOptions({ ...config, midtransServerKey: midtrans.serverKey }, secrets, superuserUrl, true),
    migrationLogger: consoleLog.workerLogger("migrate"),
  });
  if (prepared.applied.length)
    consoleLog.write("debug", `applied ${prepared.applied.length} migration(s), latest ${prepared.applied.at(-1)}`);
  // The generated password goes to a file (mode 600), never to the console.
  const adminPasswordFile = prepared.seeded?.generatedAdminPassword
    ? writeAdminPasswordFile(config.dataDir, prepared.seeded.generatedAdminPassword)
    : undefined;

  // PostgREST listens on loopback only; clients reach it through the edge.
  running.postgrest = await startPostgrest({
    dbUri: prepared.connections.authenticator,
    port: await freePort(),
    host: "127.0.0.1",
    jwtSecret: secrets.jwtSecret,
    publicUrl: `http://${config.apiHost.includes(":") ? `[${config.apiHost}]` : config.apiHost}:${config.apiPort}`,
    pidFile: postgrestPidFile,
    // PostgREST's own log (start-up, schema cache, a line per 5xx answer) is chatter: debug.
    onLog: consoleLog.lines("postgrest", "debug"),
  });
  try {
    running.edge = await startEdge({
      upstream: running.postgrest.url,
      port: config.apiPort,
      host: config.apiHost,
      trustedProxies: config.edge.trustedProxies,
      maxBodyBytes: config.edge.maxBodyBytes,
      corsAllowedOrigins: config.edge.corsAllowedOrigins,
      onLog: (line) => consoleLog.write("warn", line, "edge"),
    });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EADDRINUSE")
      throw new PortInUseError(portInUseMessage(listeners.api));
    throw error;
  }

  const workerLogger = consoleLog.workerLogger();
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
    logger: workerLogger,
  });
  running.worker = worker;
  // The worker starts its runner again by itself after a database outage
  // (worker/runner-supervisor.ts); it ends on its own only when graphile-worker
  // stops cleanly by itself (a breaking migration of its schema). That stops
  // its jobs, not the API: say so and keep serving.
  void worker.promise.then(() => {
    if (running.stopping || running.worker !== worker) return;
    running.worker = undefined;
    consoleLog.write("warn", "the worker stopped by itself; restart npm start to run jobs again");
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
      onLog: (line) => consoleLog.write("warn", line, "realtime"),
    });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EADDRINUSE")
      throw new PortInUseError(portInUseMessage(listeners.realtime));
    throw error;
  }

  // The README's start-up block ("Two commands"), line for line (tests/stack/start-output.test.ts).
  log(`REST API:          ${running.edge.url}/`);
  log(`OpenAPI document:  ${running.edge.url}/  (Accept: application/openapi+json)`);
  log(`realtime:          ${running.realtime.url}  (WebSocket; GET /health)`);
  log(
    `database:          ${redactedUrl(superuserUrl)}${config.databaseUrl ? "" : `  (password in ${displayPath(path.join(config.dataDir, "secrets.json"))})`}`,
  );
  log(
    `worker:            graphile-worker as app_worker, ${Object.keys(createTaskList(payments)).length} tasks (instance ${resilience.instance.id})`,
  );
  log(
    running.simulator
      ? `Midtrans:          the local simulator ${running.simulator.url}/  (set MIDTRANS_SERVER_KEY for the real one)`
      : `Midtrans:          ${midtrans.settings.baseUrl ?? (midtrans.settings.isProduction ? "production" : "sandbox")}`,
  );
  if (adminPasswordFile)
    log(`admin:             ${config.adminEmail}, generated password in ${displayPath(adminPasswordFile)}`);
  log(`ready in ${((Date.now() - startedAt) / 1000).toFixed(1)} s; press Ctrl-C to stop`);
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
      consoleLog.write("error", `stopping ${name} failed: ${(error as Error).stack ?? String(error)}`);
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
    consoleLog.write("error", `unhandled rejection: ${(reason as Error)?.stack ?? String(reason)}`);
  });
  process.on("SIGINT", () => void shutdown("SIGINT"));
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
  process.on("SIGHUP", () => void shutdown("SIGHUP"));

  try {
    const config = readConfig();
    consoleLog = createConsoleLog(config.logLevel);
    workerShutdownTimeoutMs = config.workerShutdownTimeoutMs;
    await start(config, running);
  } catch (error) {
    consoleLog.write("error", `could not start: ${describeStartupFailure(error)}`);
    await stop(running, workerShutdownTimeoutMs);
    process.exit(1);
  }
}

void main();
