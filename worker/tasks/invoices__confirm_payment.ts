/**
 * Confirms an order's status with Midtrans' status API, the authority, and
 * applies it (queued by api.midtrans_notification, one job per order at a
 * time). A notification is only a hint: whatever it said, the invoice moves
 * to what the status API answers, along its life cycle.
 */
import type { Task } from "graphile-worker";
import type { StatusReader } from "../payments/ports";

type Payload = { order_id: string };

function isPayload(payload: unknown): payload is Payload {
  return typeof payload === "object" && payload !== null && typeof (payload as Payload).order_id === "string";
}

export function invoicesConfirmPayment(gateway: StatusReader): Task {
  return async (payload, helpers) => {
    if (!isPayload(payload)) throw new Error(`invoices__confirm_payment: bad payload ${JSON.stringify(payload)}`);
    const status = await gateway.getPaymentStatus(payload.order_id);
    if (!status) {
      helpers.logger.warn(`Midtrans does not know order ${payload.order_id}; nothing to confirm`);
      return;
    }
    const { rows } = await helpers.query<{ result: string }>(
      "select app_hidden.apply_payment_status($1, $2, $3, $4) as result",
      [payload.order_id, status.status, status.fraudStatus ?? null, status.settlementTime ?? null],
    );
    helpers.logger.info(`order ${payload.order_id}: Midtrans says ${status.status}; invoice ${rows[0]?.result}`);
  };
}
