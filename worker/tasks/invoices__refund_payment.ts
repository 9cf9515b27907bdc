/**
 * Carries out one refund (queued by api.refund_invoice with the refund's id).
 * The refund row and its refund_key were recorded before this job existed,
 * so every run sends the same key: if Midtrans approved a call we never heard
 * back from, the retry gets that refund's answer again, nothing refunded
 * twice. Midtrans' answer is recorded (app_hidden.record_refund_outcome),
 * then the invoice moves to what the status API says (partial_refunded or
 * refunded, app_hidden.apply_payment_status). A refusal (4xx) fails the refund
 * for good and alerts the admins; a transient failure throws, so
 * graphile-worker tries again later.
 */
import type { Task } from "graphile-worker";
import { MidtransRejectedError } from "../payments/midtrans-gateway";
import type { Refunder, StatusReader } from "../payments/ports";

type Payload = { refund_id: string };

function isPayload(payload: unknown): payload is Payload {
  return typeof payload === "object" && payload !== null && typeof (payload as Payload).refund_id === "string";
}

type RefundRow = {
  order_id: string;
  /** The paid charge's Midtrans transaction id (null only if it was never recorded). */
  transaction_id: string | null;
  amount: string;
  reason: string;
  refund_key: string;
  status: string;
};

export function invoicesRefundPayment(gateway: Refunder & StatusReader): Task {
  return async (payload, helpers) => {
    if (!isPayload(payload)) throw new Error(`invoices__refund_payment: bad payload ${JSON.stringify(payload)}`);
    const { rows } = await helpers.query<RefundRow>(
      `select r.order_id, a.midtrans_transaction_id as transaction_id, r.amount::text as amount, r.reason,
              r.refund_key, r.status
         from api.refunds r left join api.payment_attempts a on a.order_id = r.order_id
        where r.id = $1`,
      [payload.refund_id],
    );
    const refund = rows[0];
    if (!refund) return;
    if (refund.status === "requested") {
      try {
        // By transaction id where we have it: Midtrans refunds GoPay's static
        // QRIS only by transaction id, and it names one charge unambiguously.
        const approved = await gateway.refundPayment(refund.transaction_id ?? refund.order_id, {
          amount: Number(refund.amount),
          reason: refund.reason,
          refundKey: refund.refund_key,
        });
        await helpers.query("select app_hidden.record_refund_outcome($1, true, $2, $3)", [
          payload.refund_id,
          approved.refundChargebackId === undefined || approved.refundChargebackId === null
            ? null
            : String(approved.refundChargebackId),
          approved.status,
        ]);
      } catch (error) {
        if (!(error instanceof MidtransRejectedError)) throw error;
        await helpers.query("select app_hidden.record_refund_outcome($1, false, null, null, $2)", [
          payload.refund_id,
          error.message,
        ]);
        helpers.logger.warn(`refund ${refund.refund_key} of ${refund.order_id} refused by Midtrans: ${error.message}`);
        return;
      }
    } else if (refund.status === "failed") {
      return;
    }
    // The status API is the authority for the invoice.
    const status = await gateway.getPaymentStatus(refund.order_id);
    if (!status) throw new Error(`Midtrans does not know order ${refund.order_id} after refunding it`);
    const applied = await helpers.query<{ result: string; succeeded_total: string }>(
      `select app_hidden.apply_payment_status($1, $2, $3, $4) as result,
              (select coalesce(sum(amount), 0)::text from api.refunds where order_id = $1 and status = 'succeeded') as succeeded_total`,
      [refund.order_id, status.status, status.fraudStatus ?? null, status.settlementTime ?? null],
    );
    const ours = Number(applied.rows[0]?.succeeded_total ?? 0);
    if (status.refundAmount !== undefined && Number(status.refundAmount) !== ours) {
      // Refunds made elsewhere (e.g. Midtrans' dashboard): money we did not record.
      helpers.logger.warn(
        `order ${refund.order_id}: Midtrans has refunded ${status.refundAmount}, our succeeded refunds add up to ${ours}`,
      );
    }
    helpers.logger.info(
      `refund ${refund.refund_key} of ${refund.order_id}: Midtrans says ${status.status}; invoice ${applied.rows[0]?.result}`,
    );
  };
}
