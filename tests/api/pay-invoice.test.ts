/**
 * Paying an invoice through the real PostgREST (the database half of the
 * payment flow): pay_invoice answers at once with the invoice, pending,
 * records a payment attempt with its own Midtrans order id, and queues the
 * charge for the worker in the same transaction. Double clicks make one
 * attempt and one job; paid, refunded and cancelled invoices are refused; an
 * invoice whose QR expired or whose payment failed is charged again.
 */
import { startApi, type TestApi } from "../helpers/api";
import { createAdmin, registerClient, type SignedIn } from "../helpers/auth";
import { createSeededDatabase, type TestDatabase } from "../helpers/database";

let db: TestDatabase;
let api: TestApi;
let alice: SignedIn;
let bob: SignedIn;
let admin: SignedIn;

type Invoice = {
  id: string;
  status: string;
  amount: number;
  midtrans_order_id: string | null;
  qris_url: string | null;
};

const rpc = (name: string, body: unknown, token?: string) =>
  api.request(`/rpc/${name}`, { method: "POST", body: JSON.stringify(body), token });

async function newInvoice(who: SignedIn): Promise<Invoice> {
  const { status, body } = await rpc("create_project", { name: "Situs Bayar", type: "company" }, who.token);
  if (status !== 200) throw new Error(`create_project: ${status} ${JSON.stringify(body)}`);
  return (body as { invoice: Invoice }).invoice;
}

const attemptsOf = (invoiceId: string) =>
  db.query<{ order_id: string; amount: number }>(
    "select order_id, amount::float8 as amount from api.payment_attempts where invoice_id = $1 order by created_at",
    [invoiceId],
  );

const chargeJobsOf = (invoiceId: string) =>
  db.query<{ key: string; attempt_id: string }>(
    // graphile-worker 0.17's public jobs view has no payload: read its table.
    `select j.key, j.payload ->> 'attempt_id' as attempt_id
       from graphile_worker._private_jobs j
       join graphile_worker._private_tasks t on t.id = j.task_id
       join api.payment_attempts a on a.id::text = j.payload ->> 'attempt_id'
      where t.identifier = 'invoices__create_qris_payment' and a.invoice_id = $1 order by a.created_at`,
    [invoiceId],
  );

/** Moves an invoice along its life cycle as the worker would. */
const setStatus = (invoiceId: string, ...statuses: string[]) =>
  statuses.reduce(
    (done, status) =>
      done.then(() =>
        db.query(
          "update api.invoices set status = $2::api.invoice_status, paid_at = case when $2::text = 'paid' then now() else paid_at end where id = $1",
          [invoiceId, status],
        ),
      ),
    Promise.resolve<unknown>(undefined),
  );

beforeAll(async () => {
  db = await createSeededDatabase();
  api = await startApi(db);
  [alice, bob] = [await registerClient(api), await registerClient(api)];
  admin = await createAdmin(api, db);
});

afterAll(async () => {
  await api?.stop();
  await db?.drop();
});

describe("pay_invoice", () => {
  test("answers at once with the pending invoice, records the attempt and queues one charge", async () => {
    const invoice = await newInvoice(alice);
    const { status, body } = await rpc("pay_invoice", { invoice_id: invoice.id }, alice.token);
    expect(status).toBe(200);
    const orderId = `JW-${invoice.id.replace(/-/g, "")}-1`;
    expect(body).toEqual(
      expect.objectContaining({
        id: invoice.id,
        status: "pending",
        midtrans_order_id: orderId,
        qris_url: null,
        qris_expires_at: null,
      }),
    );
    expect(await attemptsOf(invoice.id)).toEqual([{ order_id: orderId, amount: invoice.amount }]);
    expect(await chargeJobsOf(invoice.id)).toEqual([
      { key: `invoices__create_qris_payment:${orderId}`, attempt_id: expect.any(String) },
    ]);
    // The client sees its invoice pending through the API too.
    const mine = await api.request(`/invoices?id=eq.${invoice.id}&select=status,midtrans_order_id`, {
      token: alice.token,
    });
    expect(mine.body).toEqual([{ status: "pending", midtrans_order_id: orderId }]);
  });

  test("a double click (two concurrent calls, then a third) makes one attempt and one job", async () => {
    const invoice = await newInvoice(alice);
    const answers = await Promise.all([1, 2].map(() => rpc("pay_invoice", { invoice_id: invoice.id }, alice.token)));
    const third = await rpc("pay_invoice", { invoice_id: invoice.id }, alice.token);
    expect([...answers, third].map((a) => a.status)).toEqual([200, 200, 200]);
    expect(new Set([...answers, third].map((a) => (a.body as Invoice).midtrans_order_id)).size).toBe(1);
    expect(await attemptsOf(invoice.id)).toHaveLength(1);
    expect(await chargeJobsOf(invoice.id)).toHaveLength(1);
  });

  test("charges again, with a new order id, once the QR expired or the payment failed", async () => {
    const invoice = await newInvoice(alice);
    await rpc("pay_invoice", { invoice_id: invoice.id }, alice.token);
    // The QR of the first charge is past its expiry while the invoice is still pending.
    await db.query(
      "update api.invoices set qris_url = 'https://qr.example.id/1', qris_expires_at = now() - interval '1 minute' where id = $1",
      [invoice.id],
    );
    const again = await rpc("pay_invoice", { invoice_id: invoice.id }, alice.token);
    expect(again.body).toEqual(
      expect.objectContaining({
        status: "pending",
        midtrans_order_id: `JW-${invoice.id.replace(/-/g, "")}-2`,
        qris_url: null,
      }),
    );
    await setStatus(invoice.id, "failed");
    const third = await rpc("pay_invoice", { invoice_id: invoice.id }, alice.token);
    expect((third.body as Invoice).midtrans_order_id).toBe(`JW-${invoice.id.replace(/-/g, "")}-3`);
    expect((await attemptsOf(invoice.id)).map((a) => a.order_id.slice(-2))).toEqual(["-1", "-2", "-3"]);
    expect(await chargeJobsOf(invoice.id)).toHaveLength(3);
  });

  test.each([
    ["paid", ["pending", "paid"]],
    ["refunded", ["pending", "paid", "refunded"]],
    ["partial_refunded", ["pending", "paid", "partial_refunded"]],
    ["cancelled", ["cancelled"]],
  ])("refuses an invoice that is %s (409 INVOICE_NOT_PAYABLE) and queues nothing", async (final, path) => {
    const invoice = await newInvoice(alice);
    await setStatus(invoice.id, ...path);
    const { status, body } = await rpc("pay_invoice", { invoice_id: invoice.id }, alice.token);
    expect(status).toBe(409);
    expect(body).toEqual(expect.objectContaining({ code: "INVOICE_NOT_PAYABLE", details: `status ${final}` }));
    expect(await attemptsOf(invoice.id)).toEqual([]);
    expect(await chargeJobsOf(invoice.id)).toEqual([]);
  });

  test("another client's invoice, an admin paying a client's invoice and a missing one all answer 404 INVOICE_NOT_FOUND", async () => {
    const invoice = await newInvoice(alice);
    for (const [token, id] of [
      [bob.token, invoice.id],
      [admin.token, invoice.id],
      [alice.token, "00000000-0000-4000-8000-000000000000"],
    ] as const) {
      const { status, body } = await rpc("pay_invoice", { invoice_id: id }, token);
      expect({ status, code: (body as { code: string }).code }).toEqual({ status: 404, code: "INVOICE_NOT_FOUND" });
    }
    expect(await db.query("select status from api.invoices where id = $1", [invoice.id])).toEqual([
      { status: "unpaid" },
    ]);
  });

  test("bad calls: anonymous (401), no id (400 INVALID_INPUT), not a uuid (400 22P02), GET (405)", async () => {
    const invoice = await newInvoice(alice);
    expect((await rpc("pay_invoice", { invoice_id: invoice.id })).status).toBe(401);
    const missing = await rpc("pay_invoice", { invoice_id: null }, alice.token);
    expect({ status: missing.status, code: (missing.body as { code: string }).code }).toEqual({
      status: 400,
      code: "INVALID_INPUT",
    });
    const notUuid = await rpc("pay_invoice", { invoice_id: "bukan-uuid" }, alice.token);
    expect({ status: notUuid.status, code: (notUuid.body as { code: string }).code }).toEqual({
      status: 400,
      code: "22P02",
    });
    const get = await api.request(`/rpc/pay_invoice?invoice_id=${invoice.id}`, { token: alice.token });
    expect(get.status).toBe(405);
    expect(await attemptsOf(invoice.id)).toEqual([]);
  });

  test("counts new charges against a per-user limit (429 RATE_LIMITED), not repeats of a charge under way", async () => {
    const carol = await registerClient(api);
    await db.query("update app_private.rate_limits set max_count = 2 where action = 'pay_invoice'");
    try {
      const invoice = await newInvoice(carol);
      expect((await rpc("pay_invoice", { invoice_id: invoice.id }, carol.token)).status).toBe(200);
      expect((await rpc("pay_invoice", { invoice_id: invoice.id }, carol.token)).status).toBe(200); // under way: not counted
      await setStatus(invoice.id, "failed");
      expect((await rpc("pay_invoice", { invoice_id: invoice.id }, carol.token)).status).toBe(200);
      await setStatus(invoice.id, "failed");
      const limited = await rpc("pay_invoice", { invoice_id: invoice.id }, carol.token);
      expect({ status: limited.status, code: (limited.body as { code: string }).code }).toEqual({
        status: 429,
        code: "RATE_LIMITED",
      });
      expect(await attemptsOf(invoice.id)).toHaveLength(2);
    } finally {
      await db.query("update app_private.rate_limits set max_count = 30 where action = 'pay_invoice'");
    }
  });
});
