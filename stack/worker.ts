/**
 * `npm run worker`, and the image's default command (compiled:
 * `node dist/stack/worker.js`): the worker process on its own, connected as
 * `app_worker`: WORKER_DATABASE_URL, or DATABASE_URL's server and database
 * with WORKER_PASSWORD. SIGTERM or SIGINT stops taking jobs, lets running
 * ones finish, and closes the connections.
 */
import { readConfig } from "../config/settings";
import { StartupError, describeStartupFailure } from "../config/startup-error";
import { LOGIN_ROLES, roleUrl } from "../db/pg";
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
      }
    : undefined;
  const runner = await startWorker(workerConnectionString(config), { payments, resilience });
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(`worker: ${signal}, stopping\n`);
    void runner.stop().then(
      () => process.exit(0),
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
  await runner.promise;
}

main().catch((error: unknown) => {
  process.stderr.write(`worker: ${describeStartupFailure(error)}\n`);
  process.exit(1);
});
