/**
 * The whole payment path with every real part: PostgreSQL, PostgREST, the
 * graphile-worker runner logged in as app_worker with its Midtrans gateway,
 * and the Midtrans simulator (which signs and delivers notifications to
 * PostgREST like Midtrans). register → create_project → pay_invoice → the
 * worker charges → QR stored → the payer pays → signed notification → the
 * worker confirms with the status API → invoice paid, project in_progress,
 * audit rows and notifications.
 */
import type { Runner } from "graphile-worker";
import { Logger } from "@graphile/logger";
import { startApi, type TestApi } from "../helpers/api";
import { registerClient, type SignedIn } from "../helpers/auth";
import { createSeededDatabase, type TestDatabase } from "../helpers/database";
import { simulate, startTestSimulator, transactionsOf } from "../helpers/simulator";
import { simulatorPayments, until } from "../helpers/payments";
import { TEST_MIDTRANS_SERVER_KEY } from "../setup/cluster";
import { startWorker } from "../../worker/runner";
import { withClient } from "../../db/pg";
import type { RunningSimulator } from "../../simulator";

let db: TestDatabase;
let api: TestApi;
let simulator: RunningSimulator;
let worker: Runner;
let client: SignedIn;

/** The worker as stack/worker.ts configures it, with the simulator as Midtrans. */
const workerOptions = () => ({
  pollInterval: 200,
  payments: simulatorPayments(simulator),
  logger: new Logger(() => () => undefined),
});

beforeAll(async () => {
  db = await createSeededDatabase();
  api = await startApi(db);
  simulator = await startTestSimulator({
    serverKey: TEST_MIDTRANS_SERVER_KEY,
    notificationUrl: `${api.url}/rpc/midtrans_notification`,
  });
  worker = await startWorker(db.connections.worker, workerOptions());
  client = await registerClient(api);
});

afterAll(async () => {
  await worker?.stop();
  await simulator?.stop();
  await api?.stop();
  await db?.drop();
});

test("a client orders, pays by QRIS, and sees the project start", async () => {
  const ordered = await api.request("/rpc/create_project", {
    method: "POST",
    body: JSON.stringify({ name: "Website SMA Negeri 3", type: "sekolah" }),
    token: client.token,
  });
  const invoiceId = (ordered.body as { invoice: { id: string } }).invoice.id;
  const projectId = (ordered.body as { project: { id: string } }).project.id;

  const paying = await api.request("/rpc/pay_invoice", {
    method: "POST",
    body: JSON.stringify({ invoice_id: invoiceId }),
    token: client.token,
  });
  expect(paying.status).toBe(200);
  const orderId = (paying.body as { midtrans_order_id: string }).midtrans_order_id;

  // The worker charges Midtrans; the client's invoice shows the QR.
  const withQr = await until("the QR on the invoice", async () => {
    const { body } = await api.request(`/invoices?id=eq.${invoiceId}&select=status,qris_url,qris_expires_at`, {
      token: client.token,
    });
    const row = (body as { status: string; qris_url: string | null; qris_expires_at: string | null }[])[0];
    return row?.qris_url ? row : undefined;
  });
  expect(withQr).toEqual({
    status: "pending",
    qris_url: expect.stringContaining(simulator.url),
    qris_expires_at: expect.any(String),
  });
  const qr = await fetch(withQr.qris_url!);
  expect([qr.status, qr.headers.get("content-type")]).toEqual([200, "image/png"]);
  expect((await transactionsOf(simulator)).filter((t) => t.order_id === orderId)).toHaveLength(1);

  // The payer scans and pays; Midtrans notifies; the worker confirms.
  expect((await simulate(simulator, "POST", `/simulate/pay/${orderId}`)).status).toBe(200);
  await until("the paid invoice", async () => {
    const rows = await db.query<{ status: string }>("select status from api.invoices where id = $1", [invoiceId]);
    return rows[0]?.status === "paid" ? true : undefined;
  });
  expect(await db.query("select status from api.projects where id = $1", [projectId])).toEqual([
    { status: "in_progress" },
  ]);
  expect(
    await db.query(
      "select action from api.audit_logs where resource = 'invoices' and resource_id = $1 and action::text like 'PAYMENT%' order by timestamp",
      [invoiceId],
    ),
  ).toEqual([{ action: "PAYMENT_INIT" }, { action: "PAYMENT_SUCCESS" }]);
  const notifications = await api.request("/real_time_notifications?select=title&order=created_at", {
    token: client.token,
  });
  expect(notifications.body).toEqual(
    expect.arrayContaining([{ title: "QRIS siap dibayar" }, { title: "Pembayaran diterima" }]),
  );
  // Every notification the simulator sent was accepted with a valid signature.
  expect(
    await db.query(
      "select bool_and(signature_valid) as valid, count(*) > 0 as some from api.payment_notifications where order_id = $1",
      [orderId],
    ),
  ).toEqual([{ valid: true, some: true }]);
});

/** A pending invoice of a new order, charged by the worker: its ids. */
async function orderAndPay(): Promise<{ invoiceId: string; orderId: string }> {
  const ordered = await api.request("/rpc/create_project", {
    method: "POST",
    body: JSON.stringify({ name: "Portal Berita Desa", type: "berita" }),
    token: client.token,
  });
  const invoiceId = (ordered.body as { invoice: { id: string } }).invoice.id;
  const paying = await api.request("/rpc/pay_invoice", {
    method: "POST",
    body: JSON.stringify({ invoice_id: invoiceId }),
    token: client.token,
  });
  return { invoiceId, orderId: (paying.body as { midtrans_order_id: string }).midtrans_order_id };
}

const invoiceStatus = async (id: string) =>
  (
    await db.query<{ status: string; qris_url: string | null }>(
      "select status, qris_url from api.invoices where id = $1",
      [id],
    )
  )[0]!;

/** What the every-minute schedule does once the waiting time has passed. */
const reconcileNow = () =>
  withClient(db.connections.worker, (w) =>
    w.query("select app_hidden.queue_payment_reconciliation(interval '0', interval '0')"),
  );

test("a lost notification is recovered by reconciliation: the status API says settled, the invoice is paid", async () => {
  const { invoiceId, orderId } = await orderAndPay();
  await until("the QR", async () => ((await invoiceStatus(invoiceId)).qris_url ? true : undefined));
  // Every notification of the payment is lost on the way.
  expect((await simulate(simulator, "POST", "/simulate/faults", { notifications: { dropNext: 10 } })).status).toBe(200);
  try {
    expect((await simulate(simulator, "POST", `/simulate/pay/${orderId}`)).status).toBe(200);
    await new Promise((r) => setTimeout(r, 1_000));
    expect((await invoiceStatus(invoiceId)).status).toBe("pending");
    await reconcileNow();
    await until("the paid invoice", async () =>
      (await invoiceStatus(invoiceId)).status === "paid" ? true : undefined,
    );
    // No settlement notification ever arrived: the status API told.
    expect(
      await db.query(
        "select count(*)::int as n from api.payment_notifications where order_id = $1 and transaction_status = 'settlement'",
        [orderId],
      ),
    ).toEqual([{ n: 0 }]);
  } finally {
    await simulate(simulator, "DELETE", "/simulate/faults");
  }
});

test("a charge job held by a dead worker is charged again by reconciliation, once", async () => {
  // The worker that took the job was killed: the job stays locked for hours.
  await worker.stop();
  const { invoiceId, orderId } = await orderAndPay();
  await db.query(
    `update graphile_worker._private_jobs set locked_at = now(), locked_by = 'worker-killed-with-sigkill'
      where key = $1`,
    [`invoices__create_qris_payment:${orderId}`],
  );
  worker = await startWorker(db.connections.worker, workerOptions());
  await new Promise((r) => setTimeout(r, 1_000));
  expect((await invoiceStatus(invoiceId)).qris_url).toBeNull();
  await reconcileNow();
  await until("the QR", async () => ((await invoiceStatus(invoiceId)).qris_url ? true : undefined));
  expect((await transactionsOf(simulator)).filter((t) => t.order_id === orderId)).toHaveLength(1);
});
