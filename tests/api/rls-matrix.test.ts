/**
 * The access matrix (README, "Access: who may do what") cell by cell, over HTTP against the
 * real PostgREST for anonymous visitors, two clients (A and B) and an admin,
 * and in SQL for the worker (app_worker). A refused grant answers 401
 * (anonymous) or 403 (signed in) with code 42501; a row that RLS hides is
 * simply not there: selects return [], updates and deletes touch 0 rows
 * (checked with Prefer: return=representation and again in SQL).
 */
import crypto from "node:crypto";
import { startApi, type TestApi } from "../helpers/api";
import { createAdmin, registerClient, type SignedIn } from "../helpers/auth";
import { createMigratedDatabase, type TestDatabase } from "../helpers/database";
import { asRole, sqlErrorOf } from "../helpers/roles";

let db: TestDatabase;
let api: TestApi;
let clientA: SignedIn;
let clientB: SignedIn;
let admin: SignedIn;

type Who = "anon" | "clientA" | "clientB" | "admin" | "worker";
const everyone: Who[] = ["anon", "clientA", "clientB", "admin", "worker"];

type SelectRule = "all" | "own" | "public" | "none";
type UpdateRule = "all" | "own" | "none";
type Cell = { select: SelectRule; insert: boolean; update: UpdateRule; delete: boolean };
const NOTHING: Cell = { select: "none", insert: false, update: "none", delete: false };

/** Fixture ids, filled in beforeAll: `a` rows belong to client A (or are public), `b` rows to client B (or are hidden). */
const f: Record<string, { a: string; b: string }> = {};
const unique = () => crypto.randomBytes(4).toString("hex");
const nowIso = () => new Date().toISOString();

type TableSpec = {
  table: string;
  /** SQL condition for a client's own rows; $1 is the client's user id. */
  ownFilter?: string;
  /** SQL condition for the rows the public sees. */
  publicFilter?: string;
  /** A valid new row. */
  insert: () => Record<string, unknown>;
  /** A valid change (per role where roles may write different columns). */
  update: (who: Who) => Record<string, unknown>;
  /** Creates a row (as superuser) that a delete may remove. */
  disposable: () => Promise<string>;
  matrix: Record<Who, Cell>;
};

const insertReturningId = async (sql: string, params: unknown[] = []): Promise<string> =>
  (await db.query<{ id: string }>(`${sql} returning id::text`, params))[0]!.id;

const clientCell = (cell: Cell): Pick<Record<Who, Cell>, "clientA" | "clientB"> => ({ clientA: cell, clientB: cell });

const publicContent: Record<Who, Cell> = {
  anon: { select: "public", insert: false, update: "none", delete: false },
  ...clientCell({ select: "public", insert: false, update: "none", delete: false }),
  admin: { select: "all", insert: true, update: "all", delete: true },
  worker: NOTHING,
};

const realtimeBookkeeping: Record<Who, Cell> = {
  anon: NOTHING,
  ...clientCell(NOTHING),
  admin: { select: "all", insert: false, update: "none", delete: false },
  worker: { select: "all", insert: true, update: "all", delete: true },
};

const specs: TableSpec[] = [
  {
    table: "users",
    ownFilter: "id = $1",
    insert: () => ({ email: `new.${unique()}@example.id`, name: "Pengguna Baru" }),
    update: () => ({ name: `Nama ${unique()}` }),
    disposable: () =>
      insertReturningId(`insert into api.users (email, name) values ($1, 'Sekali Pakai')`, [
        `gone.${unique()}@example.id`,
      ]),
    matrix: {
      anon: NOTHING,
      ...clientCell({ select: "own", insert: false, update: "own", delete: false }),
      admin: { select: "all", insert: false, update: "all", delete: true },
      worker: NOTHING,
    },
  },
  {
    table: "projects",
    ownFilter: "user_id = $1",
    insert: () => ({ user_id: clientA.user.id, name: "Proyek Liar", type: "company" }),
    update: (who) =>
      // The worker writes status and url; the status stays valid for the life
      // cycle trigger (pending_payment → pending_payment is a no-op move).
      who === "worker"
        ? { status: "pending_payment", url: `https://${unique()}.example.id` }
        : { name: `Proyek ${unique()}` },
    disposable: () =>
      insertReturningId(`insert into api.projects (user_id, name, type) values ($1, 'Sekali Pakai', 'company')`, [
        clientB.user.id,
      ]),
    matrix: {
      anon: NOTHING,
      ...clientCell({ select: "own", insert: false, update: "own", delete: false }),
      admin: { select: "all", insert: false, update: "all", delete: true },
      worker: { select: "all", insert: false, update: "all", delete: false },
    },
  },
  {
    table: "invoices",
    ownFilter: "project_id in (select id from api.projects where user_id = $1)",
    insert: () => ({ project_id: f.projects!.a, amount: 1000 }),
    update: () => ({ qris_url: `https://qr.example.id/${unique()}`, midtrans_order_id: `ORDER-${unique()}` }),
    disposable: () =>
      insertReturningId(`insert into api.invoices (project_id, amount) values ($1, 5000)`, [f.projects!.b]),
    matrix: {
      anon: NOTHING,
      ...clientCell({ select: "own", insert: false, update: "none", delete: false }),
      admin: { select: "all", insert: false, update: "none", delete: false },
      worker: { select: "all", insert: false, update: "all", delete: false },
    },
  },
  {
    table: "templates",
    publicFilter: "true",
    insert: () => ({
      name: `Template ${unique()}`,
      category: "company",
      image_url: "https://img.example.id/t.png",
      demo_url: "https://demo.example.id/t",
    }),
    update: () => ({ name: `Template ${unique()}` }),
    disposable: () =>
      insertReturningId(`insert into api.templates (name, category, image_url, demo_url)
                         values ('Sekali Pakai', 'berita', 'https://img.example.id/x.png', 'https://demo.example.id/x')`),
    matrix: publicContent,
  },
  {
    table: "pricing_plans",
    publicFilter: "is_active",
    insert: () => ({ identifier: `plan-${unique()}`, name: "Paket Baru", price: 1_500_000, description: "Baru" }),
    update: () => ({ name: `Paket ${unique()}` }),
    disposable: () =>
      insertReturningId(
        `insert into api.pricing_plans (identifier, name, price, description) values ($1, 'Sekali Pakai', 1000000, 'x')`,
        [`gone-${unique()}`],
      ),
    matrix: publicContent,
  },
  {
    table: "faqs",
    publicFilter: "is_active",
    insert: () => ({ question: `Pertanyaan ${unique()}?`, answer: "Jawaban" }),
    update: () => ({ answer: `Jawaban ${unique()}` }),
    disposable: () => insertReturningId(`insert into api.faqs (question, answer) values ('Sekali pakai?', 'Ya')`),
    matrix: publicContent,
  },
  {
    table: "posts",
    publicFilter: "status = 'published' and published_at <= now()",
    insert: () => ({ title: "Tulisan Baru", slug: `tulisan-${unique()}`, content: "Isi" }),
    update: () => ({ title: `Judul ${unique()}` }),
    disposable: () =>
      insertReturningId(`insert into api.posts (title, slug, content) values ('Sekali Pakai', $1, 'x')`, [
        `sekali-${unique()}`,
      ]),
    matrix: publicContent,
  },
  {
    table: "pages",
    publicFilter: "true",
    insert: () => ({ title: "Halaman Baru", slug: `halaman-${unique()}`, content: "Isi" }),
    update: () => ({ title: `Judul ${unique()}` }),
    disposable: () =>
      insertReturningId(`insert into api.pages (title, slug, content) values ('Sekali Pakai', $1, 'x')`, [
        `sekali-${unique()}`,
      ]),
    matrix: publicContent,
  },
  {
    table: "audit_logs",
    insert: () => ({ action: "PAYMENT_INIT", resource: "invoices", resource_id: f.invoices!.a }),
    update: () => ({ resource: `tampered-${unique()}` }),
    disposable: () => insertReturningId(`insert into api.audit_logs (action, resource) values ('VIEW', 'disposable')`),
    matrix: {
      anon: NOTHING,
      ...clientCell(NOTHING),
      admin: { select: "all", insert: false, update: "none", delete: false },
      worker: { select: "none", insert: true, update: "none", delete: false },
    },
  },
  {
    table: "real_time_notifications",
    ownFilter: "user_id = $1",
    insert: () => ({ user_id: clientA.user.id, type: "system_announcement", title: "Pengumuman", message: "Halo" }),
    update: () => ({ read: true }),
    disposable: () =>
      insertReturningId(
        `insert into api.real_time_notifications (user_id, type, title, message) values ($1, 'new_feature', 'Sekali', 'x')`,
        [clientB.user.id],
      ),
    matrix: {
      anon: NOTHING,
      ...clientCell({ select: "own", insert: false, update: "own", delete: false }),
      admin: { select: "all", insert: true, update: "none", delete: true },
      worker: { select: "all", insert: true, update: "all", delete: false },
    },
  },
  {
    table: "websocket_connections",
    insert: () => ({ user_id: clientA.user.id, connection_id: `conn-${unique()}`, role: "client" }),
    update: () => ({ is_alive: false, last_activity: nowIso() }),
    disposable: () =>
      insertReturningId(
        `insert into api.websocket_connections (user_id, connection_id, role) values ($1, $2, 'client')`,
        [clientB.user.id, `gone-${unique()}`],
      ),
    matrix: realtimeBookkeeping,
  },
  {
    table: "websocket_room_memberships",
    insert: () => ({ connection_id: "conn-a", room_id: `project:${unique()}` }),
    update: () => ({ joined_at: nowIso() }),
    disposable: () =>
      insertReturningId(`insert into api.websocket_room_memberships (connection_id, room_id) values ('conn-b', $1)`, [
        `room-${unique()}`,
      ]),
    matrix: realtimeBookkeeping,
  },
  {
    table: "websocket_events",
    insert: () => ({ event_type: "heartbeat", connection_id: "conn-a" }),
    update: () => ({ is_delivered: true, delivered_at: nowIso() }),
    disposable: () =>
      insertReturningId(`insert into api.websocket_events (event_type, connection_id) values ('heartbeat', 'conn-b')`),
    matrix: realtimeBookkeeping,
  },
];

async function createFixtures(): Promise<void> {
  const [a, b] = [clientA.user.id, clientB.user.id];
  const pair = async (table: string, sqlA: string, sqlB: string, params: [unknown[], unknown[]] = [[a], [b]]) => {
    f[table] = { a: await insertReturningId(sqlA, params[0]), b: await insertReturningId(sqlB, params[1]) };
  };
  f.users = { a, b };
  await pair(
    "projects",
    `insert into api.projects (user_id, name, type) values ($1, 'Situs A', 'company')`,
    `insert into api.projects (user_id, name, type) values ($1, 'Situs B', 'sekolah')`,
  );
  await pair(
    "invoices",
    `insert into api.invoices (project_id, amount) values ($1, 2500000)`,
    `insert into api.invoices (project_id, amount) values ($1, 3500000)`,
    [[f.projects!.a], [f.projects!.b]],
  );
  // Public content: `a` rows are public, `b` rows are drafts / inactive (all rows of templates and pages are public).
  await pair(
    "templates",
    `insert into api.templates (name, category, image_url, demo_url) values ('Publik', 'company', 'https://img.example.id/a.png', 'https://demo.example.id/a')`,
    `insert into api.templates (name, category, image_url, demo_url) values ('Publik Juga', 'sekolah', 'https://img.example.id/b.png', 'https://demo.example.id/b')`,
    [[], []],
  );
  await pair(
    "pricing_plans",
    `insert into api.pricing_plans (identifier, name, price, description) values ('aktif', 'Aktif', 1000000, 'x')`,
    `insert into api.pricing_plans (identifier, name, price, description, is_active) values ('lama', 'Lama', 1000000, 'x', false)`,
    [[], []],
  );
  await pair(
    "faqs",
    `insert into api.faqs (question, answer) values ('Aktif?', 'Ya')`,
    `insert into api.faqs (question, answer, is_active) values ('Lama?', 'Ya', false)`,
    [[], []],
  );
  await pair(
    "posts",
    `insert into api.posts (title, slug, content, status, published_at) values ('Terbit', 'terbit', 'x', 'published', now())`,
    `insert into api.posts (title, slug, content) values ('Draf', 'draf', 'x')`,
    [[], []],
  );
  // A scheduled post (published, dated in the future): hidden like a draft until its time.
  await db.query(
    `insert into api.posts (title, slug, content, status, published_at) values ('Terjadwal', 'terjadwal', 'x', 'published', now() + interval '30 days')`,
  );
  await pair(
    "pages",
    `insert into api.pages (title, slug, content) values ('Tentang', 'tentang', 'x')`,
    `insert into api.pages (title, slug, content) values ('Syarat', 'syarat', 'x')`,
    [[], []],
  );
  await pair(
    "audit_logs",
    `insert into api.audit_logs (user_id, action, resource, resource_id) values ($1, 'VIEW', 'projects', 'a')`,
    `insert into api.audit_logs (user_id, action, resource, resource_id) values ($1, 'VIEW', 'projects', 'b')`,
  );
  await pair(
    "real_time_notifications",
    `insert into api.real_time_notifications (user_id, type, title, message) values ($1, 'payment_received', 'Untuk A', 'x')`,
    `insert into api.real_time_notifications (user_id, type, title, message) values ($1, 'payment_received', 'Untuk B', 'x')`,
  );
  await pair(
    "websocket_connections",
    `insert into api.websocket_connections (user_id, connection_id, role) values ($1, 'conn-a', 'client')`,
    `insert into api.websocket_connections (user_id, connection_id, role) values ($1, 'conn-b', 'client')`,
  );
  await pair(
    "websocket_room_memberships",
    `insert into api.websocket_room_memberships (connection_id, room_id) values ('conn-a', $1)`,
    `insert into api.websocket_room_memberships (connection_id, room_id) values ('conn-b', $1)`,
    [[`user:${a}`], [`user:${b}`]],
  );
  await pair(
    "websocket_events",
    `insert into api.websocket_events (event_type, connection_id, payload) values ('payment_received', 'conn-a', '{"for":"a"}')`,
    `insert into api.websocket_events (event_type, connection_id, payload) values ('payment_received', 'conn-b', '{"for":"b"}')`,
    [[], []],
  );
}

beforeAll(async () => {
  db = await createMigratedDatabase();
  api = await startApi(db);
  clientA = await registerClient(api, { name: "Klien A", phone: "081234567890" });
  clientB = await registerClient(api, { name: "Klien B" });
  admin = await createAdmin(api, db);
  await createFixtures();
});

afterAll(async () => {
  await api?.stop();
  await db?.drop();
});

const tokenOf = (who: Who): string | undefined =>
  who === "clientA" ? clientA.token : who === "clientB" ? clientB.token : who === "admin" ? admin.token : undefined;
const userIdOf = (who: Who): string => (who === "clientB" ? clientB.user.id : clientA.user.id);
/** The fixture row a role owns, and the one it does not (for B the pair is swapped). */
const ownAndOther = (who: Who, table: string): { own: string; other: string } =>
  who === "clientB" ? { own: f[table]!.b, other: f[table]!.a } : { own: f[table]!.a, other: f[table]!.b };

const representation = { prefer: "return=representation" };

async function http(who: Who, method: string, path: string, body?: unknown) {
  return api.request(path, {
    method,
    token: tokenOf(who),
    headers: representation,
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
}

/** The refusal a missing grant gives: 401 for anonymous, 403 when signed in, code 42501. */
function expectRefusedOverHttp(who: Who, response: { status: number; body: unknown }): void {
  expect({ status: response.status, code: (response.body as { code?: string }).code }).toEqual({
    status: who === "anon" ? 401 : 403,
    code: "42501",
  });
}

const rowDoc = async (table: string, id: string): Promise<unknown> =>
  (await db.query(`select to_jsonb(t) as doc from api.${table} t where id = $1`, [id]))[0]?.doc;
const rowExists = async (table: string, id: string): Promise<boolean> => (await rowDoc(table, id)) !== undefined;
const rowCount = async (table: string): Promise<number> =>
  (await db.query<{ n: number }>(`select count(*)::int as n from api.${table}`))[0]!.n;

/** Columns and values as `set a = $2, b = $3` with the values after $1. */
function assignments(values: Record<string, unknown>): { sql: string; params: unknown[] } {
  const entries = Object.entries(values);
  return { sql: entries.map(([column], i) => `${column} = $${i + 2}`).join(", "), params: entries.map(([, v]) => v) };
}

/** Test titles that say what each cell expects (and the code of a refusal). */
function outcomeOf(rule: SelectRule | UpdateRule | boolean, who: Who): string {
  if (rule === false || rule === "none")
    return `is refused (${who === "anon" ? "401" : who === "worker" ? "SQL" : "403"} 42501)`;
  if (rule === "own") return "reaches only its own rows (others: none, 0 rows)";
  if (rule === "public") return "sees only the public rows";
  return "is allowed on every row";
}
const cases = (spec: TableSpec, op: keyof Cell) =>
  everyone.map((who) => ({ who, outcome: outcomeOf(spec.matrix[who][op], who) }));

describe.each(specs)("$table", (spec) => {
  const { table } = spec;

  test.each(cases(spec, "select"))("$who select $outcome", async ({ who }) => {
    const rule = spec.matrix[who].select;
    const all = (await db.query<{ id: string }>(`select id::text from api.${table}`)).map((r) => r.id).sort();
    let expected: string[] = [];
    if (rule === "all") expected = all;
    if (rule === "own") {
      expected = (
        await db.query<{ id: string }>(`select id::text from api.${table} where ${spec.ownFilter}`, [userIdOf(who)])
      )
        .map((r) => r.id)
        .sort();
      // Not vacuous: the client has rows, and there are rows it must not see.
      expect(expected.length).toBeGreaterThan(0);
      expect(expected.length).toBeLessThan(all.length);
    }
    if (rule === "public") {
      expected = (await db.query<{ id: string }>(`select id::text from api.${table} where ${spec.publicFilter}`))
        .map((r) => r.id)
        .sort();
      expect(expected.length).toBeGreaterThan(0);
      if (spec.publicFilter !== "true") expect(expected).not.toContain(f[table]!.b);
    }

    if (who === "worker") {
      const attempt = asRole(db, "app_worker", async (c) =>
        (await c.query<{ id: string }>(`select id::text from api.${table}`)).rows.map((r) => r.id),
      );
      if (rule === "none") {
        expect((await sqlErrorOf(attempt)).code).toBe("42501");
      } else {
        expect((await attempt).sort()).toEqual(expected);
      }
      return;
    }
    const response = await http(who, "GET", `/${table}?select=id`);
    if (rule === "none") {
      expectRefusedOverHttp(who, response);
    } else {
      expect(response.status).toBe(200);
      expect((response.body as { id: string }[]).map((r) => r.id).sort()).toEqual(expected);
    }
  });

  test.each(cases(spec, "insert"))("$who insert $outcome", async ({ who }) => {
    const allowed = spec.matrix[who].insert;
    const payload = spec.insert();
    const before = await rowCount(table);
    if (who === "worker") {
      const columns = Object.keys(payload);
      const sql = `insert into api.${table} (${columns.join(", ")}) values (${columns.map((_, i) => `$${i + 1}`).join(", ")})`;
      const attempt = asRole(db, "app_worker", async (c) => (await c.query(sql, Object.values(payload))).rowCount);
      if (allowed) expect(await attempt).toBe(1);
      else expect((await sqlErrorOf(attempt)).code).toBe("42501");
      expect(await rowCount(table)).toBe(before); // rolled back either way
      return;
    }
    const response = await http(who, "POST", `/${table}`, payload);
    if (allowed) {
      expect(response.status).toBe(201);
      const created = (response.body as { id: string }[])[0]!;
      expect(await rowExists(table, created.id)).toBe(true);
      expect(await rowCount(table)).toBe(before + 1);
    } else {
      expectRefusedOverHttp(who, response);
      expect(await rowCount(table)).toBe(before);
    }
  });

  test.each(cases(spec, "update"))("$who update $outcome", async ({ who }) => {
    const rule = spec.matrix[who].update;
    const { own, other } = ownAndOther(who, table);
    if (who === "worker") {
      const { sql, params } = assignments(spec.update(who));
      for (const id of [own, other]) {
        const attempt = asRole(
          db,
          "app_worker",
          async (c) => (await c.query(`update api.${table} set ${sql} where id = $1`, [id, ...params])).rowCount,
        );
        if (rule === "all") expect(await attempt).toBe(1);
        else expect((await sqlErrorOf(attempt)).code).toBe("42501");
      }
      return;
    }
    const ownBefore = await rowDoc(table, own);
    const otherBefore = await rowDoc(table, other);
    const onOwn = await http(who, "PATCH", `/${table}?id=eq.${own}`, spec.update(who));
    const onOther = await http(who, "PATCH", `/${table}?id=eq.${other}`, spec.update(who));
    if (rule === "none") {
      expectRefusedOverHttp(who, onOwn);
      expectRefusedOverHttp(who, onOther);
      expect(await rowDoc(table, own)).toEqual(ownBefore);
      expect(await rowDoc(table, other)).toEqual(otherBefore);
      return;
    }
    expect(onOwn.status).toBe(200);
    expect((onOwn.body as { id: string }[]).map((r) => r.id)).toEqual([own]);
    expect(await rowDoc(table, own)).not.toEqual(ownBefore);
    expect(onOther.status).toBe(200);
    if (rule === "all") {
      expect((onOther.body as { id: string }[]).map((r) => r.id)).toEqual([other]);
      expect(await rowDoc(table, other)).not.toEqual(otherBefore);
    } else {
      expect(onOther.body).toEqual([]);
      expect(await rowDoc(table, other)).toEqual(otherBefore);
    }
  });

  test.each(cases(spec, "delete"))("$who delete $outcome", async ({ who }) => {
    const allowed = spec.matrix[who].delete;
    const target = allowed ? await spec.disposable() : ownAndOther(who, table).own;
    if (who === "worker") {
      const attempt = asRole(
        db,
        "app_worker",
        async (c) => (await c.query(`delete from api.${table} where id = $1`, [target])).rowCount,
      );
      if (allowed) expect(await attempt).toBe(1);
      else expect((await sqlErrorOf(attempt)).code).toBe("42501");
      expect(await rowExists(table, target)).toBe(true); // rolled back either way
      return;
    }
    const response = await http(who, "DELETE", `/${table}?id=eq.${target}`);
    if (allowed) {
      expect(response.status).toBe(200);
      expect((response.body as { id: string }[]).map((r) => r.id)).toEqual([target]);
      expect(await rowExists(table, target)).toBe(false);
    } else {
      expectRefusedOverHttp(who, response);
      expect(await rowExists(table, target)).toBe(true);
    }
  });
});

describe("columns a role may write", () => {
  const patchSelf = (who: Who, table: string, id: string, body: Record<string, unknown>) =>
    http(who, "PATCH", `/${table}?id=eq.${id}`, body);

  test("a client changes its own name and phone", async () => {
    const response = await patchSelf("clientA", "users", clientA.user.id, {
      name: "Klien A Baru",
      phone: "+6281111111111",
    });
    expect(response.status).toBe(200);
    expect(await db.query("select name, phone from api.users where id = $1", [clientA.user.id])).toEqual([
      { name: "Klien A Baru", phone: "+6281111111111" },
    ]);
  });

  test.each([
    ["role", "admin"],
    ["email_verified", true],
    ["email", "other@example.id"],
    ["id", "00000000-0000-4000-8000-000000000000"],
    ["created_at", "2020-01-01T00:00:00Z"],
  ])("a client cannot change its own %s (403 42501)", async (column, value) => {
    const before = await rowDoc("users", clientA.user.id);
    const response = await patchSelf("clientA", "users", clientA.user.id, { [column]: value });
    expectRefusedOverHttp("clientA", response);
    expect(await rowDoc("users", clientA.user.id)).toEqual(before);
  });

  test("a client cannot give itself admin through set_user_role (403 FORBIDDEN)", async () => {
    const response = await api.request("/rpc/set_user_role", {
      method: "POST",
      token: clientA.token,
      body: JSON.stringify({ user_id: clientA.user.id, role: "admin" }),
    });
    expect(response.status).toBe(403);
    expect((response.body as { code: string }).code).toBe("FORBIDDEN");
    expect(await db.query("select role from api.users where id = $1", [clientA.user.id])).toEqual([{ role: "client" }]);
  });

  test("a filter matching every user still changes only the client's own row", async () => {
    const before = await rowDoc("users", clientB.user.id);
    const response = await http("clientA", "PATCH", "/users?id=not.is.null", { name: "Semua?" });
    expect((response.body as { id: string }[]).map((r) => r.id)).toEqual([clientA.user.id]);
    expect(await rowDoc("users", clientB.user.id)).toEqual(before);
  });

  test("an admin verifies an email but cannot set a role or an email (403 42501)", async () => {
    const verify = await patchSelf("admin", "users", clientB.user.id, { email_verified: true });
    expect(verify.status).toBe(200);
    expect(await db.query("select email_verified from api.users where id = $1", [clientB.user.id])).toEqual([
      { email_verified: true },
    ]);
    for (const body of [{ role: "admin" }, { email: "baru@example.id" }]) {
      const before = await rowDoc("users", clientB.user.id);
      expectRefusedOverHttp("admin", await patchSelf("admin", "users", clientB.user.id, body));
      expect(await rowDoc("users", clientB.user.id)).toEqual(before);
    }
  });

  test.each([
    ["status", "completed"],
    ["url", "https://a.example.id"],
    ["user_id", "00000000-0000-4000-8000-000000000000"],
    ["type", "berita"],
  ])("a client cannot change its project's %s (403 42501)", async (column, value) => {
    const before = await rowDoc("projects", f.projects!.a);
    expectRefusedOverHttp("clientA", await patchSelf("clientA", "projects", f.projects!.a, { [column]: value }));
    expect(await rowDoc("projects", f.projects!.a)).toEqual(before);
  });

  test("an admin sets a project's status and url, but not its owner or type (403 42501)", async () => {
    // A project starts only once paid (the life-cycle trigger checks it), so
    // this uses a project of its own with a paid invoice, not the fixtures.
    const [paid] = await db.query<{ id: string }>(
      "insert into api.projects (user_id, name, type) values ($1, 'Situs Lunas', 'company') returning id::text",
      [clientB.user.id],
    );
    await db.query(
      "insert into api.invoices (project_id, amount, status, paid_at) values ($1, 1000000, 'paid', now())",
      [paid!.id],
    );
    const ok = await patchSelf("admin", "projects", paid!.id, {
      status: "in_progress",
      url: "https://b.example.id",
    });
    expect(ok.status).toBe(200);
    expect(await db.query("select status, url from api.projects where id = $1", [paid!.id])).toEqual([
      { status: "in_progress", url: "https://b.example.id" },
    ]);
    await db.query("delete from api.projects where id = $1", [paid!.id]);
    expectRefusedOverHttp("admin", await patchSelf("admin", "projects", f.projects!.b, { user_id: clientA.user.id }));
    expectRefusedOverHttp("admin", await patchSelf("admin", "projects", f.projects!.b, { type: "berita" }));
  });

  test.each([
    ["projects", "name = 'x'"],
    ["projects", "user_id = null"],
    ["invoices", "amount = 1"],
    ["invoices", "project_id = null"],
    ["real_time_notifications", "title = 'x'"],
    ["websocket_connections", "user_id = null"],
  ])("the worker cannot change %s %s (42501)", async (table, assignment) => {
    const error = await sqlErrorOf(
      asRole(db, "app_worker", (c) => c.query(`update api.${table} set ${assignment} where id = $1`, [f[table]!.a])),
    );
    expect(error.code).toBe("42501");
  });

  test("the worker records a payment on an invoice", async () => {
    const changed = await asRole(db, "app_worker", async (c) => {
      await c.query("update api.invoices set status = 'pending' where id = $1", [f.invoices!.a]);
      await c.query(
        `update api.invoices set status = 'paid', paid_at = now(), midtrans_order_id = 'JW-1', qris_url = 'https://qr.example.id/1' where id = $1`,
        [f.invoices!.a],
      );
      return (await c.query("select status from api.invoices where id = $1", [f.invoices!.a])).rows;
    });
    expect(changed).toEqual([{ status: "paid" }]);
  });

  test("a client marks its notification read, but cannot mark it unread again (403 42501)", async () => {
    const id = await insertReturningId(
      `insert into api.real_time_notifications (user_id, type, title, message) values ($1, 'new_feature', 'Baru', 'x')`,
      [clientA.user.id],
    );
    const read = await patchSelf("clientA", "real_time_notifications", id, { read: true });
    expect(read.status).toBe(200);
    const unread = await patchSelf("clientA", "real_time_notifications", id, { read: false });
    expectRefusedOverHttp("clientA", unread);
    expect((unread.body as { message: string }).message).toMatch(/row-level security/);
    expect(await db.query("select read from api.real_time_notifications where id = $1", [id])).toEqual([
      { read: true },
    ]);
  });

  test("a client cannot retitle a notification or hand it to someone else (403 42501)", async () => {
    for (const body of [{ title: "Diubah" }, { user_id: clientB.user.id }, { message: "x" }]) {
      const before = await rowDoc("real_time_notifications", f.real_time_notifications!.a);
      expectRefusedOverHttp(
        "clientA",
        await patchSelf("clientA", "real_time_notifications", f.real_time_notifications!.a, body),
      );
      expect(await rowDoc("real_time_notifications", f.real_time_notifications!.a)).toEqual(before);
    }
  });
});

describe("embedded resources and functions respect the same rows", () => {
  const idsOf = (rows: unknown) => (rows as { id: string }[]).map((r) => r.id).sort();

  test.each(["clientA", "clientB"] as const)("%s embeds only its own invoices in its projects", async (who) => {
    const { own } = ownAndOther(who, "projects");
    const response = await http(who, "GET", "/projects?select=id,invoices(id)");
    expect(response.body).toEqual([{ id: own, invoices: [{ id: ownAndOther(who, "invoices").own }] }]);
  });

  test.each(["clientA", "clientB"] as const)("%s embeds only itself and its own projects from users", async (who) => {
    const response = await http(who, "GET", "/users?select=id,projects(id,invoices(id)),real_time_notifications(id)");
    const rows = response.body as {
      id: string;
      projects: { id: string; invoices: { id: string }[] }[];
      real_time_notifications: unknown[];
    }[];
    expect(rows.map((r) => r.id)).toEqual([userIdOf(who)]);
    expect(rows[0]!.projects.map((p) => p.id)).toEqual([ownAndOther(who, "projects").own]);
    const ownNotifications = await db.query<{ id: string }>(
      "select id::text from api.real_time_notifications where user_id = $1",
      [userIdOf(who)],
    );
    expect(idsOf(rows[0]!.real_time_notifications)).toEqual(ownNotifications.map((r) => r.id).sort());
  });

  test("a client reaching for another client's invoice through an embed filter gets nothing", async () => {
    const inner = await http(
      "clientA",
      "GET",
      `/projects?select=id,invoices!inner(id)&invoices.project_id=eq.${f.projects!.b}`,
    );
    expect(inner.body).toEqual([]);
    const upward = await http(
      "clientA",
      "GET",
      `/invoices?select=id,projects(id,users(id,email))&id=eq.${f.invoices!.b}`,
    );
    expect(upward.body).toEqual([]);
    const downward = await http("clientA", "GET", `/invoices?select=id,projects(id,users(id))`);
    expect(downward.body).toEqual([
      { id: f.invoices!.a, projects: { id: f.projects!.a, users: { id: clientA.user.id } } },
    ]);
  });

  test("an admin embeds every client's invoices", async () => {
    const response = await http("admin", "GET", "/projects?select=id,invoices(id)");
    const byProject = Object.fromEntries(
      (response.body as { id: string; invoices: { id: string }[] }[]).map((p) => [p.id, p.invoices.map((i) => i.id)]),
    );
    expect(byProject[f.projects!.a]).toEqual([f.invoices!.a]);
    expect(byProject[f.projects!.b]).toEqual([f.invoices!.b]);
  });

  test.each(["clientA", "clientB", "admin"] as const)("/rpc/me answers %s with its own row only", async (who) => {
    const id = who === "admin" ? admin.user.id : userIdOf(who);
    for (const method of ["GET", "POST"]) {
      const response = await api.request("/rpc/me", {
        method,
        token: tokenOf(who),
        ...(method === "POST" ? { body: "{}" } : {}),
      });
      expect(response.status).toBe(200);
      expect((response.body as { id: string }).id).toBe(id);
    }
  });

  test("/rpc/me takes no user id: asking for another user's is refused (404 PGRST202)", async () => {
    const response = await api.request(`/rpc/me?id=${clientB.user.id}`, { token: clientA.token });
    expect(response.status).toBe(404);
    expect((response.body as { code: string }).code).toBe("PGRST202");
  });

  test("/rpc/me refuses anonymous visitors (401 42501)", async () => {
    expectRefusedOverHttp("anon", await api.request("/rpc/me"));
  });
});

describe("what the catalog grants", () => {
  const apiRoles = ["web_anon", "app_client", "app_admin", "app_worker", "authenticator"];

  test("no API role holds any privilege on an app_private table or its schema", async () => {
    const rows = await db.query<{ role: string; table: string }>(
      `select r.rolname as role, c.oid::regclass::text as table
         from pg_class c cross join pg_roles r
        where c.relnamespace = 'app_private'::regnamespace and c.relkind in ('r', 'p', 'v', 'm')
          and r.rolname = any($1)
          and (has_table_privilege(r.oid, c.oid, 'select, insert, update, delete, truncate, references, trigger')
               or has_any_column_privilege(r.oid, c.oid, 'select, insert, update, references'))`,
      [apiRoles],
    );
    expect(rows).toEqual([]);
    const tables = await db.query<{ n: number }>(
      `select count(*)::int as n from pg_class where relnamespace = 'app_private'::regnamespace and relkind in ('r', 'p')`,
    );
    expect(tables[0]!.n).toBeGreaterThan(5);
    const usage = await db.query(
      `select rolname from pg_roles where rolname = any($1) and has_schema_privilege(oid, 'app_private', 'usage')`,
      [apiRoles],
    );
    expect(usage).toEqual([]);
  });

  test("a client asking for the app_private profile is refused (406 PGRST106)", async () => {
    const response = await api.request("/user_secrets", {
      token: clientA.token,
      headers: { "accept-profile": "app_private" },
    });
    expect(response.status).toBe(406);
    expect((response.body as { code: string }).code).toBe("PGRST106");
  });

  test("every table of api and app_private has row-level security enabled", async () => {
    const rows = await db.query(
      `select oid::regclass::text as table from pg_class
        where relnamespace in ('api'::regnamespace, 'app_private'::regnamespace) and relkind in ('r', 'p') and not relrowsecurity`,
    );
    expect(rows).toEqual([]);
  });

  test("the API roles hold exactly the matrix's grants on api tables (pinned)", async () => {
    const rows = await db.query<{ line: string }>(
      `select grantee || ' ' || privilege || ' ' || target as line from (
         select a.grantee::regrole::text as grantee, a.privilege_type as privilege, c.relname::text as target
           from pg_class c, aclexplode(c.relacl) a
          where c.relnamespace = 'api'::regnamespace and c.relkind in ('r', 'p', 'v', 'm') and a.grantee <> c.relowner
         union all
         select a.grantee::regrole::text, a.privilege_type || '(' || string_agg(att.attname, ',' order by att.attnum) || ')', c.relname::text
           from pg_class c join pg_attribute att on att.attrelid = c.oid, aclexplode(att.attacl) a
          where c.relnamespace = 'api'::regnamespace and c.relkind in ('r', 'p') and a.grantee <> c.relowner
          group by 1, a.privilege_type, 3
       ) g order by 1`,
    );
    const content = ["templates", "pricing_plans", "faqs", "posts", "pages"];
    const contentColumns: Record<string, string> = {
      templates: "name,category,image_url,demo_url",
      pricing_plans: "identifier,name,price,description,features,popular,color,sort_order,is_active",
      faqs: "question,answer,sort_order,is_active",
      posts: "title,slug,content,featured_image,status,published_at",
      pages: "title,slug,content",
    };
    const expected = [
      "app_client SELECT users",
      "app_client UPDATE(name,phone) users",
      "app_admin SELECT users",
      "app_admin UPDATE(name,phone,email_verified) users",
      "app_admin DELETE users",
      "app_client SELECT projects",
      "app_client UPDATE(name) projects",
      "app_admin SELECT projects",
      "app_admin UPDATE(name,status,url) projects",
      "app_admin DELETE projects",
      "app_worker SELECT projects",
      "app_worker UPDATE(status,url) projects",
      "app_client SELECT invoices",
      "app_admin SELECT invoices",
      "app_worker SELECT invoices",
      "app_worker UPDATE(status,midtrans_order_id,qris_url,paid_at,qris_expires_at) invoices",
      "app_admin SELECT payment_attempts",
      "app_worker SELECT payment_attempts",
      "app_worker UPDATE(midtrans_transaction_id,midtrans_status,qris_url,expires_at) payment_attempts",
      "app_admin SELECT payment_notifications",
      "app_worker SELECT payment_notifications",
      "app_client SELECT refunds",
      "app_admin SELECT refunds",
      "app_worker SELECT refunds",
      ...content.flatMap((t) => [
        `web_anon SELECT ${t}`,
        `app_client SELECT ${t}`,
        `app_admin SELECT ${t}`,
        `app_admin DELETE ${t}`,
        `app_admin INSERT(${contentColumns[t]}) ${t}`,
        `app_admin UPDATE(${contentColumns[t]}) ${t}`,
      ]),
      "app_admin SELECT audit_logs",
      "app_worker INSERT(user_id,action,resource,resource_id,old_values,new_values,ip_address,user_agent) audit_logs",
      "app_client SELECT real_time_notifications",
      "app_client UPDATE(read) real_time_notifications",
      "app_admin SELECT real_time_notifications",
      "app_admin DELETE real_time_notifications",
      "app_admin INSERT(user_id,type,title,message,payload,priority) real_time_notifications",
      "app_worker SELECT real_time_notifications",
      "app_worker INSERT(user_id,type,title,message,payload,priority) real_time_notifications",
      "app_worker UPDATE(read) real_time_notifications",
      "app_worker SELECT websocket_connections",
      "app_worker DELETE websocket_connections",
      "app_worker INSERT(user_id,connection_id,role,ip_address,user_agent,last_activity,is_alive,rooms) websocket_connections",
      "app_worker UPDATE(last_activity,is_alive,rooms) websocket_connections",
      "app_admin SELECT websocket_connections",
      "app_worker SELECT websocket_room_memberships",
      "app_worker DELETE websocket_room_memberships",
      "app_worker INSERT(connection_id,room_id) websocket_room_memberships",
      "app_worker UPDATE(joined_at) websocket_room_memberships",
      "app_admin SELECT websocket_room_memberships",
      "app_worker SELECT websocket_events",
      "app_worker DELETE websocket_events",
      "app_worker INSERT(event_type,connection_id,room_id,payload,delivered_at,is_delivered) websocket_events",
      "app_worker UPDATE(delivered_at,is_delivered) websocket_events",
      "app_admin SELECT websocket_events",
      "app_client SELECT websocket_message_queue",
      "app_admin SELECT websocket_message_queue",
    ];
    expect(rows.map((r) => r.line).sort()).toEqual(expected.sort());
  });
});
