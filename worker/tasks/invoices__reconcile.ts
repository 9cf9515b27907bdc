/**
 * Every minute: queues again the jobs of payments that waited too long (see
 * app_hidden.queue_payment_reconciliation). Cheap when nothing is stuck: one
 * indexed query over pending invoices.
 */
import type { Task } from "graphile-worker";

export const invoicesReconcile: Task = async (_payload, helpers) => {
  const { rows } = await helpers.query<{ queued: number }>(
    "select app_hidden.queue_payment_reconciliation() as queued",
  );
  if (rows[0]?.queued) helpers.logger.info(`reconciliation queued ${rows[0].queued} payment job(s)`);
};
