/**
 * The realtime sources: a project's status change, an invoice becoming paid
 * and a new notification each write exactly their outbox rows (for the
 * owner and the admins, never another client) in the transaction of the
 * change, and wake a LISTENing client with one tiny NOTIFY per transaction
 * and event, however many rows changed; a rolled-back change writes and
 * sends nothing.
 */
import type { PoolClient } from "pg";
import { withClient } from "../../db/pg";
import { createMigratedDatabase, type TestDatabase } from "../helpers/database";
import { listenRealtime, outboxAfter, outboxMark, type RealtimeListener } from "../helpers/realtime";
import { asRole } from "../helpers/roles";

let db: TestDatabase;
let listener: RealtimeListener;
let ownerId: string;
let otherId: string;
let adminId: string;

beforeAll(async () => {
  db = await createMigratedDatabase();
  const users = await db.query<{ id: string }>(
    `insert into api.users (email, name, role) values
       ('pemilik@example.id', 'Pemilik', 'client'), ('lain@example.id', 'Lain', 'client'),
       ('admin@example.id', 'Admin', 'admin')
     returning id`,
  );
  [ownerId, otherId, adminId] = users.map((u) => u.id) as [string, string, string];
  listener = await listenRealtime(db);
});
afterAll(async () => {
  await listener?.stop();
  await db?.drop();
});

/** `n` projects of the owner, already in progress (inserted as the owner of the schema). */
async function projectsInProgress(n: number, userId = ownerId): Promise<string[]> {
  const rows = await db.query<{ id: string }>(
    `insert into api.projects (user_id, name, type, status)
     select $1, 'Proyek ' || i, 'company', 'in_progress' from generate_series(1, $2) i returning id`,
    [userId, n],
  );
  await listener.take();
  return rows.map((r) => r.id);
}

const asAdmin = <T>(fn: (client: PoolClient) => Promise<T>) =>
  asRole(db, "app_admin", fn, { claims: { sub: adminId, role: "app_admin" }, commit: true });

describe("project_update", () => {
  test("an admin's status change writes one message for the owner, the project room and the admins; one NOTIFY", async () => {
    const [projectId] = await projectsInProgress(1);
    const mark = await outboxMark(db);
    await asAdmin((c) => c.query("select api.set_project_status($1, 'review')", [projectId]));

    expect(await outboxAfter(db, mark)).toEqual([
      {
        id: expect.any(String),
        event: "project_update",
        rooms: [`user:${ownerId}`, `project:${projectId}`, "admin"],
        payload: { project_id: projectId, status: "review", previous_status: "in_progress" },
        priority: "medium",
        expires_in_hours: 7 * 24,
      },
    ]);
    const rooms = (await outboxAfter(db, mark)).flatMap((m) => m.rooms);
    expect(rooms).not.toContain(`user:${otherId}`);
    expect(await listener.take()).toEqual(["project_update"]);
  });

  test("a bulk change of 300 statuses in one transaction: 300 messages, exactly one tiny NOTIFY", async () => {
    const ids = await projectsInProgress(300);
    const mark = await outboxMark(db);
    await asAdmin(async (c) => {
      await c.query("update api.projects set status = 'review' where id = any($1::uuid[])", [ids.slice(0, 150)]);
      // A second statement in the same transaction: still one notification.
      await c.query("update api.projects set status = 'review' where id = any($1::uuid[])", [ids.slice(150)]);
    });
    const messages = await outboxAfter(db, mark);
    expect(messages).toHaveLength(300);
    expect(new Set(messages.map((m) => m.payload.project_id))).toEqual(new Set(ids));
    expect(messages.every((m) => m.event === "project_update" && m.rooms[0] === `user:${ownerId}`)).toBe(true);
    const notifications = await listener.take();
    expect(notifications).toEqual(["project_update"]);
    expect(Buffer.byteLength(notifications[0]!)).toBeLessThan(64);
  });

  test("changes of other columns, or a status set to what it was, write and send nothing", async () => {
    const [projectId] = await projectsInProgress(1);
    const mark = await outboxMark(db);
    await asAdmin((c) =>
      c.query("update api.projects set name = 'Nama Baru', url = 'https://contoh.id', status = status where id = $1", [
        projectId,
      ]),
    );
    expect(await outboxAfter(db, mark)).toEqual([]);
    expect(await listener.take()).toEqual([]);
  });

  test("two transactions: two NOTIFYs (one each)", async () => {
    const [a, b] = await projectsInProgress(2);
    await asAdmin((c) => c.query("update api.projects set status = 'review' where id = $1", [a]));
    await asAdmin((c) => c.query("update api.projects set status = 'review' where id = $1", [b]));
    expect(await listener.take()).toEqual(["project_update", "project_update"]);
  });

  test("a rolled-back status change writes no message and sends no NOTIFY", async () => {
    const [projectId] = await projectsInProgress(1);
    const mark = await outboxMark(db);
    await asRole(
      db,
      "app_admin",
      (c) => c.query("update api.projects set status = 'review' where id = $1", [projectId]),
      {
        claims: { sub: adminId, role: "app_admin" },
        commit: false,
      },
    );
    expect(await outboxAfter(db, mark)).toEqual([]);
    expect(await listener.take()).toEqual([]);
  });
});

describe("payment_received", () => {
  async function pendingInvoice(): Promise<{ projectId: string; invoiceId: string }> {
    const [project] = await db.query<{ id: string }>(
      "insert into api.projects (user_id, name, type) values ($1, 'Toko', 'company') returning id",
      [ownerId],
    );
    const [invoice] = await db.query<{ id: string }>(
      "insert into api.invoices (project_id, amount, status) values ($1, 2500000, 'pending') returning id",
      [project!.id],
    );
    await listener.take();
    return { projectId: project!.id, invoiceId: invoice!.id };
  }

  test("an invoice becoming paid (by the worker) writes one high-priority message for owner, project and admins", async () => {
    const { projectId, invoiceId } = await pendingInvoice();
    const mark = await outboxMark(db);
    await withClient(db.connections.worker, (w) =>
      w.query("update api.invoices set status = 'paid', paid_at = now() where id = $1", [invoiceId]),
    );
    expect(await outboxAfter(db, mark)).toEqual([
      {
        id: expect.any(String),
        event: "payment_received",
        rooms: [`user:${ownerId}`, `project:${projectId}`, "admin"],
        payload: { invoice_id: invoiceId, project_id: projectId },
        priority: "high",
        expires_in_hours: 7 * 24,
      },
    ]);
    expect(await listener.take()).toEqual(["payment_received"]);
  });

  test("other invoice moves (pending → failed, paid → partial_refunded) send nothing", async () => {
    const { invoiceId } = await pendingInvoice();
    const { invoiceId: paidId } = await pendingInvoice();
    await db.query("update api.invoices set status = 'paid', paid_at = now() where id = $1", [paidId]);
    await listener.take();
    const mark = await outboxMark(db);
    await db.query("update api.invoices set status = 'failed' where id = $1", [invoiceId]);
    await db.query("update api.invoices set status = 'partial_refunded' where id = $1", [paidId]);
    expect(await outboxAfter(db, mark)).toEqual([]);
    expect(await listener.take()).toEqual([]);
  });
});

describe("notification", () => {
  test("a bulk insert of notifications: one message per row for its user only, its priority; one NOTIFY", async () => {
    const mark = await outboxMark(db);
    const rows = await asAdmin(
      async (c) =>
        (
          await c.query<{ id: string; user_id: string }>(
            `insert into api.real_time_notifications (user_id, type, title, message, priority)
             values ($1, 'new_feature', 'Fitur', 'Baru', 'low'), ($1, 'admin_alert', 'Awas', 'Penting', 'critical'),
                    ($2, 'new_feature', 'Fitur', 'Baru', 'medium')
             returning id, user_id`,
            [ownerId, otherId],
          )
        ).rows,
    );
    const messages = await outboxAfter(db, mark);
    expect(messages.map(({ event, rooms, payload, priority }) => ({ event, rooms, payload, priority }))).toEqual(
      expect.arrayContaining([
        {
          event: "notification",
          rooms: [`user:${ownerId}`],
          payload: { notification_id: rows[0]!.id },
          priority: "low",
        },
        {
          event: "notification",
          rooms: [`user:${ownerId}`],
          payload: { notification_id: rows[1]!.id },
          priority: "critical",
        },
        {
          event: "notification",
          rooms: [`user:${otherId}`],
          payload: { notification_id: rows[2]!.id },
          priority: "medium",
        },
      ]),
    );
    expect(messages).toHaveLength(3);
    expect(await listener.take()).toEqual(["notification"]);
  });

  test("one transaction with a status change and a notification: one NOTIFY per event", async () => {
    const [projectId] = await projectsInProgress(1);
    await asAdmin(async (c) => {
      await c.query("update api.projects set status = 'review' where id = $1", [projectId]);
      await c.query(
        `insert into api.real_time_notifications (user_id, type, title, message)
         values ($1, 'project_status_change', 'Status', 'Ditinjau')`,
        [ownerId],
      );
      await c.query("update api.projects set status = 'in_progress' where id = $1", [projectId]);
    });
    expect((await listener.take()).sort()).toEqual(["notification", "project_update"]);
  });

  test("a notification rolled back with its transaction leaves nothing", async () => {
    const mark = await outboxMark(db);
    await asRole(
      db,
      "app_admin",
      (c) =>
        c.query(
          `insert into api.real_time_notifications (user_id, type, title, message) values ($1, 'new_feature', 'x', 'y')`,
          [ownerId],
        ),
      { claims: { sub: adminId, role: "app_admin" }, commit: false },
    );
    expect(await outboxAfter(db, mark)).toEqual([]);
    expect(await listener.take()).toEqual([]);
  });
});

test("the hub's reader returns what the sources wrote", async () => {
  const cursor = await withClient(
    db.connections.worker,
    async (w) =>
      (await w.query<{ b: { cursor: unknown } }>("select app_hidden.realtime_messages_after(null) as b")).rows[0]!.b
        .cursor,
  );
  const [projectId] = await projectsInProgress(1);
  await asAdmin((c) => c.query("select api.set_project_status($1, 'review')", [projectId]));
  const batch = await withClient(
    db.connections.worker,
    async (w) =>
      (
        await w.query<{ b: { messages: { event: string; payload: Record<string, unknown> }[] } }>(
          "select app_hidden.realtime_messages_after($1) as b",
          [JSON.stringify(cursor)],
        )
      ).rows[0]!.b,
  );
  expect(batch.messages.map((m) => [m.event, m.payload.project_id])).toEqual([["project_update", projectId]]);
});
