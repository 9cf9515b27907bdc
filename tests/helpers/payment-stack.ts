/**
 * Every real part of a payment, for tests over HTTP: a database of its own,
 * PostgREST, the Midtrans simulator (delivering signed notifications to
 * PostgREST like Midtrans) and the worker logged in as app_worker with its
 * Midtrans gateway pointed at the simulator. Plus the steps most payment
 * tests start from: an order, a charged invoice, a paid invoice.
 */
import type { Runner } from "graphile-worker";
import { Logger } from "@graphile/logger";
import { startApi, type TestApi } from "./api";
import { createAdmin, registerClient, type SignedIn } from "./auth";
import { createSeededDatabase, type TestDatabase } from "./database";
import { simulatorPayments, until } from "./payments";
import { simulate, startTestSimulator, transactionView, type TransactionView } from "./simulator";
import { TEST_MIDTRANS_SERVER_KEY } from "../setup/cluster";
import { startWorker } from "../../worker/runner";
import type { RunningSimulator } from "../../simulator";

export type PaymentStack = {
  db: TestDatabase;
  api: TestApi;
  simulator: RunningSimulator;
  worker: Runner;
  client: SignedIn;
  admin: SignedIn;
  stop(): Promise<void>;
};

export async function startPaymentStack(): Promise<PaymentStack> {
  const db = await createSeededDatabase();
  const api = await startApi(db);
  const simulator = await startTestSimulator({
    serverKey: TEST_MIDTRANS_SERVER_KEY,
    notificationUrl: `${api.url}/rpc/midtrans_notification`,
  });
  const worker = await startWorker(db.connections.worker, {
    pollInterval: 200,
    payments: simulatorPayments(simulator, { MIDTRANS_RETRY_BASE_DELAY_MS: "100" }),
    logger: new Logger(() => () => undefined),
  });
  const client = await registerClient(api);
  const admin = await createAdmin(api, db);
  return {
    db,
    api,
    simulator,
    worker,
    client,
    admin,
    async stop() {
      await worker.stop();
      await simulator.stop();
      await api.stop();
      await db.drop();
    },
  };
}

/** POST /rpc/<name> with a JSON body. */
export const rpc = (stack: PaymentStack, name: string, body: unknown, token: string) =>
  stack.api.request(`/rpc/${name}`, { method: "POST", body: JSON.stringify(body), token });

export type InvoiceRow = {
  id: string;
  status: string;
  amount: string;
  midtrans_order_id: string | null;
  qris_url: string | null;
  qris_expires_at: Date | null;
};

export const invoiceRow = async (stack: PaymentStack, id: string): Promise<InvoiceRow> =>
  (
    await stack.db.query<InvoiceRow>(
      "select id, status, amount::text as amount, midtrans_order_id, qris_url, qris_expires_at from api.invoices where id = $1",
      [id],
    )
  )[0]!;

/** Polls until the invoice has `status`. */
export const untilInvoiceStatus = (stack: PaymentStack, id: string, status: string) =>
  until(`invoice ${status}`, async () => {
    const row = await invoiceRow(stack, id);
    return row.status === status ? row : undefined;
  });

/** A new order of the client: its unpaid invoice's id. */
export async function orderProject(stack: PaymentStack, type = "company"): Promise<string> {
  const ordered = await rpc(stack, "create_project", { name: `Situs ${type} uji`, type }, stack.client.token);
  if (ordered.status !== 200) throw new Error(`create_project: ${ordered.status} ${JSON.stringify(ordered.body)}`);
  return (ordered.body as { invoice: { id: string } }).invoice.id;
}

/** pay_invoice, then wait for the worker's charge: the invoice pending with its QR. */
export async function chargedInvoice(stack: PaymentStack, invoiceId?: string): Promise<InvoiceRow> {
  const id = invoiceId ?? (await orderProject(stack));
  const paying = await rpc(stack, "pay_invoice", { invoice_id: id }, stack.client.token);
  if (paying.status !== 200) throw new Error(`pay_invoice: ${paying.status} ${JSON.stringify(paying.body)}`);
  return until("the QR on the invoice", async () => {
    const row = await invoiceRow(stack, id);
    return row.qris_url ? row : undefined;
  });
}

/** A charged invoice that the payer paid at the simulator and the worker confirmed. */
export async function paidInvoice(stack: PaymentStack): Promise<InvoiceRow> {
  const charged = await chargedInvoice(stack);
  const paid = await simulate(stack.simulator, "POST", `/simulate/pay/${charged.midtrans_order_id}`);
  if (paid.status !== 200) throw new Error(`/simulate/pay: ${paid.status} ${JSON.stringify(paid.body)}`);
  return untilInvoiceStatus(stack, charged.id, "paid");
}

/** The simulator's view of an order's transaction (as GET status shows it). */
export const midtransTransaction = (stack: PaymentStack, orderId: string): Promise<TransactionView> =>
  transactionView(stack.simulator, orderId);
