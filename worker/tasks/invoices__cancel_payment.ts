/**
 * Cancels a pending charge at Midtrans, then lets the status API decide.
 *
 * Queued two ways:
 * - by api.cancel_invoice, `{invoice_id, requested_by}`, for an invoice whose
 *   charge is pending: cancel its current order at Midtrans, then
 *   app_hidden.finish_invoice_cancel applies the status API's answer
 *   (cancelled; paid if the payer was quicker, the requester told) or, when
 *   Midtrans never got the charge, cancels the invoice in the database;
 * - by app_hidden.record_qris_charge, `{order_id}`, for a charge that landed
 *   after its invoice was cancelled or charged anew: cancel that order at
 *   Midtrans so it never stays payable.
 * Midtrans refusing the cancel (412: no longer pending; 404: no such order)
 * is an answer, not a failure: the status API says what happened instead.
 * While Midtrans still shows the order pending the job fails, so
 * graphile-worker tries again.
 */
import type { Task } from "graphile-worker";
import { MidtransRejectedError } from "../payments/midtrans-gateway";
import type { Canceller, ConfirmedStatus, StatusReader } from "../payments/ports";

type InvoicePayload = { invoice_id: string; requested_by?: string | null };
type OrderPayload = { order_id: string };

const isInvoicePayload = (payload: unknown): payload is InvoicePayload =>
  typeof payload === "object" && payload !== null && typeof (payload as InvoicePayload).invoice_id === "string";
const isOrderPayload = (payload: unknown): payload is OrderPayload =>
  typeof payload === "object" && payload !== null && typeof (payload as OrderPayload).order_id === "string";

/** Asks Midtrans to cancel the order, then reads its status (null: Midtrans does not know it). */
async function cancelAndConfirm(
  gateway: Canceller & StatusReader,
  orderId: string,
  log: (message: string) => void,
): Promise<ConfirmedStatus | null> {
  try {
    await gateway.cancelPayment(orderId);
  } catch (error) {
    if (!(error instanceof MidtransRejectedError)) throw error;
    log(`Midtrans did not cancel ${orderId}: ${error.message}`);
  }
  return gateway.getPaymentStatus(orderId);
}

export function invoicesCancelPayment(gateway: Canceller & StatusReader): Task {
  return async (payload, helpers) => {
    const log = (message: string) => helpers.logger.info(message);
    if (isOrderPayload(payload)) {
      const status = await cancelAndConfirm(gateway, payload.order_id, log);
      if (!status) return;
      if (status.status === "pending") throw new Error(`order ${payload.order_id} is still pending at Midtrans`);
      const { rows } = await helpers.query<{ result: string }>(
        "select app_hidden.apply_payment_status($1, $2, $3, $4) as result",
        [payload.order_id, status.status, status.fraudStatus ?? null, status.settlementTime ?? null],
      );
      log(`late charge ${payload.order_id}: Midtrans says ${status.status}; invoice ${rows[0]?.result}`);
      return;
    }
    if (!isInvoicePayload(payload)) throw new Error(`invoices__cancel_payment: bad payload ${JSON.stringify(payload)}`);
    const { rows } = await helpers.query<{ status: string; order_id: string | null }>(
      "select status::text as status, midtrans_order_id as order_id from api.invoices where id = $1",
      [payload.invoice_id],
    );
    const invoice = rows[0];
    if (!invoice) return;
    const status =
      invoice.status === "pending" && invoice.order_id ? await cancelAndConfirm(gateway, invoice.order_id, log) : null;
    const finished = await helpers.query<{ result: string }>(
      "select app_hidden.finish_invoice_cancel($1, $2, $3, $4, $5, $6) as result",
      [
        payload.invoice_id,
        payload.requested_by ?? null,
        invoice.order_id,
        status?.status ?? null,
        status?.fraudStatus ?? null,
        status?.settlementTime ?? null,
      ],
    );
    const result = finished.rows[0]?.result;
    if (result === "pending") throw new Error(`invoice ${payload.invoice_id}: Midtrans still shows a pending charge`);
    log(`cancel of invoice ${payload.invoice_id}: Midtrans says ${status?.status ?? "nothing"}; invoice ${result}`);
  };
}
