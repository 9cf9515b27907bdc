/**
 * The parts of the payment path around a prepared database: the real
 * PostgREST (production settings: pool 10, JWT cache) and the Midtrans
 * simulator in this process, delivering its notifications to PostgREST's
 * /rpc/midtrans_notification with no artificial delay. Worker processes are
 * started per scenario (bench/worker-processes.ts).
 */
import type { DatabaseConnections } from "../db/pg";
import { withClient } from "../db/pg";
import { freePort } from "../services/ports";
import { startPostgrest } from "../services/postgrest";
import { startSimulator } from "../simulator";
import type { Cleanup } from "./cleanup";
import { childrenOf } from "./cpu-usage";
import { startWorkerProcesses, type WorkerProcesses } from "./worker-processes";

/** A migrated database and the secrets it was booted with. */
export type BenchDatabase = {
  connections: DatabaseConnections;
  jwtSecret: string;
  /** The key the database checks notification signatures with; the simulator signs with it. */
  midtransServerKey: string;
  /** PostgreSQL's main process, when the server is the benchmark's own (its CPU is then reported). */
  postmasterPid?: number;
};

export type PaymentStack = {
  database: BenchDatabase;
  apiUrl: string;
  /** PostgREST's process, when /proc tells (for its CPU). */
  postgrestPid: number | undefined;
  simulatorUrl: string;
  startWorkers(count: number): Promise<WorkerProcesses>;
};

/**
 * The per-user and per-address limits (register 20/h, create_project 20/h,
 * pay_invoice 30/h) are for people, not for a load generator that signs up
 * and pays hundreds of times from one address: the benchmark's own database
 * gets them lifted, as an operator would tune the rows.
 */
export async function liftRateLimits(superuserUrl: string): Promise<void> {
  await withClient(superuserUrl, (client) =>
    client.query(
      "update app_private.rate_limits set max_count = 1000000 where action in ('register', 'create_project', 'pay_invoice')",
    ),
  );
}

export async function startPaymentStack(database: BenchDatabase, cleanup: Cleanup): Promise<PaymentStack> {
  await liftRateLimits(database.connections.superuser);
  const postgrestsBefore = new Set(childrenOf(process.pid, "postgrest"));
  const postgrest = await startPostgrest({
    dbUri: database.connections.authenticator,
    port: await freePort(),
    jwtSecret: database.jwtSecret,
  });
  cleanup.add("PostgREST", () => postgrest.stop());
  const postgrestPid = childrenOf(process.pid, "postgrest").find((pid) => !postgrestsBefore.has(pid));
  const simulator = await startSimulator({
    port: 0,
    host: "127.0.0.1",
    serverKey: database.midtransServerKey,
    notificationUrl: `${postgrest.url}/rpc/midtrans_notification`,
    // As npm run simulator: a failed delivery is retried after 120 ms, 600 ms, … (none is expected).
    notificationRetryScale: 0.001,
    notificationTimeoutMs: 15_000,
  });
  cleanup.add("the Midtrans simulator", () => simulator.stop());
  return {
    database,
    apiUrl: postgrest.url,
    postgrestPid,
    simulatorUrl: simulator.url,
    startWorkers: (count) =>
      startWorkerProcesses(
        count,
        {
          workerDatabaseUrl: database.connections.worker,
          midtransServerKey: database.midtransServerKey,
          midtransBaseUrl: simulator.url,
        },
        cleanup,
      ),
  };
}
