/**
 * Payment faults with every real part (database, PostgREST, workers as
 * app_worker, the Midtrans simulator): workers racing for the same invoice,
 * duplicate, late and out-of-order notifications, a forged signature. Each
 * ends with the simulator's transactions and the database agreeing.
 */
import crypto from "node:crypto";
import { Logger } from "@graphile/logger";
import { Client } from "pg";
import type { RunningSimulator } from "../../simulator";
import { startWorker, type WorkerRunner } from "../../worker/runner";
import { startApi, type TestApi } from "../helpers/api";
import { registerClient, type SignedIn } from "../helpers/auth";
import { createSeededDatabase, type TestDatabase } from "../helpers/database";
import {
  expectMidtransAndDatabaseAgree,
  invoiceRow,
  orderAndPay,
  payInvoice,
  reconcileNow,
  simulatorPayments,
  until,
  waitForQr,
  waitForStatus,
} from "../helpers/payments";
import { simulate, startTestSimulator, transactionsOf, transactionView } from "../helpers/simulator";
import { TEST_MIDTRANS_SERVER_KEY } from "../setup/cluster";

let db: TestDatabase;
let api: TestApi;
let simulator: RunningSimulator;
let client: SignedIn;
const workers: WorkerRunner[] = [];

const newWorker = async () => {
  const worker = await startWorker(db.connections.worker, {
    pollInterval: 100,
    payments: simulatorPayments(simulator),
    logger: new Logger(() => () => undefined),
  });
  workers.push(worker);
  return worker;
};

beforeAll(async () => {
  db = await createSeededDatabase();
  api = await startApi(db);
  simulator = await startTestSimulator({
    serverKey: TEST_MIDTRANS_SERVER_KEY,
    notificationUrl: `${api.url}/rpc/midtrans_notification`,
  });
  client = await registerClient(api);
});

afterEach(async () => {
  for (const worker of workers.splice(0)) await worker.stopWithin(2_000);
  await simulate(simulator, "DELETE", "/simulate/faults");
});

afterAll(async () => {
  await simulator?.stop();
  await api?.stop();
  await db?.drop();
});

/** Jobs of the payment tasks for this order still queued or running. */
const paymentJobs = (orderId: string) =>
  db.query<{ n: number }>(
    `select count(*)::int as n from graphile_worker._private_jobs j
       join graphile_worker._private_tasks t on t.id = j.task_id
      where (t.identifier = 'invoices__confirm_payment' and j.payload ->> 'order_id' = $1)
         or (t.identifier = 'invoices__create_qris_payment' and j.payload ->> 'attempt_id' =
             (select id::text from api.payment_attempts where order_id = $1))`,
    [orderId],
  );
const settled = (orderId: string) =>
  until("no payment job left", async () => ((await paymentJobs(orderId))[0]!.n === 0 ? true : undefined));

/** Every notification of the order delivered (or given up on) by the simulator. */
const notificationsDone = (orderId: string, count: number) =>
  until(`${count} notifications of ${orderId} delivered`, async () => {
    const tx = await transactionView(simulator, orderId);
    const done = tx.notifications.filter((n) => n.deliveries.some((d) => d.outcome === "delivered"));
    return done.length >= count ? tx : undefined;
  });

test("two workers race for one invoice: repeated Pay and reconciliation's duplicate jobs make one charge and one payment", async () => {
  await newWorker();
  await newWorker();
  // A slow Midtrans: the first charge is still running while the rest happens.
  await simulate(simulator, "POST", "/simulate/faults", { latency: { ms: 1_500, path: "/v2/charge" } });
  const { invoiceId, orderId } = await orderAndPay(api, client);
  // Double clicks while the charge runs: the same attempt every time.
  for (let i = 0; i < 4; i++) expect(await payInvoice(api, client, invoiceId)).toBe(orderId);
  // Reconciliation finds the attempt uncharged and queues the charge again
  // beside the running job, three times: the other worker runs them.
  for (let i = 0; i < 3; i++) {
    expect(await reconcileNow(db)).toBe(1);
    await new Promise((r) => setTimeout(r, 200));
  }
  await waitForQr(db, invoiceId);
  await settled(orderId);
  expect(
    await db.query("select count(*)::int as n from api.payment_attempts where invoice_id = $1", [invoiceId]),
  ).toEqual([{ n: 1 }]);
  expect((await transactionsOf(simulator)).filter((t) => t.order_id === orderId)).toHaveLength(1);

  await simulate(simulator, "DELETE", "/simulate/faults");
  expect((await simulate(simulator, "POST", `/simulate/pay/${orderId}`)).status).toBe(200);
  await waitForStatus(db, invoiceId, "paid");
  // Reconciliation of a paid invoice queues nothing more.
  expect(await reconcileNow(db)).toBe(0);
  await settled(orderId);
  await expectMidtransAndDatabaseAgree(db, simulator, [invoiceId]);
});

test("two runs recording the same charge at the same moment: one PAYMENT_INIT, one QR notification", async () => {
  // No worker: the two runs are two app_worker transactions, interleaved by hand.
  const { invoiceId, orderId } = await orderAndPay(api, client);
  const attempt = (
    await db.query<{ id: string }>("select id from api.payment_attempts where order_id = $1", [orderId])
  )[0]!;
  const first = new Client({ connectionString: db.connections.worker });
  const second = new Client({ connectionString: db.connections.worker });
  await first.connect();
  await second.connect();
  try {
    const record = (c: Client) =>
      c.query(
        "select app_hidden.record_qris_charge($1, 'tx-race', 'https://example.test/qr.png', now() + interval '15 minutes')",
        [attempt.id],
      );
    await first.query("begin");
    await second.query("begin");
    await record(first);
    // The second run starts while the first has not committed: it waits for the invoice's lock.
    const secondRun = record(second);
    await new Promise((r) => setTimeout(r, 300));
    await first.query("commit");
    const { rows } = await secondRun;
    await second.query("commit");
    expect(rows[0].record_qris_charge).toBe(false);
  } finally {
    await first.end();
    await second.end();
  }
  expect(
    await db.query(
      "select action::text, count(*)::int as n from api.audit_logs where resource_id = $1 and action::text like 'PAYMENT%' group by action",
      [invoiceId],
    ),
  ).toEqual([{ action: "PAYMENT_INIT", n: 1 }]);
  expect(
    await db.query(
      "select count(*)::int as n from api.real_time_notifications where title = 'QRIS siap dibayar' and payload ->> 'invoice_id' = $1",
      [invoiceId],
    ),
  ).toEqual([{ n: 1 }]);
});

test("duplicate and out-of-order notifications (pending after settlement): paid once, one set of notifications", async () => {
  await newWorker();
  await simulate(simulator, "POST", "/simulate/faults", { notifications: { duplicate: true, outOfOrder: true } });
  const { invoiceId, orderId } = await orderAndPay(api, client);
  await waitForQr(db, invoiceId);
  expect((await simulate(simulator, "POST", `/simulate/pay/${orderId}`)).status).toBe(200);
  await waitForStatus(db, invoiceId, "paid");
  // pending and settlement, each delivered twice; pending after settlement.
  await notificationsDone(orderId, 2);
  const received = await until("four notifications recorded", async () => {
    const rows = await db.query<{ transaction_status: string }>(
      "select transaction_status from api.payment_notifications where order_id = $1 order by received_at, id",
      [orderId],
    );
    return rows.length >= 4 ? rows : undefined;
  });
  const statuses = received.map((r) => r.transaction_status);
  expect(statuses[0]).toBe("settlement");
  expect([...statuses].sort()).toEqual(["pending", "pending", "settlement", "settlement"]);
  await settled(orderId);
  expect((await invoiceRow(db, invoiceId)).status).toBe("paid");
  await expectMidtransAndDatabaseAgree(db, simulator, [invoiceId]);
});

test("a late notification (delayed past the payment's confirmation) changes nothing", async () => {
  await newWorker();
  const { invoiceId, orderId } = await orderAndPay(api, client);
  await waitForQr(db, invoiceId);
  // The settlement notification is late: reconciliation confirms first.
  await simulate(simulator, "POST", "/simulate/faults", { notifications: { delayMs: 2_000 } });
  expect((await simulate(simulator, "POST", `/simulate/pay/${orderId}`)).status).toBe(200);
  await reconcileNow(db);
  await waitForStatus(db, invoiceId, "paid", 1_900);
  await until("the late settlement notification recorded", async () => {
    const rows = await db.query(
      "select 1 from api.payment_notifications where order_id = $1 and transaction_status = 'settlement'",
      [orderId],
    );
    return rows.length ? true : undefined;
  });
  await settled(orderId);
  await expectMidtransAndDatabaseAgree(db, simulator, [invoiceId]);
});

test("a forged notification (wrong signature) is refused with 401, recorded as invalid, and changes nothing", async () => {
  await newWorker();
  const { invoiceId, orderId } = await orderAndPay(api, client);
  await waitForQr(db, invoiceId);
  const tx = await transactionView(simulator, orderId);
  const grossAmount = String(tx.gross_amount);
  const forged = {
    transaction_time: String(tx.transaction_time),
    transaction_status: "settlement",
    transaction_id: String(tx.transaction_id),
    status_message: "midtrans payment notification",
    status_code: "200",
    // Signed with a key that is not ours.
    signature_key: crypto
      .createHash("sha512")
      .update(`${orderId}200${grossAmount}SB-Mid-server-NOT-OUR-KEY`)
      .digest("hex"),
    payment_type: "qris",
    order_id: orderId,
    merchant_id: String(tx.merchant_id),
    gross_amount: grossAmount,
    fraud_status: "accept",
    currency: "IDR",
  };
  const answer = await api.request("/rpc/midtrans_notification", {
    method: "POST",
    body: JSON.stringify(forged),
    headers: { "user-agent": "Veritrans" },
  });
  expect(answer.status).toBe(401);
  expect((answer.body as { code: string }).code).toBe("INVALID_SIGNATURE");
  expect(
    await db.query(
      "select transaction_status, signature_valid from api.payment_notifications where order_id = $1 order by received_at",
      [orderId],
    ),
  ).toEqual(expect.arrayContaining([{ transaction_status: "settlement", signature_valid: false }]));
  await new Promise((r) => setTimeout(r, 1_000));
  await settled(orderId);
  expect((await invoiceRow(db, invoiceId)).status).toBe("pending");
  expect((await transactionView(simulator, orderId)).transaction_status).toBe("pending");
  await expectMidtransAndDatabaseAgree(db, simulator, [invoiceId]);
});
