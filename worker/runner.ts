/**
 * The graphile-worker runner: the task list and the schedule.
 *
 * It connects as `app_worker`, which may run jobs but not change the schema:
 * graphile-worker's own schema is installed and migrated by the database
 * bootstrap (db/bootstrap.ts) on the owner's connection, so at start-up the
 * runner only finds it up to date.
 *
 * The payment tasks run only when a Midtrans gateway is given; without one
 * their jobs wait in the queue (graphile-worker takes only the jobs of tasks
 * it knows) until a worker that has one starts.
 */
import { EventEmitter } from "node:events";
import {
  Logger as WorkerLogger,
  consoleLogFactory,
  run,
  type Logger,
  type Runner,
  type TaskList,
  type WorkerEvents,
  type WorkerPool,
} from "graphile-worker";
import { Pool } from "pg";
import type { Canceller, Expirer, QrisCharger, Refunder, StatusReader } from "./payments/ports";
import type { MonitorLog, ResilienceMonitor } from "./resilience/monitor";
import { invoicesCancelPayment } from "./tasks/invoices__cancel_payment";
import { invoicesConfirmPayment } from "./tasks/invoices__confirm_payment";
import { invoicesCreateQrisPayment } from "./tasks/invoices__create_qris_payment";
import { invoicesExpireStale } from "./tasks/invoices__expire_stale";
import { invoicesReconcile } from "./tasks/invoices__reconcile";
import { invoicesRefundPayment } from "./tasks/invoices__refund_payment";
import { partitionsMaintain } from "./tasks/partitions__maintain";
import { realtimeCleanup, type RealtimeCleanupOptions } from "./tasks/realtime__cleanup";
import { superviseRunner } from "./runner-supervisor";
import { createWorkerShutdown, type ShutdownOutcome } from "./shutdown";

export type PaymentDependencies = {
  gateway: QrisCharger & StatusReader & Refunder & Canceller & Expirer;
  /** How long a QR code may be paid (Midtrans custom_expiry), in minutes; Midtrans' default, 15, when omitted. */
  qrisExpiryMinutes?: number;
};

export function createTaskList(
  payments?: PaymentDependencies,
  realtime: Partial<RealtimeCleanupOptions> = {},
): TaskList {
  return {
    partitions__maintain: partitionsMaintain,
    realtime__cleanup: realtimeCleanup(realtime),
    ...(payments
      ? {
          invoices__create_qris_payment: invoicesCreateQrisPayment(payments.gateway, {
            expiryMinutes: payments.qrisExpiryMinutes ?? 15,
          }),
          invoices__confirm_payment: invoicesConfirmPayment(payments.gateway),
          invoices__reconcile: invoicesReconcile,
          invoices__refund_payment: invoicesRefundPayment(payments.gateway),
          invoices__cancel_payment: invoicesCancelPayment(payments.gateway),
          invoices__expire_stale: invoicesExpireStale(payments.gateway, { batchSize: 20 }),
        }
      : {}),
  };
}

/**
 * partitions__maintain daily at 03:00, and once at start-up if the last run
 * was missed (?fill); realtime__cleanup every 5 minutes (one at a time: a
 * run that is late is not repeated); with payments, invoices__reconcile and
 * invoices__expire_stale every minute.
 */
export function createCrontab(payments?: PaymentDependencies): string {
  return (
    "0 3 * * * partitions__maintain ?fill=2d&max=1\n" +
    "*/5 * * * * realtime__cleanup ?max=1&jobKey=realtime__cleanup\n" +
    (payments ? "* * * * * invoices__reconcile\n* * * * * invoices__expire_stale\n" : "")
  );
}

/** The runner, whose stop() also closes its connections, and a bounded stop. */
export type WorkerRunner = Runner & {
  /**
   * Stops taking jobs and lets running ones finish for at most `timeoutMs`;
   * then releases the rest to other workers (worker/shutdown.ts). Closes the
   * connections. Once; later calls return the same outcome.
   */
  stopWithin(timeoutMs: number): Promise<ShutdownOutcome>;
  /** Releases running jobs now (a second signal), stopping if not yet stopping. */
  forceStop(): Promise<ShutdownOutcome>;
  /**
   * Spans graphile-worker's runners: one that ends with an error is started
   * again (worker/runner-supervisor.ts). Settles when stopped, or when a
   * runner ended cleanly by itself; never rejects.
   */
  promise: Promise<void>;
};

export type WorkerOptions = {
  concurrency?: number;
  payments?: PaymentDependencies;
  /** The thresholds of realtime__cleanup (worker/tasks/realtime__cleanup.ts); its defaults when omitted. */
  realtimeCleanup?: Partial<RealtimeCleanupOptions>;
  pollInterval?: number;
  logger?: Logger;
  /**
   * Reports the instance's breakers to the database and takes reset commands
   * (worker/resilience/monitor.ts): started with the runner, stopped (its
   * rows removed) when the runner stops.
   */
  resilience?: ResilienceMonitor;
  /** Wait before the n-th attempt to start the runner again after it died (default: 1 s doubling to 30 s). */
  restartDelayMs?: (attempt: number) => number;
};

/** Unbounded, like graphile-worker's own stop(): jobs run to their end. */
const UNBOUNDED_MS = 2 ** 31 - 1;

export async function startWorker(connectionString: string, options: WorkerOptions = {}): Promise<WorkerRunner> {
  const logger = options.logger ?? new WorkerLogger(consoleLogFactory);
  const concurrency = options.concurrency ?? 4;
  // Our own pool (graphile-worker then leaves closing it to us): a forced
  // stop does not close the pool graphile-worker would have made.
  const pgPool = new Pool({ connectionString, max: Math.max(10, concurrency + 2) });
  // pg drops a broken client by itself; these handlers keep a server restart
  // from crashing the process (graphile-worker's own handlers, as it installs them).
  pgPool.on("error", (error) => logger.error(`PostgreSQL idle client generated error: ${error.message}`, { error }));
  pgPool.on("connect", (client) => {
    client.on("error", (error) =>
      logger.error(`PostgreSQL active client generated error: ${error.message}`, { error }),
    );
  });
  const events = new EventEmitter() as WorkerEvents;
  let workerPool: WorkerPool | undefined;
  events.on("pool:create", ({ workerPool: created }) => {
    workerPool = created;
  });
  const start = async (): Promise<Runner> => {
    const runner = await run({
      pgPool,
      events,
      concurrency,
      // The process that embeds the runner owns signal handling.
      noHandleSignals: true,
      pollInterval: options.pollInterval ?? 2_000,
      taskList: createTaskList(options.payments, options.realtimeCleanup),
      crontab: createCrontab(options.payments),
      logger,
      // Completions and failures go through graphile-worker's batchers (no
      // delay), which its shutdown flushes before it ends: without them a job
      // finishing during a graceful stop could be completed after the
      // connections close, and stay locked. (Unbatched, a completion that
      // meets a lost connection is an unhandled rejection.) A batch that
      // meets a lost connection is not retried (graphile/worker#636) and
      // ends the runner: the supervisor below starts it again.
      preset: { worker: { completeJobBatchDelay: 0, failJobBatchDelay: 0 } },
    });
    // The runner's promise resolves even when its worker pool ended with an
    // error (graphile-worker logs it); the pool's promise tells.
    const poolEnd = workerPool!.promise.then(
      () => undefined,
      (error: unknown) => ({ error }),
    );
    return {
      ...runner,
      promise: runner.promise.then(async () => {
        const failed = await poolEnd;
        if (failed) throw failed.error;
      }),
    };
  };
  let first: Runner;
  try {
    first = await start();
  } catch (error) {
    await pgPool.end().catch(() => undefined);
    throw error;
  }
  const scoped = logger.scope({ label: "supervisor" });
  const supervised = superviseRunner(first, {
    log: (level, message) => scoped[level](message),
    restartDelayMs: options.restartDelayMs,
    restart: async () => {
      // The dead runner's pool is gone; the jobs it still held locked (a
      // completion or failure that could not be written) run again at once.
      const dead = workerPool;
      if (dead) await pgPool.query("select graphile_worker.force_unlock_workers(array[$1::text])", [dead.id]);
      return start();
    },
  });
  const shutdown = createWorkerShutdown({
    runner: supervised,
    workerPool: () => (supervised.current() ? workerPool : undefined),
    pgPool,
  });

  const monitor = options.resilience;
  if (monitor) {
    const scopedMonitor = logger.scope({ label: "resilience" });
    const log: MonitorLog = (level, message) => scopedMonitor[level](message);
    try {
      await monitor.start(connectionString, log);
    } catch (error) {
      await shutdown.stop(UNBOUNDED_MS);
      throw error;
    }
    // The runner's own end (ended by itself, not restarted) stops the monitor too.
    void supervised.promise.then(() => monitor.stop().catch(() => undefined));
  }
  /** The runner's stop, then the monitor's (which removes the instance's rows). */
  const withMonitor = async (stopping: Promise<ShutdownOutcome>): Promise<ShutdownOutcome> => {
    try {
      return await stopping;
    } finally {
      await monitor?.stop();
    }
  };
  return {
    events,
    addJob: (...args) => {
      const runner = supervised.current();
      if (!runner) return Promise.reject(new Error("the job runner is not running (restarting)"));
      return runner.addJob(...args);
    },
    kill: (reason) => supervised.kill(reason),
    promise: supervised.promise,
    stop: async () => {
      const outcome = await withMonitor(shutdown.stop(UNBOUNDED_MS));
      if (outcome.errors.length) throw new Error(outcome.errors.join("; "));
    },
    stopWithin: (timeoutMs) => withMonitor(shutdown.stop(timeoutMs)),
    forceStop: () => withMonitor(shutdown.force()),
  };
}
