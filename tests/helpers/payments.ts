/**
 * Payment tests' common steps: a client orders and pays, polling with a
 * deadline, and the final check every fault test ends with: the simulator's
 * transactions (Midtrans' side) and the database agree.
 */
import { readConfig } from "../../config/settings";
import type { RunningSimulator } from "../../simulator";
import { createMidtransGateway } from "../../worker/payments/midtrans-gateway";
import type { PaymentDependencies } from "../../worker/runner";
import { TEST_MIDTRANS_SERVER_KEY } from "../setup/cluster";
import type { TestApi } from "./api";
import type { SignedIn } from "./auth";
import type { TestDatabase } from "./database";
import { transactionsOf } from "./simulator";

import { until } from "./until";

export { until };

/** The worker's payment dependencies with the simulator as Midtrans; MIDTRANS_* overrides as strings. */
export const simulatorPayments = (
  simulator: RunningSimulator,
  env: Record<string, string> = {},
): PaymentDependencies => ({
  gateway: createMidtransGateway({
    serverKey: TEST_MIDTRANS_SERVER_KEY,
    settings: readConfig({ MIDTRANS_BASE_URL: simulator.url, ...env }).midtrans,
  }),
  qrisExpiryMinutes: 15,
});

/** A client orders a project: its invoice's id. */
export async function orderProject(api: TestApi, client: SignedIn): Promise<string> {
  const ordered = await api.request("/rpc/create_project", {
    method: "POST",
    body: JSON.stringify({ name: "Profil Perusahaan Batik", type: "company" }),
    token: client.token,
  });
  if (ordered.status !== 200) throw new Error(`create_project: ${ordered.status} ${JSON.stringify(ordered.body)}`);
  return (ordered.body as { invoice: { id: string } }).invoice.id;
}

/** The client presses Pay: the attempt's order id. */
export async function payInvoice(api: TestApi, client: SignedIn, invoiceId: string): Promise<string> {
  const paying = await api.request("/rpc/pay_invoice", {
    method: "POST",
    body: JSON.stringify({ invoice_id: invoiceId }),
    token: client.token,
  });
  if (paying.status !== 200) throw new Error(`pay_invoice: ${paying.status} ${JSON.stringify(paying.body)}`);
  return (paying.body as { midtrans_order_id: string }).midtrans_order_id;
}

export async function orderAndPay(api: TestApi, client: SignedIn): Promise<{ invoiceId: string; orderId: string }> {
  const invoiceId = await orderProject(api, client);
  return { invoiceId, orderId: await payInvoice(api, client, invoiceId) };
}

export type InvoiceRow = { status: string; qris_url: string | null };

export const invoiceRow = async (db: TestDatabase, id: string): Promise<InvoiceRow> =>
  (await db.query<InvoiceRow>("select status::text, qris_url from api.invoices where id = $1", [id]))[0]!;

export const waitForQr = (db: TestDatabase, invoiceId: string, timeoutMs = 20_000) =>
  until(
    "the QR on the invoice",
    async () => ((await invoiceRow(db, invoiceId)).qris_url ? true : undefined),
    timeoutMs,
  );

export const waitForStatus = (db: TestDatabase, invoiceId: string, status: string, timeoutMs = 20_000) =>
  until(
    `invoice ${invoiceId} ${status}`,
    async () => ((await invoiceRow(db, invoiceId)).status === status ? true : undefined),
    timeoutMs,
  );

/** What the every-minute schedule does once the waiting times have passed. */
export async function reconcileNow(db: TestDatabase): Promise<number> {
  const rows = await db.query<{ queued: number }>(
    "select app_hidden.queue_payment_reconciliation(interval '0', interval '0') as queued",
  );
  return rows[0]!.queued;
}

const INVOICE_STATUS_OF: Record<string, string> = {
  pending: "pending",
  settlement: "paid",
  expire: "expired",
  cancel: "cancelled",
  deny: "failed",
  failure: "failed",
};

/**
 * Midtrans (the simulator) and the database agree on these invoices: one
 * Midtrans transaction per payment attempt that the database recorded as
 * charged (same transaction id, no transaction for an order id we do not
 * have), at most one settled transaction per invoice, each invoice's status
 * the one its current attempt has at Midtrans, exactly one PAYMENT_SUCCESS
 * per paid invoice (none otherwise), one PAYMENT_INIT per charged current
 * attempt, and one "Pembayaran diterima" notification per paid invoice.
 */
export async function expectMidtransAndDatabaseAgree(
  db: TestDatabase,
  simulator: RunningSimulator,
  invoiceIds: string[],
): Promise<void> {
  const transactions = (await transactionsOf(simulator)).map((t) => ({
    order_id: String(t.order_id),
    transaction_id: String(t.transaction_id),
    transaction_status: String(t.transaction_status),
  }));
  for (const invoiceId of invoiceIds) {
    const attempts = await db.query<{ order_id: string; midtrans_transaction_id: string | null }>(
      "select order_id, midtrans_transaction_id from api.payment_attempts where invoice_id = $1 order by created_at",
      [invoiceId],
    );
    const orderIds = attempts.map((a) => a.order_id);
    const prefix = orderIds[0]?.replace(/-\d+$/, "");
    const atMidtrans = transactions.filter((t) => orderIds.includes(t.order_id));
    // Nothing at Midtrans under this invoice's order ids that we do not know of.
    expect(
      transactions.filter((t) => prefix && t.order_id.startsWith(prefix) && !orderIds.includes(t.order_id)),
    ).toEqual([]);
    for (const attempt of attempts) {
      const mine = atMidtrans.filter((t) => t.order_id === attempt.order_id);
      expect({ order: attempt.order_id, transactions: mine.length }).toEqual({
        order: attempt.order_id,
        transactions: attempt.midtrans_transaction_id ? 1 : 0,
      });
      if (attempt.midtrans_transaction_id) expect(mine[0]!.transaction_id).toBe(attempt.midtrans_transaction_id);
    }
    expect(atMidtrans.filter((t) => t.transaction_status === "settlement").length).toBeLessThanOrEqual(1);

    const invoice = (
      await db.query<{ status: string; midtrans_order_id: string; user_id: string }>(
        `select i.status::text, i.midtrans_order_id, p.user_id
           from api.invoices i join api.projects p on p.id = i.project_id where i.id = $1`,
        [invoiceId],
      )
    )[0]!;
    const current = atMidtrans.find((t) => t.order_id === invoice.midtrans_order_id);
    expect({ invoiceId, status: invoice.status }).toEqual({
      invoiceId,
      status: current ? INVOICE_STATUS_OF[current.transaction_status] : "pending",
    });
    const audit = await db.query<{ action: string; n: number }>(
      `select action::text, count(*)::int as n from api.audit_logs
        where resource = 'invoices' and resource_id = $1 and action::text like 'PAYMENT%' group by action order by action`,
      [invoiceId],
    );
    const count = (action: string) => audit.find((a) => a.action === action)?.n ?? 0;
    expect({ invoiceId, success: count("PAYMENT_SUCCESS") }).toEqual({
      invoiceId,
      success: invoice.status === "paid" ? 1 : 0,
    });
    expect({ invoiceId, init: count("PAYMENT_INIT") }).toEqual({
      invoiceId,
      init: attempts.filter((a) => a.midtrans_transaction_id).length,
    });
    const received = await db.query<{ n: number }>(
      `select count(*)::int as n from api.real_time_notifications
        where user_id = $1 and title = 'Pembayaran diterima' and payload ->> 'invoice_id' = $2`,
      [invoice.user_id, invoiceId],
    );
    expect({ invoiceId, received: received[0]!.n }).toEqual({ invoiceId, received: invoice.status === "paid" ? 1 : 0 });
  }
}
