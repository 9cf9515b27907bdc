/**
 * Cancelling and expiring invoices over HTTP with every real part
 * (PostgreSQL, PostgREST, the worker as app_worker, the Midtrans simulator):
 * api.cancel_invoice with the worker's invoices__cancel_payment, the race
 * with a payer and with a charge still in flight, and the every-minute
 * invoices__expire_stale. Each test ends by checking that Midtrans'
 * transaction and the invoice agree.
 */
import { registerClient } from "../helpers/auth";
import {
  chargedInvoice,
  invoiceRow,
  midtransTransaction,
  orderProject,
  rpc,
  startPaymentStack,
  untilInvoiceStatus,
  paidInvoice,
  type PaymentStack,
} from "../helpers/payment-stack";
import { until } from "../helpers/payments";
import { simulate, transactionsOf } from "../helpers/simulator";

let stack: PaymentStack;

beforeAll(async () => {
  stack = await startPaymentStack();
});

afterAll(async () => {
  await stack?.stop();
});

const cancelInvoice = (invoiceId: string, token = stack.client.token) =>
  rpc(stack, "cancel_invoice", { invoice_id: invoiceId }, token);

const codeOf = (response: { status: number; body: unknown }) => [
  response.status,
  (response.body as { code?: string }).code,
];

const notificationsTitled = async (token: string, title: string, invoiceId: string) =>
  (
    (
      await stack.api.request(`/real_time_notifications?title=eq.${encodeURIComponent(title)}&select=payload`, {
        token,
      })
    ).body as { payload: { invoice_id?: string } }[]
  ).filter((n) => n.payload.invoice_id === invoiceId);

const auditOf = (invoiceId: string) =>
  stack.db.query<{ action: string; old_status: string | null; new_status: string | null }>(
    `select action::text, old_values->>'status' as old_status, new_values->>'status' as new_status
       from api.audit_logs where resource = 'invoices' and resource_id = $1 order by timestamp, id`,
    [invoiceId],
  );

test("the owner cancels a pending invoice: cancelled at Midtrans, then in the database; paying it again is refused", async () => {
  const invoice = await chargedInvoice(stack);
  const cancelling = await cancelInvoice(invoice.id);
  expect(cancelling.status).toBe(200);
  await untilInvoiceStatus(stack, invoice.id, "cancelled");
  expect((await midtransTransaction(stack, invoice.midtrans_order_id!)).transaction_status).toBe("cancel");

  const again = await rpc(stack, "pay_invoice", { invoice_id: invoice.id }, stack.client.token);
  expect(codeOf(again)).toEqual([409, "INVOICE_NOT_PAYABLE"]);
  expect(await auditOf(invoice.id)).toContainEqual({
    action: "PAYMENT_FAILED",
    old_status: "pending",
    new_status: "cancelled",
  });
  expect(await notificationsTitled(stack.client.token, "Invoice dibatalkan", invoice.id)).toHaveLength(1);
  // Still one transaction for the order: nothing was charged anew.
  expect((await transactionsOf(stack.simulator)).filter((t) => t.order_id === invoice.midtrans_order_id)).toHaveLength(
    1,
  );
});

test("an unpaid invoice is cancelled at once, without Midtrans", async () => {
  const invoiceId = await orderProject(stack);
  const cancelling = await cancelInvoice(invoiceId);
  expect(cancelling.status).toBe(200);
  expect(cancelling.body).toMatchObject({ id: invoiceId, status: "cancelled" });
  expect((await invoiceRow(stack, invoiceId)).status).toBe("cancelled");
  expect(await auditOf(invoiceId)).toContainEqual({ action: "UPDATE", old_status: "unpaid", new_status: "cancelled" });
  expect(await notificationsTitled(stack.client.token, "Invoice dibatalkan", invoiceId)).toHaveLength(1);
  // No job, no Midtrans call: nothing was ever charged for it.
  expect(
    await stack.db.query("select count(*)::int as n from api.payment_attempts where invoice_id = $1", [invoiceId]),
  ).toEqual([{ n: 0 }]);
  // Cancelled is final.
  expect(codeOf(await cancelInvoice(invoiceId))).toEqual([409, "INVOICE_NOT_CANCELLABLE"]);
});

test("the owner cannot cancel a paid invoice (INVOICE_NOT_CANCELLABLE); another client gets INVOICE_NOT_FOUND", async () => {
  const invoice = await paidInvoice(stack);
  const refused = await cancelInvoice(invoice.id);
  expect(refused.status).toBe(409);
  expect(refused.body).toMatchObject({ code: "INVOICE_NOT_CANCELLABLE", details: "status paid" });
  const stranger = await registerClient(stack.api);
  expect(codeOf(await cancelInvoice(invoice.id, stranger.token))).toEqual([404, "INVOICE_NOT_FOUND"]);
  expect(codeOf(await cancelInvoice(invoice.id, stack.admin.token))).toEqual([409, "INVOICE_NOT_CANCELLABLE"]);
  expect((await invoiceRow(stack, invoice.id)).status).toBe("paid");
  expect((await midtransTransaction(stack, invoice.midtrans_order_id!)).transaction_status).toBe("settlement");
});

test("an admin cancels a client's pending invoice, and a failed one that its owner may not (FORBIDDEN)", async () => {
  const pending = await chargedInvoice(stack);
  expect((await cancelInvoice(pending.id, stack.admin.token)).status).toBe(200);
  await untilInvoiceStatus(stack, pending.id, "cancelled");
  expect((await midtransTransaction(stack, pending.midtrans_order_id!)).transaction_status).toBe("cancel");
  expect(await notificationsTitled(stack.client.token, "Invoice dibatalkan", pending.id)).toHaveLength(1);

  // The payment provider refuses the payment: the invoice is failed.
  const failed = await chargedInvoice(stack);
  expect((await simulate(stack.simulator, "POST", `/simulate/deny/${failed.midtrans_order_id}`)).status).toBe(200);
  await untilInvoiceStatus(stack, failed.id, "failed");
  expect(codeOf(await cancelInvoice(failed.id))).toEqual([403, "FORBIDDEN"]);
  const byAdmin = await cancelInvoice(failed.id, stack.admin.token);
  expect(byAdmin.status).toBe(200);
  expect(byAdmin.body).toMatchObject({ status: "cancelled" });
  expect((await midtransTransaction(stack, failed.midtrans_order_id!)).transaction_status).toBe("deny");
});

test("cancel racing a payment: the payer paid just before the cancel ran, so the invoice ends paid and the requester is told", async () => {
  const invoice = await chargedInvoice(stack);
  // The payment's notifications are lost, so the database still says pending
  // when the cancel is asked for.
  expect(
    (await simulate(stack.simulator, "POST", "/simulate/faults", { notifications: { dropNext: 10 } })).status,
  ).toBe(200);
  try {
    expect((await simulate(stack.simulator, "POST", `/simulate/pay/${invoice.midtrans_order_id}`)).status).toBe(200);
    const cancelling = await cancelInvoice(invoice.id);
    expect(cancelling.status).toBe(200);
    expect(cancelling.body).toMatchObject({ status: "pending" });
    await untilInvoiceStatus(stack, invoice.id, "paid");
    const told = await until("the requester told", async () => {
      const rows = await notificationsTitled(stack.client.token, "Pembatalan tidak dilakukan", invoice.id);
      return rows.length ? rows : undefined;
    });
    expect(told).toHaveLength(1);
    expect((await midtransTransaction(stack, invoice.midtrans_order_id!)).transaction_status).toBe("settlement");
    expect((await invoiceRow(stack, invoice.id)).status).toBe("paid");
  } finally {
    await simulate(stack.simulator, "DELETE", "/simulate/faults");
  }
});

test("a charge still in flight when the invoice is cancelled is cancelled at Midtrans when it lands, never left payable", async () => {
  const invoiceId = await orderProject(stack);
  // Midtrans takes its time to answer the charge.
  expect(
    (await simulate(stack.simulator, "POST", "/simulate/faults", { latency: { ms: 1_500, path: "/v2/charge" } }))
      .status,
  ).toBe(200);
  try {
    const paying = await rpc(stack, "pay_invoice", { invoice_id: invoiceId }, stack.client.token);
    const orderId = (paying.body as { midtrans_order_id: string }).midtrans_order_id;
    // The worker has taken the charge job and is waiting for Midtrans.
    await until("the charge job running", async () => {
      const rows = await stack.db.query(
        "select 1 from graphile_worker._private_jobs where key = $1 and locked_at is not null",
        [`invoices__create_qris_payment:${orderId}`],
      );
      return rows.length ? true : undefined;
    });
    expect((await cancelInvoice(invoiceId)).status).toBe(200);
    await untilInvoiceStatus(stack, invoiceId, "cancelled");
    // The charge lands after the cancel and is cancelled at Midtrans in turn.
    const tx = await until("the late charge cancelled at Midtrans", async () => {
      const found = (await transactionsOf(stack.simulator)).filter((t) => t.order_id === orderId);
      return found[0]?.transaction_status === "cancel" ? found : undefined;
    });
    expect(tx).toHaveLength(1);
    const row = await invoiceRow(stack, invoiceId);
    expect([row.status, row.qris_url]).toEqual(["cancelled", null]);
  } finally {
    await simulate(stack.simulator, "DELETE", "/simulate/faults");
  }
});

test("a pending invoice whose QR expired is expired at Midtrans by invoices__expire_stale, then paid again with a new order id and QR", async () => {
  const invoice = await chargedInvoice(stack);
  const firstOrder = invoice.midtrans_order_id!;
  // The QR's time is up (Midtrans' own expiry would come later, in a batch).
  await stack.db.query("update api.invoices set qris_expires_at = now() - interval '1 minute' where id = $1", [
    invoice.id,
  ]);
  await stack.db.query("update api.payment_attempts set expires_at = now() - interval '1 minute' where order_id = $1", [
    firstOrder,
  ]);
  // What the every-minute schedule runs.
  await stack.db.query("select graphile_worker.add_job('invoices__expire_stale')");
  await untilInvoiceStatus(stack, invoice.id, "expired");
  expect((await midtransTransaction(stack, firstOrder)).transaction_status).toBe("expire");
  expect(await notificationsTitled(stack.client.token, "Kode QR kedaluwarsa", invoice.id)).toHaveLength(1);

  const again = await chargedInvoice(stack, invoice.id);
  expect(again.midtrans_order_id).not.toBe(firstOrder);
  expect(again.qris_url).not.toBe(invoice.qris_url);
  expect((await midtransTransaction(stack, again.midtrans_order_id!)).transaction_status).toBe("pending");
  expect((await midtransTransaction(stack, firstOrder)).transaction_status).toBe("expire");
});
