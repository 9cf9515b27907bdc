/**
 * What the worker writes after talking to Midtrans, run with the worker's
 * real login (app_worker): recording a QRIS charge, and applying a status
 * that the status API confirmed. Both are idempotent (jobs run at least
 * once), and stale, duplicate or out-of-order statuses change nothing.
 */
import type { ClientBase } from "pg";
import { withClient } from "../../db/pg";
import { createMigratedDatabase, type TestDatabase } from "../helpers/database";
import { asRole } from "../helpers/roles";

let db: TestDatabase;
let clientId: string;
let adminId: string;

const asWorker = <T>(fn: (worker: ClientBase) => Promise<T>) => withClient(db.connections.worker, fn);

async function order(): Promise<{ invoiceId: string; projectId: string }> {
  const [project] = await db.query<{ id: string }>(
    "insert into api.projects (user_id, name, type) values ($1, 'Website SMP 2', 'sekolah') returning id",
    [clientId],
  );
  const [invoice] = await db.query<{ id: string }>(
    "insert into api.invoices (project_id, amount) values ($1, 3500000) returning id",
    [project!.id],
  );
  return { invoiceId: invoice!.id, projectId: project!.id };
}

/** pay_invoice as the owner, committed: returns the new attempt. */
async function pay(invoiceId: string): Promise<{ attemptId: string; orderId: string }> {
  await asRole(db, "app_client", (c) => c.query("select api.pay_invoice($1)", [invoiceId]), {
    claims: { sub: clientId, role: "app_client" },
    commit: true,
  });
  const [attempt] = await db.query<{ id: string; order_id: string }>(
    "select id, order_id from api.payment_attempts where invoice_id = $1 order by created_at desc limit 1",
    [invoiceId],
  );
  return { attemptId: attempt!.id, orderId: attempt!.order_id };
}

const record = (attemptId: string, transactionId = "11111111-2222-4333-8444-555555555555") =>
  asWorker(
    async (w) =>
      (
        await w.query<{ recorded: boolean }>(
          "select app_hidden.record_qris_charge($1, $2, $3, now() + interval '15 minutes') as recorded",
          [attemptId, transactionId, `https://simulator.example.id/v2/qris/${transactionId}/qr-code`],
        )
      ).rows[0]!.recorded,
  );

const apply = (orderId: string, status: string, fraud: string | null = "accept") =>
  asWorker(
    async (w) =>
      (
        await w.query<{ r: string }>("select app_hidden.apply_payment_status($1, $2, $3) as r", [
          orderId,
          status,
          fraud,
        ])
      ).rows[0]!.r,
  );

const invoice = async (id: string) =>
  (
    await db.query<{ status: string; paid: boolean; qris_url: string | null; order_id: string }>(
      "select status, paid_at is not null as paid, qris_url, midtrans_order_id as order_id from api.invoices where id = $1",
      [id],
    )
  )[0]!;

const audit = (invoiceId: string) =>
  db.query<{ action: string }>(
    "select action from api.audit_logs where resource = 'invoices' and resource_id = $1 and action::text like 'PAYMENT%' order by timestamp, id",
    [invoiceId],
  );

const notificationsOf = (userId: string, invoiceId: string) =>
  db.query<{ title: string }>(
    "select title from api.real_time_notifications where user_id = $1 and payload ->> 'invoice_id' = $2 order by created_at, id",
    [userId, invoiceId],
  );

beforeAll(async () => {
  db = await createMigratedDatabase();
  [{ id: clientId }] = (await db.query<{ id: string }>(
    "insert into api.users (email, name) values ('klien@example.id', 'Klien') returning id",
  )) as [{ id: string }];
  [{ id: adminId }] = (await db.query<{ id: string }>(
    "insert into api.users (email, name, role) values ('admin2@example.id', 'Admin', 'admin') returning id",
  )) as [{ id: string }];
});
afterAll(async () => {
  await db.drop();
});

describe("record_qris_charge", () => {
  test("shows the QR on the invoice, audits PAYMENT_INIT and tells the client, once", async () => {
    const { invoiceId } = await order();
    const { attemptId } = await pay(invoiceId);
    expect(await record(attemptId)).toBe(true);
    expect(await record(attemptId)).toBe(false); // a repeated job adds nothing
    expect(await invoice(invoiceId)).toEqual(
      expect.objectContaining({ status: "pending", qris_url: expect.stringMatching(/qr-code$/) }),
    );
    expect(
      await db.query(
        "select midtrans_status, midtrans_transaction_id is not null as has_id from api.payment_attempts where id = $1",
        [attemptId],
      ),
    ).toEqual([{ midtrans_status: "pending", has_id: true }]);
    expect(await audit(invoiceId)).toEqual([{ action: "PAYMENT_INIT" }]);
    expect(await notificationsOf(clientId, invoiceId)).toEqual([{ title: "QRIS siap dibayar" }]);
  });

  test("an attempt that is no longer the invoice's current charge does not touch the invoice", async () => {
    const { invoiceId } = await order();
    const first = await pay(invoiceId);
    await db.query("update api.invoices set qris_expires_at = now() - interval '1 minute' where id = $1", [invoiceId]);
    const second = await pay(invoiceId);
    expect(await record(first.attemptId)).toBe(true);
    expect(await invoice(invoiceId)).toEqual(expect.objectContaining({ qris_url: null, order_id: second.orderId }));
  });
});

describe("apply_payment_status", () => {
  test("settlement: the invoice is paid, the project starts, client and admins are told, PAYMENT_SUCCESS is audited; repeats and a late pending change nothing", async () => {
    const { invoiceId, projectId } = await order();
    const { attemptId, orderId } = await pay(invoiceId);
    await record(attemptId);
    expect(await apply(orderId, "settlement")).toBe("paid");
    expect(await apply(orderId, "settlement")).toBe("unchanged");
    expect(await apply(orderId, "pending")).toBe("unchanged");
    expect(await invoice(invoiceId)).toEqual(expect.objectContaining({ status: "paid", paid: true }));
    expect(await db.query("select status from api.projects where id = $1", [projectId])).toEqual([
      { status: "in_progress" },
    ]);
    expect(await audit(invoiceId)).toEqual([{ action: "PAYMENT_INIT" }, { action: "PAYMENT_SUCCESS" }]);
    expect(await notificationsOf(clientId, invoiceId)).toEqual([
      { title: "QRIS siap dibayar" },
      { title: "Pembayaran diterima" },
    ]);
    expect(await notificationsOf(adminId, invoiceId)).toEqual([{ title: "Pembayaran masuk" }]);
  });

  test("capture counts as paid only when fraud_status accepts it", async () => {
    const { invoiceId } = await order();
    const { orderId } = await pay(invoiceId);
    expect(await apply(orderId, "capture", "challenge")).toBe("unchanged");
    expect(await apply(orderId, "capture", "accept")).toBe("paid");
  });

  test.each([
    ["deny", "failed", "Pembayaran gagal"],
    ["failure", "failed", "Pembayaran gagal"],
    ["expire", "expired", "Kode QR kedaluwarsa"],
    ["cancel", "cancelled", null],
  ])("%s makes the invoice %s (PAYMENT_FAILED)", async (midtransStatus, invoiceStatus, title) => {
    const { invoiceId } = await order();
    const { orderId } = await pay(invoiceId);
    expect(await apply(orderId, midtransStatus)).toBe(invoiceStatus);
    expect((await invoice(invoiceId)).status).toBe(invoiceStatus);
    expect(await audit(invoiceId)).toEqual([{ action: "PAYMENT_FAILED" }]);
    expect(await notificationsOf(clientId, invoiceId)).toEqual(title ? [{ title }] : []);
  });

  test("money taken on an earlier QR still pays the invoice; an earlier QR's expiry does not undo the current charge", async () => {
    const { invoiceId } = await order();
    const first = await pay(invoiceId);
    await db.query("update api.invoices set qris_expires_at = now() - interval '1 minute' where id = $1", [invoiceId]);
    const second = await pay(invoiceId);
    expect(await apply(first.orderId, "expire")).toBe("unchanged");
    expect((await invoice(invoiceId)).status).toBe("pending");
    expect(await apply(first.orderId, "settlement")).toBe("paid");
    expect(await invoice(invoiceId)).toEqual(expect.objectContaining({ status: "paid", order_id: first.orderId }));
    expect(await apply(second.orderId, "expire")).toBe("unchanged");
  });

  test("refunds follow payment: partial_refund, then refund; an unknown order is reported", async () => {
    const { invoiceId } = await order();
    const { orderId } = await pay(invoiceId);
    expect(await apply(orderId, "refund")).toBe("unchanged"); // not paid yet
    expect(await apply(orderId, "settlement")).toBe("paid");
    expect(await apply(orderId, "partial_refund")).toBe("partial_refunded");
    expect(await apply(orderId, "refund")).toBe("refunded");
    expect(await apply("JW-not-ours-1", "settlement")).toBe("unknown_order");
  });

  test("nobody but the worker may call them (42501)", async () => {
    for (const role of ["web_anon", "app_client", "app_admin"] as const) {
      const error = await asRole(db, role, (c) =>
        c.query("select app_hidden.apply_payment_status('JW-x-1', 'settlement')"),
      ).catch((e: { code: string }) => e);
      expect({ role, code: (error as { code?: string }).code }).toEqual({ role, code: "42501" });
    }
  });
});

describe("queue_payment_reconciliation", () => {
  const reconcile = () =>
    asWorker(
      async (w) => (await w.query<{ n: number }>("select app_hidden.queue_payment_reconciliation() as n")).rows[0]!.n,
    );
  const jobKeys = async () =>
    (
      await db.query<{ key: string }>(
        "select key from graphile_worker._private_jobs where key like 'invoices__%' order by key",
      )
    ).map((r) => r.key);

  test("queues a charge that was never recorded after a minute, and a confirmation after five quiet minutes; nothing sooner, nothing for settled invoices", async () => {
    await db.query("delete from graphile_worker._private_jobs where key like 'invoices__%'");
    // Everything of the tests above is recent or no longer pending.
    expect(await reconcile()).toBe(0);
    const uncharged = await order();
    const a = await pay(uncharged.invoiceId);
    const charged = await order();
    const b = await pay(charged.invoiceId);
    await record(b.attemptId, "99999999-2222-4333-8444-555555555555");
    await db.query("delete from graphile_worker._private_jobs where key like 'invoices__%'");
    expect(await reconcile()).toBe(0);
    await db.query("update api.payment_attempts set created_at = now() - interval '2 minutes' where id = $1", [
      a.attemptId,
    ]);
    // As if nothing had happened for 6 minutes (past the updated_at trigger, which would stamp now).
    await db.query(
      `do $$ begin
         perform set_config('session_replication_role', 'replica', true);
         update api.payment_attempts set updated_at = now() - interval '6 minutes' where id = '${b.attemptId}';
       end $$`,
    );
    expect(await reconcile()).toBe(2);
    expect(await jobKeys()).toEqual(
      [`invoices__confirm_payment:${b.orderId}`, `invoices__create_qris_payment:${a.orderId}`].sort(),
    );
    // Once paid, an invoice is left alone.
    await apply(b.orderId, "settlement");
    await db.query("delete from graphile_worker._private_jobs where key like 'invoices__%'");
    expect(await reconcile()).toBe(1);
  });
});
