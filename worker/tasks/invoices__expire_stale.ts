/**
 * Every minute: pending invoices whose QR code has expired are expired at
 * Midtrans ourselves (Midtrans expires in batches, so its own expiry can
 * come late), then moved to what the status API says: normally `expired`
 * (the client is notified and may pay again with a new order id), or `paid`
 * when the payer paid at the last moment. Midtrans refusing the expire
 * (412: the charge already ended) is an answer: the status API tells how.
 * At most `batchSize` invoices per run, the longest expired first; what a
 * run leaves (a transient failure, a full batch) the next run picks up.
 */
import type { Task } from "graphile-worker";
import { MidtransRejectedError, MidtransUnavailableError } from "../payments/midtrans-gateway";
import type { Expirer, StatusReader } from "../payments/ports";

export function invoicesExpireStale(gateway: Expirer & StatusReader, options: { batchSize: number }): Task {
  return async (_payload, helpers) => {
    const { rows } = await helpers.query<{ order_id: string }>(
      `select i.midtrans_order_id as order_id
         from api.invoices i join api.payment_attempts a on a.order_id = i.midtrans_order_id
        where i.status = 'pending' and i.qris_expires_at < now() and a.midtrans_transaction_id is not null
        order by i.qris_expires_at
        limit $1`,
      [options.batchSize],
    );
    for (const { order_id: orderId } of rows) {
      try {
        try {
          await gateway.expirePayment(orderId);
        } catch (error) {
          if (!(error instanceof MidtransRejectedError)) throw error;
          helpers.logger.info(`Midtrans did not expire ${orderId}: ${error.message}`);
        }
        const status = await gateway.getPaymentStatus(orderId);
        if (!status) {
          helpers.logger.warn(`Midtrans does not know order ${orderId}; left pending`);
          continue;
        }
        const applied = await helpers.query<{ result: string }>(
          "select app_hidden.apply_payment_status($1, $2, $3, $4) as result",
          [orderId, status.status, status.fraudStatus ?? null, status.settlementTime ?? null],
        );
        helpers.logger.info(`stale QR ${orderId}: Midtrans says ${status.status}; invoice ${applied.rows[0]?.result}`);
      } catch (error) {
        // Midtrans is down: the rest of the batch would fail the same way.
        if (error instanceof MidtransUnavailableError) throw error;
        helpers.logger.warn(`could not expire ${orderId} (next run tries again): ${String(error)}`);
      }
    }
  };
}
