/**
 * POST /rpc/admin_broadcast through the real PostgREST: admins only,
 * validated, rate limited, audited; it writes one outbox message for every
 * socket (room all) and wakes the hub with one NOTIFY. Also a project status
 * change made through PostgREST reaches the outbox for its owner and the
 * admins only.
 */
import { withClient } from "../../db/pg";
import { startApi, type TestApi } from "../helpers/api";
import { createAdmin, registerClient, type SignedIn } from "../helpers/auth";
import { createSeededDatabase, type TestDatabase } from "../helpers/database";
import { listenRealtime, outboxAfter, outboxMark, type RealtimeListener } from "../helpers/realtime";

let db: TestDatabase;
let api: TestApi;
let listener: RealtimeListener;
let alice: SignedIn;
let bob: SignedIn;
let admin: SignedIn;

const broadcast = (body: unknown, token?: string) =>
  api.request("/rpc/admin_broadcast", { method: "POST", body: JSON.stringify(body), token });

beforeAll(async () => {
  db = await createSeededDatabase();
  api = await startApi(db);
  [alice, bob] = [await registerClient(api), await registerClient(api)];
  admin = await createAdmin(api, db);
  listener = await listenRealtime(db);
  await listener.take();
});
afterAll(async () => {
  await listener?.stop();
  await api?.stop();
  await db?.drop();
});

describe("admin_broadcast", () => {
  test("an admin's broadcast: one outbox message for everyone, audited, one NOTIFY, returned", async () => {
    const mark = await outboxMark(db);
    const { status, body } = await broadcast(
      { title: "  Pemeliharaan  ", message: "Sistem akan dipelihara pukul 22.00 WIB.", priority: "high" },
      admin.token,
    );
    expect(status).toBe(200);
    const sent = body as { id: number; expires_at: string; created_at: string };
    expect(body).toEqual({
      id: expect.any(Number),
      event: "admin_broadcast",
      title: "Pemeliharaan",
      message: "Sistem akan dipelihara pukul 22.00 WIB.",
      priority: "high",
      created_at: expect.any(String),
      expires_at: expect.any(String),
    });
    expect(await outboxAfter(db, mark)).toEqual([
      {
        id: String(sent.id),
        event: "admin_broadcast",
        rooms: ["all"],
        payload: { title: "Pemeliharaan", message: "Sistem akan dipelihara pukul 22.00 WIB.", sent_by: admin.user.id },
        priority: "high",
        expires_in_hours: 24,
      },
    ]);
    expect(await listener.take()).toEqual(["admin_broadcast"]);

    const audit = await db.query(
      `select user_id, action::text, resource, resource_id, new_values from api.audit_logs
        where resource = 'admin_broadcasts' and resource_id = $1`,
      [String(sent.id)],
    );
    expect(audit).toEqual([
      {
        user_id: admin.user.id,
        action: "CREATE",
        resource: "admin_broadcasts",
        resource_id: String(sent.id),
        new_values: {
          title: "Pemeliharaan",
          message: "Sistem akan dipelihara pukul 22.00 WIB.",
          priority: "high",
          expires_at: expect.any(String),
        },
      },
    ]);
    // The admin sees it in the audit trail over the API too.
    const trail = await api.request(
      `/audit_logs?resource=eq.admin_broadcasts&resource_id=eq.${sent.id}&select=action`,
      {
        token: admin.token,
      },
    );
    expect(trail.body).toEqual([{ action: "CREATE" }]);
  });

  test("priority defaults to medium; a message of 2000 four-byte characters still fits, the NOTIFY stays tiny", async () => {
    const mark = await outboxMark(db);
    const message = "🎉".repeat(2000);
    const { status, body } = await broadcast({ title: "Selamat", message }, admin.token);
    expect(status).toBe(200);
    expect(body).toEqual(expect.objectContaining({ priority: "medium", message }));
    const [row] = await outboxAfter(db, mark);
    expect(row).toEqual(expect.objectContaining({ priority: "medium", payload: expect.objectContaining({ message }) }));
    const notifications = await listener.take();
    expect(notifications).toEqual(["admin_broadcast"]);
    expect(Buffer.byteLength(notifications[0]!)).toBeLessThan(64);
  });

  test("the hub's reader (worker) returns the broadcast", async () => {
    const cursor = await withClient(
      db.connections.worker,
      async (w) =>
        (await w.query<{ b: { cursor: unknown } }>("select app_hidden.realtime_messages_after(null) as b")).rows[0]!.b
          .cursor,
    );
    const { body } = await broadcast({ title: "Halo", message: "Untuk semua", priority: "low" }, admin.token);
    const batch = await withClient(
      db.connections.worker,
      async (w) =>
        (
          await w.query<{ b: { messages: { id: number; rooms: string[] }[] } }>(
            "select app_hidden.realtime_messages_after($1) as b",
            [JSON.stringify(cursor)],
          )
        ).rows[0]!.b,
    );
    expect(batch.messages.map((m) => [m.id, m.rooms])).toEqual([[(body as { id: number }).id, ["all"]]]);
    await listener.take();
  });

  test("anonymous callers get 401 and clients 403 FORBIDDEN; nothing is written or sent", async () => {
    const mark = await outboxMark(db);
    const anonymous = await broadcast({ title: "x", message: "y", priority: "low" });
    expect(anonymous.status).toBe(401);
    expect(anonymous.body).toEqual(expect.objectContaining({ code: "42501" }));
    const client = await broadcast({ title: "x", message: "y", priority: "low" }, alice.token);
    expect(client.status).toBe(403);
    expect(client.body).toEqual(expect.objectContaining({ code: "FORBIDDEN" }));
    expect(await outboxAfter(db, mark)).toEqual([]);
    expect(await listener.take()).toEqual([]);
  });

  test.each([
    ["a blank title (INVALID_BROADCAST)", { title: "   ", message: "m" }, "INVALID_BROADCAST"],
    ["a title over 200 characters (INVALID_BROADCAST)", { title: "t".repeat(201), message: "m" }, "INVALID_BROADCAST"],
    ["a missing title (INVALID_BROADCAST)", { title: null, message: "m" }, "INVALID_BROADCAST"],
    ["a blank message (INVALID_BROADCAST)", { title: "t", message: "\n\t " }, "INVALID_BROADCAST"],
    [
      "a message over 2000 characters (INVALID_BROADCAST)",
      { title: "t", message: "m".repeat(2001) },
      "INVALID_BROADCAST",
    ],
    ["a null priority (INVALID_BROADCAST)", { title: "t", message: "m", priority: null }, "INVALID_BROADCAST"],
    [
      "a priority that is not a notification priority (22P02)",
      { title: "t", message: "m", priority: "urgent" },
      "22P02",
    ],
  ])("refuses %s with 400, writing and sending nothing", async (_what, body, code) => {
    const mark = await outboxMark(db);
    const answer = await broadcast(body, admin.token);
    expect(answer.status).toBe(400);
    expect(answer.body).toEqual(expect.objectContaining({ code }));
    expect(await outboxAfter(db, mark)).toEqual([]);
    expect(await listener.take()).toEqual([]);
  });

  test("200 and 2000 characters are accepted", async () => {
    const { status } = await broadcast({ title: "t".repeat(200), message: "m".repeat(2000) }, admin.token);
    expect(status).toBe(200);
    expect(await listener.take()).toEqual(["admin_broadcast"]);
  });

  test("past the per-admin limit: 429 RATE_LIMITED with Retry-After, nothing sent; other admins unaffected", async () => {
    const busy = await createAdmin(api, db);
    const other = await createAdmin(api, db);
    await db.query("update app_private.rate_limits set max_count = 2 where action = 'admin_broadcast'");
    try {
      for (let i = 0; i < 2; i++) {
        expect((await broadcast({ title: `Info ${i}`, message: "isi" }, busy.token)).status).toBe(200);
      }
      await listener.take();
      const mark = await outboxMark(db);
      const limited = await broadcast({ title: "Satu lagi", message: "isi" }, busy.token);
      expect(limited.status).toBe(429);
      expect(limited.body).toEqual(expect.objectContaining({ code: "RATE_LIMITED" }));
      expect(Number(limited.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
      expect(await outboxAfter(db, mark)).toEqual([]);
      expect(await listener.take()).toEqual([]);
      expect((await broadcast({ title: "Dari admin lain", message: "isi" }, other.token)).status).toBe(200);
      await listener.take();
    } finally {
      await db.query("update app_private.rate_limits set max_count = 10 where action = 'admin_broadcast'");
    }
  });
});

test("a project status change through PostgREST reaches the outbox for its owner and the admins, not other clients", async () => {
  const [project] = await db.query<{ id: string }>(
    "insert into api.projects (user_id, name, type, status) values ($1, 'Sekolah Alice', 'sekolah', 'in_progress') returning id",
    [alice.user.id],
  );
  const mark = await outboxMark(db);
  const { status } = await api.request("/rpc/set_project_status", {
    method: "POST",
    body: JSON.stringify({ project_id: project!.id, status: "review" }),
    token: admin.token,
  });
  expect(status).toBe(200);
  const messages = await outboxAfter(db, mark);
  expect(messages.map((m) => [m.event, m.rooms])).toEqual([
    ["project_update", [`user:${alice.user.id}`, `project:${project!.id}`, "admin"]],
  ]);
  expect(messages.flatMap((m) => m.rooms)).not.toContain(`user:${bob.user.id}`);
  expect(await listener.take()).toEqual(["project_update"]);
});
