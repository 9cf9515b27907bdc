/**
 * Midtrans' HTTP notification, as Midtrans sends it (POST, JSON body, no
 * token, no custom header), through the real PostgREST: every notification
 * is recorded; signature_key is checked over the payload's exact strings; a
 * genuine one about one of our orders queues one confirmation by the worker
 * (the status API decides), and no notification moves an invoice by itself.
 */
import crypto from "node:crypto";
import { startApi, type TestApi } from "../helpers/api";
import { registerClient, type SignedIn } from "../helpers/auth";
import { createSeededDatabase, type TestDatabase } from "../helpers/database";
import { TEST_MIDTRANS_SERVER_KEY } from "../setup/cluster";

let db: TestDatabase;
let api: TestApi;
let alice: SignedIn;

/** signature_key as Midtrans computes it: sha512(order_id + status_code + gross_amount + server key), hex. */
const sign = (orderId: string, statusCode: string, grossAmount: string, key = TEST_MIDTRANS_SERVER_KEY) =>
  crypto
    .createHash("sha512")
    .update(orderId + statusCode + grossAmount + key)
    .digest("hex");

function notification(orderId: string, status: "pending" | "settlement" | "expire", grossAmount = "2500000.00") {
  const statusCode = { pending: "201", settlement: "200", expire: "202" }[status];
  return {
    transaction_time: "2026-11-28 10:00:00",
    transaction_status: status,
    transaction_id: crypto.randomUUID(),
    status_message: "midtrans payment notification",
    status_code: statusCode,
    signature_key: sign(orderId, statusCode, grossAmount),
    payment_type: "qris",
    order_id: orderId,
    merchant_id: "G000000000",
    gross_amount: grossAmount,
    fraud_status: "accept",
    currency: "IDR",
    acquirer: "gopay",
  };
}

/** POSTs like Midtrans: JSON, its user agent, no Authorization. */
const deliver = (body: unknown) =>
  api.request("/rpc/midtrans_notification", {
    method: "POST",
    body: typeof body === "string" ? body : JSON.stringify(body),
    headers: { "user-agent": "Veritrans", accept: "application/json" },
  });

const confirmationJobs = (orderId: string) =>
  db.query<{ key: string; order_id: string }>(
    `select j.key, j.payload ->> 'order_id' as order_id from graphile_worker._private_jobs j
       join graphile_worker._private_tasks t on t.id = j.task_id
      where t.identifier = 'invoices__confirm_payment' and j.payload ->> 'order_id' = $1`,
    [orderId],
  );

const recorded = (orderId: string) =>
  db.query<{ transaction_status: string; signature_valid: boolean }>(
    "select transaction_status, signature_valid from api.payment_notifications where order_id = $1 order by received_at, id",
    [orderId],
  );

/** An invoice of alice's, paid with pay_invoice: its order id. */
async function pendingOrder(): Promise<{ invoiceId: string; orderId: string }> {
  const order = await api.request("/rpc/create_project", {
    method: "POST",
    body: JSON.stringify({ name: "Situs Notifikasi", type: "company" }),
    token: alice.token,
  });
  const invoiceId = (order.body as { invoice: { id: string } }).invoice.id;
  const paid = await api.request("/rpc/pay_invoice", {
    method: "POST",
    body: JSON.stringify({ invoice_id: invoiceId }),
    token: alice.token,
  });
  return { invoiceId, orderId: (paid.body as { midtrans_order_id: string }).midtrans_order_id };
}

beforeAll(async () => {
  db = await createSeededDatabase();
  api = await startApi(db);
  alice = await registerClient(api);
});

afterAll(async () => {
  await api?.stop();
  await db?.drop();
});

describe("POST /rpc/midtrans_notification", () => {
  test("accepts the Midtrans documentation's signature test vector (an order that is not ours: recorded, nothing queued)", async () => {
    const body = {
      order_id: "order-123",
      status_code: "200",
      gross_amount: "275000.00",
      transaction_status: "settlement",
      signature_key:
        "094f98ceda3041fc5666c9d1e05587bc1c5a5261481784c155b22c71a2a726aa99d3a57d8701dd4996b84fb2ba01ae869ebcaabf5295254e95347a06c7fcaad6",
    };
    const { status, body: answer } = await deliver(body);
    expect({ status, answer }).toEqual({ status: 200, answer: { status: "ok" } });
    expect(await recorded("order-123")).toEqual([{ transaction_status: "settlement", signature_valid: true }]);
    expect(await confirmationJobs("order-123")).toEqual([]);
  });

  test("a genuine notification of our order queues one confirmation and leaves the invoice to it; duplicates and out-of-order ones add none", async () => {
    const { invoiceId, orderId } = await pendingOrder();
    for (const status of ["settlement", "settlement", "pending"] as const) {
      const { status: http, body } = await deliver(notification(orderId, status));
      expect({ http, body }).toEqual({ http: 200, body: { status: "ok" } });
    }
    expect(await confirmationJobs(orderId)).toEqual([
      { key: `invoices__confirm_payment:${orderId}`, order_id: orderId },
    ]);
    expect(await recorded(orderId)).toEqual([
      { transaction_status: "settlement", signature_valid: true },
      { transaction_status: "settlement", signature_valid: true },
      { transaction_status: "pending", signature_valid: true },
    ]);
    // Only the worker's confirmation through the status API moves an invoice.
    expect(await db.query("select status, paid_at from api.invoices where id = $1", [invoiceId])).toEqual([
      { status: "pending", paid_at: null },
    ]);
  });

  test.each([
    [
      "a forged signature",
      (n: ReturnType<typeof notification>) => ({
        ...n,
        signature_key: sign(n.order_id, n.status_code, n.gross_amount, "SB-Mid-server-WRONG"),
      }),
    ],
    ["no signature", (n: ReturnType<typeof notification>) => ({ ...n, signature_key: undefined })],
    [
      "a signature over another amount string",
      (n: ReturnType<typeof notification>) => ({ ...n, gross_amount: "2500000" }),
    ],
    [
      "a settlement signed as pending",
      (n: ReturnType<typeof notification>) => ({
        ...n,
        status_code: "200",
        signature_key: sign(n.order_id, "201", n.gross_amount),
      }),
    ],
  ])("refuses %s with 401 INVALID_SIGNATURE, records it, queues nothing", async (_what, tamper) => {
    const { invoiceId, orderId } = await pendingOrder();
    const { status, body } = await deliver(tamper(notification(orderId, "settlement")));
    expect(status).toBe(401);
    expect(body).toEqual(expect.objectContaining({ code: "INVALID_SIGNATURE" }));
    expect(await recorded(orderId)).toEqual([{ transaction_status: "settlement", signature_valid: false }]);
    expect(await confirmationJobs(orderId)).toEqual([]);
    expect(await db.query("select status from api.invoices where id = $1", [invoiceId])).toEqual([
      { status: "pending" },
    ]);
  });

  test("a body that is not a JSON object: 400 (an array: ARRAY_BODY_NOT_ALLOWED from the API edge; not JSON: PGRST102), nothing recorded", async () => {
    const before = await db.query("select count(*)::int as n from api.payment_notifications");
    const array = await deliver([notification("JW-x-1", "settlement")]);
    expect({ status: array.status, code: (array.body as { code: string }).code }).toEqual({
      status: 400,
      code: "ARRAY_BODY_NOT_ALLOWED",
    });
    // Past the edge, the function itself refuses an array (INVALID_INPUT).
    const direct = await fetch(`${api.postgrestUrl}/rpc/midtrans_notification`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify([notification("JW-x-1", "settlement")]),
    });
    expect([direct.status, ((await direct.json()) as { code: string }).code]).toEqual([400, "INVALID_INPUT"]);
    const broken = await deliver("{not json");
    expect({ status: broken.status, code: (broken.body as { code: string }).code }).toEqual({
      status: 400,
      code: "PGRST102",
    });
    expect(await db.query("select count(*)::int as n from api.payment_notifications")).toEqual(before);
  });

  test("GET is not a way in (404 PGRST202: the body is the only argument), and without a server key the endpoint says so (503 SERVER_MISCONFIGURED)", async () => {
    const get = await api.request("/rpc/midtrans_notification");
    expect({ status: get.status, code: (get.body as { code: string }).code }).toEqual({
      status: 404,
      code: "PGRST202",
    });
    await db.query("delete from app_private.settings where name = 'midtrans_server_key'");
    try {
      const { status, body } = await deliver(notification("JW-y-1", "settlement"));
      expect({ status, code: (body as { code: string }).code }).toEqual({ status: 503, code: "SERVER_MISCONFIGURED" });
    } finally {
      await db.query("insert into app_private.settings (name, value) values ('midtrans_server_key', $1)", [
        TEST_MIDTRANS_SERVER_KEY,
      ]);
    }
  });
});
