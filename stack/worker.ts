/**
 * `npm run worker`, and the image's default command (compiled:
 * `node dist/stack/worker.js`): the worker process on its own, connected as
 * `app_worker`: WORKER_DATABASE_URL, or DATABASE_URL's server and database
 * with WORKER_PASSWORD. SIGTERM or SIGINT stops taking jobs and lets running
 * ones finish for at most WORKER_SHUTDOWN_TIMEOUT_MS; jobs still running then
 * are released to other workers (worker/shutdown.ts), and the connections
 * closed. A second signal releases them at once.
 *
 * With JWT_SECRET set (the secret PostgREST verifies tokens with), the
 * process also runs the realtime hub on REALTIME_HOST:REALTIME_PORT
 * (realtime/hub.ts); without it, no hub.
 */
import { readConfig } from "../config/settings";
import { StartupError, describeStartupFailure } from "../config/startup-error";
import { LOGIN_ROLES, roleUrl } from "../db/pg";
import { startRealtimeHub, type RealtimeHub } from "../realtime/hub";
import { createMidtransGateway } from "../worker/payments/midtrans-gateway";
import { workerInstance } from "../worker/resilience/instance";
import { createResilienceMonitor } from "../worker/resilience/monitor";
import { startWorker } from "../worker/runner";

function workerConnectionString(config: ReturnType<typeof readConfig>): string {
  if (config.workerDatabaseUrl) return config.workerDatabaseUrl;
  if (config.databaseUrl && config.workerPassword)
    return roleUrl(config.databaseUrl, LOGIN_ROLES.worker, config.workerPassword);
  throw new StartupError(
    "Set WORKER_DATABASE_URL (postgres://app_worker:<password>@host/db), or DATABASE_URL and WORKER_PASSWORD, " +
      "for a stand-alone worker (npm start runs one itself).",
  );
}

async function main(): Promise<void> {
  const config = readConfig();
  // The payment tasks run only with a Midtrans server key; without one their
  // jobs wait for a worker that has it.
  const resilience = createResilienceMonitor({
    instance: workerInstance(config.worker.instanceId),
    heartbeatMs: config.worker.heartbeatMs,
  });
  const serverKey = config.midtransServerKey;
  const payments = serverKey
    ? {
        gateway: resilience.track("midtrans", (onStateChange) =>
          createMidtransGateway({ serverKey, settings: config.midtrans, onStateChange }),
        ),
        qrisExpiryMinutes: config.qrisExpiryMinutes,
      }
    : undefined;
  const runner = await startWorker(workerConnectionString(config), {
    payments,
    resilience,
    concurrency: config.worker.concurrency,
  });
  let realtime: RealtimeHub | undefined;
  if (config.jwtSecret) {
    try {
      realtime = await startRealtimeHub({
        connectionString: workerConnectionString(config),
        port: config.realtimePort,
        host: config.realtimeHost,
        jwtSecret: config.jwtSecret,
        tokenRecheckMs: config.realtimeTokenRecheckMs,
        trustedProxies: config.realtimeTrustedProxies,
        onLog: (line) => process.stderr.write(`worker: ${line}\n`),
      });
    } catch (error) {
      await runner.forceStop();
      throw error;
    }
  }
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) {
      process.stdout.write(`worker: ${signal} again, releasing running jobs now\n`);
      void runner.forceStop();
      return;
    }
    stopping = true;
    process.stdout.write(
      `worker: ${signal}, stopping (running jobs may finish within ${config.workerShutdownTimeoutMs} ms)\n`,
    );
    const hubStopped = realtime ? realtime.stop().catch(() => undefined) : Promise.resolve();
    void hubStopped
      .then(() => runner.stopWithin(config.workerShutdownTimeoutMs))
      .then(
        (outcome) => {
          if (outcome.forced)
            process.stdout.write(
              `worker: released ${outcome.releasedJobIds.length} running job(s) to other workers` +
                `${outcome.releasedJobIds.length ? ` (${outcome.releasedJobIds.join(", ")})` : ""}\n`,
            );
          for (const error of outcome.errors) process.stderr.write(`worker: stopping: ${error}\n`);
          process.stdout.write("worker: stopped\n");
          process.exit(outcome.errors.length ? 1 : 0);
        },
        (error: unknown) => {
          process.stderr.write(`worker: stopping failed: ${describeStartupFailure(error)}\n`);
          process.exit(1);
        },
      );
  };
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.stdout.write(
    `worker: running as app_worker, instance ${resilience.instance.id}${payments ? "" : " (no MIDTRANS_SERVER_KEY: payment jobs wait)"}\n`,
  );
  process.stdout.write(
    realtime
      ? `worker: realtime hub on ${realtime.url}\n`
      : "worker: no realtime hub (set JWT_SECRET, the secret PostgREST verifies tokens with)\n",
  );
  // The runner is started again by itself after a database outage
  // (worker/runner-supervisor.ts); it ends here only when graphile-worker
  // stopped cleanly by itself (a breaking migration of its schema, exit code
  // 57): close the connections and exit non-zero for the supervisor.
  await runner.promise;
  if (stopping) return;
  stopping = true;
  process.stderr.write("worker: the job runner ended by itself; exiting\n");
  await realtime?.stop().catch(() => undefined);
  await runner.stopWithin(config.workerShutdownTimeoutMs);
  process.exit(typeof process.exitCode === "number" && process.exitCode !== 0 ? process.exitCode : 1);
}

main().catch((error: unknown) => {
  process.stderr.write(`worker: ${describeStartupFailure(error)}\n`);
  process.exit(1);
});
