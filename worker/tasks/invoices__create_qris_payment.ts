/**
 * Charges one payment attempt by QRIS (queued by api.pay_invoice with the
 * attempt's id). The attempt's order id was recorded before this job
 * existed, so a run that dies after Midtrans accepted the charge is retried
 * with the same order id: Midtrans answers "duplicate order id" and the
 * gateway returns the existing transaction. Nothing is charged twice.
 */
import type { Task } from "graphile-worker";
import type { QrisCharger } from "../payments/ports";

type Payload = { attempt_id: string };

function isPayload(payload: unknown): payload is Payload {
  return typeof payload === "object" && payload !== null && typeof (payload as Payload).attempt_id === "string";
}

export function invoicesCreateQrisPayment(gateway: QrisCharger, options: { expiryMinutes: number }): Task {
  return async (payload, helpers) => {
    if (!isPayload(payload)) throw new Error(`invoices__create_qris_payment: bad payload ${JSON.stringify(payload)}`);
    const { rows } = await helpers.query<{ order_id: string; amount: string; charged: boolean; current: boolean }>(
      `select a.order_id, a.amount::text as amount, a.midtrans_transaction_id is not null as charged,
              (i.midtrans_order_id = a.order_id and i.status = 'pending') as current
         from api.payment_attempts a join api.invoices i on i.id = a.invoice_id
        where a.id = $1`,
      [payload.attempt_id],
    );
    const attempt = rows[0];
    // Gone (order cancelled), already charged, or replaced by a newer attempt.
    if (!attempt || attempt.charged || !attempt.current) return;
    const charge = await gateway.createQrisPayment({
      orderId: attempt.order_id,
      grossAmount: Number(attempt.amount),
      expiryMinutes: options.expiryMinutes,
    });
    await helpers.query("select app_hidden.record_qris_charge($1, $2, $3, $4, $5)", [
      payload.attempt_id,
      charge.transactionId,
      charge.qrisUrl,
      charge.expiresAt,
      charge.status,
    ]);
    helpers.logger.info(`charged ${attempt.order_id} by QRIS (transaction ${charge.transactionId})`);
  };
}
