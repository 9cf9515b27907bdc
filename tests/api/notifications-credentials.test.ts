/**
 * A client's notifications (they may only mark them read) and a project's
 * access credentials (encrypted at rest, readable by the owner and admins).
 */
import { startApi, type TestApi } from "../helpers/api";
import { createAdmin, registerClient, type SignedIn } from "../helpers/auth";
import { createSeededDatabase, type TestDatabase } from "../helpers/database";
import { asRole, sqlErrorOf } from "../helpers/roles";

let db: TestDatabase;
let api: TestApi;
let alice: SignedIn;
let bob: SignedIn;
let admin: SignedIn;

const rpc = (name: string, body: unknown, token?: string) =>
  api.request(`/rpc/${name}`, { method: "POST", body: JSON.stringify(body), token });

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

describe("mark_notifications_read", () => {
  async function notify(user: SignedIn, n: number): Promise<string[]> {
    const rows = await db.query<{ id: string }>(
      `insert into api.real_time_notifications (user_id, type, title, message)
       select $1, 'project_status_change', 'Status ' || g, 'Proyek berubah' from generate_series(1, $2) g returning id::text`,
      [user.user.id, n],
    );
    return rows.map((r) => r.id);
  }
  const unread = async (user: SignedIn) =>
    (
      await db.query<{ n: number }>(
        "select count(*)::int as n from api.real_time_notifications where user_id = $1 and not read",
        [user.user.id],
      )
    )[0]!.n;

  test("marks the listed ones read, ignoring other users' ids", async () => {
    const mine = await notify(alice, 3);
    const theirs = await notify(bob, 2);
    const { status, body } = await rpc("mark_notifications_read", { ids: [mine[0], theirs[0]] }, alice.token);
    expect(status).toBe(200);
    expect(body).toBe(1);
    expect(await unread(alice)).toBe(2);
    expect(await unread(bob)).toBe(2);
    const [row] = await db.query<{ read: boolean; read_at: Date | null }>(
      "select read, read_at from api.real_time_notifications where id = $1",
      [mine[0]],
    );
    expect(row!.read).toBe(true);
    expect(row!.read_at).toBeInstanceOf(Date);
  });

  test("without ids marks all of the caller's unread notifications; again changes nothing", async () => {
    await notify(alice, 2);
    const before = await unread(alice);
    expect((await rpc("mark_notifications_read", {}, alice.token)).body).toBe(before);
    expect(await unread(alice)).toBe(0);
    expect((await rpc("mark_notifications_read", {}, alice.token)).body).toBe(0);
    expect(await unread(bob)).toBe(2);
  });

  test("anonymous callers are refused (401)", async () => {
    expect((await rpc("mark_notifications_read", {})).status).toBe(401);
  });

  test("a client may mark read through the table too, but never un-read or edit the text", async () => {
    const [id] = await notify(alice, 1);
    const read = await api.request(`/real_time_notifications?id=eq.${id}`, {
      method: "PATCH",
      body: JSON.stringify({ read: true }),
      token: alice.token,
    });
    expect(read.status).toBe(204);
    const unread = await api.request(`/real_time_notifications?id=eq.${id}`, {
      method: "PATCH",
      body: JSON.stringify({ read: false }),
      token: alice.token,
    });
    expect(unread.status).toBe(403);
    const retitle = await api.request(`/real_time_notifications?id=eq.${id}`, {
      method: "PATCH",
      body: JSON.stringify({ title: "Diubah" }),
      token: alice.token,
    });
    expect(retitle.status).toBe(403);
    expect(await db.query("select read, title from api.real_time_notifications where id = $1", [id])).toEqual([
      { read: true, title: "Status 1" },
    ]);
  });

  test("read_at is the server's: set when read becomes true, kept after; a client naming a date is refused (403 42501)", async () => {
    const [id] = await notify(alice, 1);
    const readAt = async () =>
      (
        await db.query<{ read: boolean; read_at: Date | null; now: Date }>(
          "select read, read_at, now() as now from api.real_time_notifications where id = $1",
          [id],
        )
      )[0]!;
    const patch = (body: object) =>
      api.request(`/real_time_notifications?id=eq.${id}`, {
        method: "PATCH",
        body: JSON.stringify(body),
        token: alice.token,
      });

    const backdated = await patch({ read: true, read_at: "2099-01-01T00:00:00Z" });
    expect(backdated).toMatchObject({ status: 403, body: { code: "42501" } });
    expect(await readAt()).toMatchObject({ read: false, read_at: null });

    expect((await patch({ read: true })).status).toBe(204);
    const first = await readAt();
    expect(first.read).toBe(true);
    expect(first.read_at).toBeInstanceOf(Date);
    expect(Math.abs(first.read_at!.getTime() - first.now.getTime())).toBeLessThan(60_000);

    // Marking it read again keeps the time it was first read.
    expect((await patch({ read: true })).status).toBe(204);
    expect((await readAt()).read_at).toEqual(first.read_at);
  });

  test("a worker marking a notification unread clears read_at, and read again sets it anew", async () => {
    const [id] = await notify(alice, 1);
    await rpc("mark_notifications_read", { ids: [id] }, alice.token);
    const row = async () =>
      (
        await db.query<{ read: boolean; read_at: Date | null }>(
          "select read, read_at from api.real_time_notifications where id = $1",
          [id],
        )
      )[0]!;
    expect((await row()).read_at).toBeInstanceOf(Date);
    await asRole(
      db,
      "app_worker",
      (c) => c.query("update api.real_time_notifications set read = false where id = $1", [id]),
      {
        commit: true,
      },
    );
    expect(await row()).toEqual({ read: false, read_at: null });
    const refused = await sqlErrorOf(
      asRole(db, "app_worker", (c) =>
        c.query("update api.real_time_notifications set read = true, read_at = '2000-01-01' where id = $1", [id]),
      ),
    );
    expect(refused.code).toBe("42501");
  });
});

describe("project credentials", () => {
  let projectId: string;
  const credentials = {
    cms: { url: "https://sekolah.example.id/admin", user: "kepala", password: "rahasia-sekali" },
    hosting: "cpanel",
  };

  beforeAll(async () => {
    const { body } = await rpc("create_project", { name: "Situs Sekolah", type: "sekolah" }, alice.token);
    projectId = (body as { project: { id: string } }).project.id;
  });

  test("none stored yet: null", async () => {
    const { status, body } = await rpc("project_credentials", { project_id: projectId }, alice.token);
    expect(status).toBe(200);
    expect(body).toBeNull();
  });

  test("the owner stores them; owner and admin read them back; at rest they are ciphertext", async () => {
    const saved = await rpc("set_project_credentials", { project_id: projectId, credentials }, alice.token);
    expect(saved.status).toBe(200);
    expect(saved.body).toEqual(expect.objectContaining({ project_id: projectId, updated_at: expect.any(String) }));
    for (const who of [alice, admin]) {
      const { status, body } = await api.request(`/rpc/project_credentials?project_id=${projectId}`, {
        token: who.token,
      });
      expect(status).toBe(200);
      expect(body).toEqual(credentials);
    }
    const [stored] = await db.query<{ raw: Buffer }>(
      "select credentials_encrypted as raw from app_private.project_secrets where project_id = $1",
      [projectId],
    );
    expect(stored!.raw).toBeInstanceOf(Buffer);
    expect(stored!.raw.toString("latin1")).not.toContain("rahasia-sekali");
    const audit = await db.query<{ doc: string }>(
      "select coalesce(old_values, '{}')::text || new_values::text as doc from api.audit_logs where resource = 'project_credentials'",
    );
    expect(audit.length).toBeGreaterThan(0);
    expect(audit.map((a) => a.doc).join()).not.toContain("rahasia-sekali");
  });

  test("an admin replaces them", async () => {
    const replaced = { hosting: "vps", ssh: "root@203.0.113.9" };
    expect(
      (await rpc("set_project_credentials", { project_id: projectId, credentials: replaced }, admin.token)).status,
    ).toBe(200);
    expect((await rpc("project_credentials", { project_id: projectId }, alice.token)).body).toEqual(replaced);
  });

  test("another client gets PROJECT_NOT_FOUND for reading and writing, and nothing changes", async () => {
    const before = (await rpc("project_credentials", { project_id: projectId }, alice.token)).body;
    const read = await rpc("project_credentials", { project_id: projectId }, bob.token);
    const write = await rpc(
      "set_project_credentials",
      { project_id: projectId, credentials: { stolen: true } },
      bob.token,
    );
    for (const r of [read, write]) {
      expect(r.status).toBe(404);
      expect(r.body).toEqual(expect.objectContaining({ code: "PROJECT_NOT_FOUND" }));
    }
    expect((await rpc("project_credentials", { project_id: projectId }, alice.token)).body).toEqual(before);
  });

  test("anonymous callers are refused (401)", async () => {
    expect((await rpc("project_credentials", { project_id: projectId })).status).toBe(401);
  });

  test.each([
    ["an array", [1, 2, 3]],
    ["a string", "password"],
    ["null", null],
    ["over 10 kB", { blob: "x".repeat(11_000) }],
  ])("refuses %s (INVALID_CREDENTIALS_FORMAT)", async (_what, value) => {
    const { status, body } = await rpc(
      "set_project_credentials",
      { project_id: projectId, credentials: value },
      alice.token,
    );
    expect(status).toBe(400);
    expect(body).toEqual(expect.objectContaining({ code: "INVALID_CREDENTIALS_FORMAT" }));
  });

  test("without the boot-time key the server says it is misconfigured (SERVER_MISCONFIGURED)", async () => {
    const [key] = await db.query<{ value: string }>(
      "select value from app_private.settings where name = 'credentials_key'",
    );
    await db.query("delete from app_private.settings where name = 'credentials_key'");
    try {
      const { status, body } = await rpc("project_credentials", { project_id: projectId }, alice.token);
      expect(status).toBe(503);
      expect(body).toEqual(expect.objectContaining({ code: "SERVER_MISCONFIGURED" }));
    } finally {
      await db.query("insert into app_private.settings (name, value) values ('credentials_key', $1)", [key!.value]);
    }
  });
});
