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
import { run, type Logger, type Runner, type TaskList } from "graphile-worker";
import type { Canceller, Expirer, QrisCharger, Refunder, StatusReader } from "./payments/ports";
import type { MonitorLog, ResilienceMonitor } from "./resilience/monitor";
import { invoicesCancelPayment } from "./tasks/invoices__cancel_payment";
import { invoicesConfirmPayment } from "./tasks/invoices__confirm_payment";
import { invoicesCreateQrisPayment } from "./tasks/invoices__create_qris_payment";
import { invoicesExpireStale } from "./tasks/invoices__expire_stale";
import { invoicesReconcile } from "./tasks/invoices__reconcile";
import { invoicesRefundPayment } from "./tasks/invoices__refund_payment";
import { partitionsMaintain } from "./tasks/partitions__maintain";

export type PaymentDependencies = {
  gateway: QrisCharger & StatusReader & Refunder & Canceller & Expirer;
  /** How long a QR code may be paid (Midtrans custom_expiry), in minutes; Midtrans' default, 15, when omitted. */
  qrisExpiryMinutes?: number;
};

export function createTaskList(payments?: PaymentDependencies): TaskList {
  return {
    partitions__maintain: partitionsMaintain,
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
 * was missed (?fill); with payments, invoices__reconcile and
 * invoices__expire_stale every minute.
 */
export function createCrontab(payments?: PaymentDependencies): string {
  return (
    "0 3 * * * partitions__maintain ?fill=2d&max=1\n" +
    (payments ? "* * * * * invoices__reconcile\n* * * * * invoices__expire_stale\n" : "")
  );
}

export type WorkerOptions = {
  concurrency?: number;
  payments?: PaymentDependencies;
  pollInterval?: number;
  logger?: Logger;
  /**
   * Reports the instance's breakers to the database and takes reset commands
   * (worker/resilience/monitor.ts): started with the runner, stopped (its
   * rows removed) by the runner's stop().
   */
  resilience?: ResilienceMonitor;
};

export async function startWorker(connectionString: string, options: WorkerOptions = {}): Promise<Runner> {
  const runner = await run({
    connectionString,
    concurrency: options.concurrency ?? 4,
    // The process that embeds the runner owns signal handling.
    noHandleSignals: true,
    pollInterval: options.pollInterval ?? 2_000,
    taskList: createTaskList(options.payments),
    crontab: createCrontab(options.payments),
    ...(options.logger ? { logger: options.logger } : {}),
  });
  const monitor = options.resilience;
  if (!monitor) return runner;
  const logger = options.logger?.scope({ label: "resilience" });
  const log: MonitorLog | undefined = logger && ((level, message) => logger[level](message));
  try {
    await monitor.start(connectionString, log);
  } catch (error) {
    await runner.stop();
    throw error;
  }
  // The runner's own end (a fatal error) stops the monitor too.
  const stopMonitor = () => monitor.stop().catch(() => undefined);
  void runner.promise.then(stopMonitor, stopMonitor);
  const stopRunner = runner.stop;
  return {
    ...runner,
    async stop(reason) {
      try {
        await stopRunner(reason);
      } finally {
        await monitor.stop();
      }
    },
  };
}
