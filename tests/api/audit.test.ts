/**
 * The audit trail over HTTP: every change writes exactly one audit row in
 * its own transaction (action, resource, resource id, actor, the client's IP
 * as the API edge found it behind a trusted proxy, user agent), secrets never
 * reach it, and nobody (admins
 * and the table owner included) changes or deletes a row of it.
 */
import { startApi, type TestApi } from "../helpers/api";
import { createAdmin, login, registerClient, uniqueEmail, type SignedIn } from "../helpers/auth";
import { createMigratedDatabase, type TestDatabase } from "../helpers/database";
import { asRole, sqlErrorOf } from "../helpers/roles";

let db: TestDatabase;
let api: TestApi;
let admin: SignedIn;
let client: SignedIn;

const USER_AGENT = "JasaWeb-Audit-Test/1.0 (jest)";
// As a proxy chain would send it: the client 203.0.113.7, then an internal
// proxy 10.0.0.1; the edge trusts the test's own address and 10.0.0.0/8.
const requestHeaders = { "x-forwarded-for": "203.0.113.7, 10.0.0.1", "user-agent": USER_AGENT };

beforeAll(async () => {
  db = await createMigratedDatabase();
  api = await startApi(db, {}, { trustedProxies: ["127.0.0.1", "10.0.0.0/8"] });
  admin = await createAdmin(api, db);
  client = await registerClient(api, { name: "Klien Audit" });
});

afterAll(async () => {
  await api?.stop();
  await db?.drop();
});

type AuditRow = {
  id: string;
  user_id: string | null;
  action: string;
  resource: string;
  resource_id: string | null;
  old_values: Record<string, unknown> | null;
  new_values: Record<string, unknown> | null;
  ip_address: string | null;
  user_agent: string | null;
};

function call(token: string | undefined, method: string, path: string, body?: unknown) {
  return api.request(path, {
    method,
    token,
    headers: { ...requestHeaders, prefer: "return=representation" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
}

const auditCount = async (): Promise<number> =>
  (await db.query<{ n: number }>("select count(*)::int as n from api.audit_logs"))[0]!.n;

/** The audit rows written while `fn` ran, oldest first. */
async function auditDuring<T>(fn: () => Promise<T>): Promise<{ result: T; rows: AuditRow[] }> {
  const before = (await db.query<{ id: string }>("select id::text from api.audit_logs")).map((r) => r.id);
  const result = await fn();
  const rows = await db.query<AuditRow>(
    `select id::text, user_id::text, action::text, resource, resource_id, old_values, new_values, ip_address, user_agent
       from api.audit_logs where id::text <> all($1) order by "timestamp", action`,
    [before],
  );
  return { result, rows };
}

/** What every audit row of a request carries: the actor, the client's address (the rightmost untrusted one) and the user agent. */
const fromRequestBy = (actor: string) => ({ user_id: actor, ip_address: "203.0.113.7", user_agent: USER_AGENT });

type ContentSpec = { table: string; create: () => Record<string, unknown>; update: Record<string, unknown> };
let serial = 0;
const next = () => `${Date.now().toString(36)}${++serial}`;
const content: ContentSpec[] = [
  {
    table: "posts",
    create: () => ({ title: "Kabar Baru", slug: `kabar-${next()}`, content: "Isi" }),
    update: { title: "Kabar Terbaru" },
  },
  {
    table: "templates",
    create: () => ({
      name: "Templat Baru",
      category: "company",
      image_url: "https://img.example.id/n.png",
      demo_url: "https://demo.example.id/n",
    }),
    update: { name: "Templat Terbaru" },
  },
  {
    table: "pages",
    create: () => ({ title: "Kontak", slug: `kontak-${next()}`, content: "Isi" }),
    update: { content: "Isi baru" },
  },
  {
    table: "faqs",
    create: () => ({ question: "Apakah ada garansi?", answer: "Ada" }),
    update: { answer: "Ada, 30 hari" },
  },
  {
    table: "pricing_plans",
    create: () => ({ identifier: `paket-${next()}`, name: "Paket Hemat", price: 1_000_000, description: "Hemat" }),
    update: { price: 1_200_000 },
  },
];

describe.each(content)("admin changes to $table", ({ table, create, update }) => {
  test("create, update and delete each write one audit row (CREATE, UPDATE, DELETE)", async () => {
    const created = await auditDuring(() => call(admin.token, "POST", `/${table}`, create()));
    expect(created.result.status).toBe(201);
    const row = (created.result.body as { id: string }[])[0]!;
    expect(created.rows).toEqual([
      expect.objectContaining({
        action: "CREATE",
        resource: table,
        resource_id: row.id,
        old_values: null,
        new_values: expect.objectContaining({ id: row.id }),
        ...fromRequestBy(admin.user.id),
      }),
    ]);

    const updated = await auditDuring(() => call(admin.token, "PATCH", `/${table}?id=eq.${row.id}`, update));
    expect(updated.result.status).toBe(200);
    expect(updated.rows).toHaveLength(1);
    const [column, value] = Object.entries(update)[0]!;
    expect(updated.rows[0]).toEqual(
      expect.objectContaining({
        action: "UPDATE",
        resource: table,
        resource_id: row.id,
        ...fromRequestBy(admin.user.id),
      }),
    );
    expect(updated.rows[0]!.old_values![column]).toEqual((row as Record<string, unknown>)[column]);
    expect(updated.rows[0]!.new_values![column]).toEqual(value);

    const deleted = await auditDuring(() => call(admin.token, "DELETE", `/${table}?id=eq.${row.id}`));
    expect(deleted.result.status).toBe(200);
    expect(deleted.rows).toEqual([
      expect.objectContaining({
        action: "DELETE",
        resource: table,
        resource_id: row.id,
        new_values: null,
        old_values: expect.objectContaining({ id: row.id }),
        ...fromRequestBy(admin.user.id),
      }),
    ]);
  });

  test("an update that changes nothing writes no audit row", async () => {
    const created = await call(admin.token, "POST", `/${table}`, create());
    const row = (created.body as Record<string, unknown>[])[0]!;
    const [column] = Object.keys(update);
    const unchanged = await auditDuring(() =>
      call(admin.token, "PATCH", `/${table}?id=eq.${row.id as string}`, { [column!]: row[column!] }),
    );
    expect(unchanged.result.status).toBe(200);
    expect(unchanged.rows).toEqual([]);
  });
});

describe("changes of users", () => {
  test("a client renaming itself writes one UPDATE users row", async () => {
    const { result, rows } = await auditDuring(() =>
      call(client.token, "PATCH", `/users?id=eq.${client.user.id}`, { name: "Klien Audit Baru" }),
    );
    expect(result.status).toBe(200);
    expect(rows).toEqual([
      expect.objectContaining({
        action: "UPDATE",
        resource: "users",
        resource_id: client.user.id,
        ...fromRequestBy(client.user.id),
      }),
    ]);
    expect(rows[0]!.old_values).toMatchObject({ name: "Klien Audit" });
    expect(rows[0]!.new_values).toMatchObject({ name: "Klien Audit Baru" });
  });

  test("set_user_role writes exactly one ROLE_CHANGE row with the old and new role", async () => {
    const target = await registerClient(api);
    const { result, rows } = await auditDuring(() =>
      call(admin.token, "POST", "/rpc/set_user_role", { user_id: target.user.id, role: "admin" }),
    );
    expect(result.status).toBe(200);
    expect(rows).toEqual([
      expect.objectContaining({
        action: "ROLE_CHANGE",
        resource: "users",
        resource_id: target.user.id,
        ...fromRequestBy(admin.user.id),
      }),
    ]);
    expect(rows[0]!.old_values).toMatchObject({ role: "client" });
    expect(rows[0]!.new_values).toMatchObject({ role: "admin" });
  });

  test("register writes one CREATE users row and one CREATE user_credentials row, both by the new user, hash redacted", async () => {
    const email = uniqueEmail("audit");
    const { result, rows } = await auditDuring(() =>
      call(undefined, "POST", "/rpc/register", { email, password: "rahasia-sekali-123", name: "Pendaftar" }),
    );
    expect(result.status).toBe(200);
    const id = (result.body as { user: { id: string } }).user.id;
    expect(rows.map((r) => `${r.action} ${r.resource}`).sort()).toEqual(["CREATE user_credentials", "CREATE users"]);
    const users = rows.find((r) => r.resource === "users")!;
    const credentials = rows.find((r) => r.resource === "user_credentials")!;
    expect(users).toEqual(expect.objectContaining({ resource_id: id, ...fromRequestBy(id) }));
    expect(users.new_values).toMatchObject({ id, email });
    expect(credentials).toEqual(expect.objectContaining({ resource_id: id, old_values: null, ...fromRequestBy(id) }));
    expect(credentials.new_values).toMatchObject({ user_id: id, password_hash: "[REDACTED]" });
    expect(JSON.stringify(rows)).not.toMatch(/\$2[abxy]\$|rahasia-sekali-123/);
  });

  test("login writes one LOGIN row", async () => {
    const { result, rows } = await auditDuring(() =>
      call(undefined, "POST", "/rpc/login", { email: client.user.email, password: "password-123" }),
    );
    expect(result.status).toBe(200);
    expect(rows).toEqual([
      expect.objectContaining({
        action: "LOGIN",
        resource: "users",
        resource_id: client.user.id,
        ...fromRequestBy(client.user.id),
      }),
    ]);
  });

  test("logout writes one LOGOUT row", async () => {
    const session = await login(api, client.user.email, "password-123");
    const { result, rows } = await auditDuring(() => call(session.token, "POST", "/rpc/logout", {}));
    expect(result.status).toBe(200);
    expect(rows).toEqual([
      expect.objectContaining({
        action: "LOGOUT",
        resource: "users",
        resource_id: client.user.id,
        ...fromRequestBy(client.user.id),
      }),
    ]);
  });

  test("a password change writes one UPDATE user_credentials row with both hashes redacted", async () => {
    const { rows } = await auditDuring(() =>
      db.query(
        "update app_private.user_secrets set password_hash = crypt('kata-sandi-baru', gen_salt('bf', 4)) where user_id = $1",
        [client.user.id],
      ),
    );
    expect(rows).toEqual([
      expect.objectContaining({ action: "UPDATE", resource: "user_credentials", resource_id: client.user.id }),
    ]);
    expect(rows[0]!.old_values).toMatchObject({ password_hash: "[REDACTED]" });
    expect(rows[0]!.new_values).toMatchObject({ password_hash: "[REDACTED]" });
  });
});

describe("projects, invoices and their credentials", () => {
  test("an admin moving a project along writes one UPDATE projects row", async () => {
    const [project] = await db.query<{ id: string }>(
      `insert into api.projects (user_id, name, type) values ($1, 'Situs', 'company') returning id::text`,
      [client.user.id],
    );
    await db.query(
      "insert into api.invoices (project_id, amount, status, paid_at) values ($1, 2500000, 'paid', now())",
      [project!.id],
    );
    const { result, rows } = await auditDuring(() =>
      call(admin.token, "PATCH", `/projects?id=eq.${project!.id}`, { status: "in_progress" }),
    );
    expect(result.status).toBe(200);
    expect(rows).toEqual([
      expect.objectContaining({
        action: "UPDATE",
        resource: "projects",
        resource_id: project!.id,
        ...fromRequestBy(admin.user.id),
      }),
    ]);
    expect([rows[0]!.old_values!.status, rows[0]!.new_values!.status]).toEqual(["pending_payment", "in_progress"]);
  });

  test("project credentials are audited as project_credentials, encrypted value redacted", async () => {
    const [project] = await db.query<{ id: string }>(
      `insert into api.projects (user_id, name, type) values ($1, 'Situs Rahasia', 'berita') returning id::text`,
      [client.user.id],
    );
    const { rows } = await auditDuring(() =>
      db.query(
        `insert into app_private.project_secrets (project_id, credentials_encrypted) values ($1, pgp_sym_encrypt('{"ftp":"sandi-ftp"}', 'kunci'))`,
        [project!.id],
      ),
    );
    expect(rows).toEqual([
      expect.objectContaining({ action: "CREATE", resource: "project_credentials", resource_id: project!.id }),
    ]);
    expect(rows[0]!.new_values).toMatchObject({ project_id: project!.id, credentials_encrypted: "[REDACTED]" });
  });

  test("deleting a project writes a DELETE row for it and for each row its deletion cascades to", async () => {
    const [project] = await db.query<{ id: string }>(
      `insert into api.projects (user_id, name, type) values ($1, 'Dihapus', 'sekolah') returning id::text`,
      [client.user.id],
    );
    const [invoice] = await db.query<{ id: string }>(
      `insert into api.invoices (project_id, amount) values ($1, 3500000) returning id::text`,
      [project!.id],
    );
    await db.query(`insert into app_private.project_secrets (project_id, credentials_encrypted) values ($1, '\\x00')`, [
      project!.id,
    ]);
    const { result, rows } = await auditDuring(() => call(admin.token, "DELETE", `/projects?id=eq.${project!.id}`));
    expect(result.status).toBe(200);
    expect(rows.map((r) => [r.action, r.resource, r.resource_id, r.user_id]).sort()).toEqual(
      [
        ["DELETE", "invoices", invoice!.id, admin.user.id],
        ["DELETE", "project_credentials", project!.id, admin.user.id],
        ["DELETE", "projects", project!.id, admin.user.id],
      ].sort(),
    );
  });

  test("no audit row anywhere holds a bcrypt hash, a password or credentials", async () => {
    const leaks = await db.query(
      `select action, resource from api.audit_logs
        where concat(old_values::text, new_values::text) ~ '[$]2[abxy][$]|password-123|rahasia-sekali-123|kata-sandi-baru'`,
    );
    expect(leaks).toEqual([]);
    const secrets = await db.query<{ resource: string; value: unknown }>(
      `select resource, coalesce(new_values, old_values) -> (case resource when 'user_credentials' then 'password_hash' else 'credentials_encrypted' end) as value
         from api.audit_logs where resource in ('user_credentials', 'project_credentials')`,
    );
    expect(secrets.length).toBeGreaterThan(3);
    expect(secrets.every((s) => s.value === "[REDACTED]")).toBe(true);
  });
});

describe("atomicity", () => {
  test("a PATCH that violates a CHECK constraint answers 400 (23514) and leaves no audit row", async () => {
    const created = await call(admin.token, "POST", "/posts", { title: "Aman", slug: `aman-${next()}`, content: "x" });
    const post = (created.body as { id: string; slug: string }[])[0]!;
    const before = await auditCount();
    const response = await call(admin.token, "PATCH", `/posts?id=eq.${post.id}`, { slug: "Bukan Slug!" });
    expect(response).toMatchObject({ status: 400, body: { code: "23514" } });
    expect(await auditCount()).toBe(before);
    expect(await db.query("select slug from api.posts where id = $1", [post.id])).toEqual([{ slug: post.slug }]);
  });

  test("rolling back a transaction rolls back the audit rows it wrote", async () => {
    const [faq] = await db.query<{ id: string }>(
      `insert into api.faqs (question, answer) values ('Sementara?', 'Ya') returning id::text`,
    );
    const before = await auditCount();
    const error = await sqlErrorOf(
      asRole(
        db,
        "app_admin",
        async (c) => {
          await c.query("update api.faqs set answer = 'Tidak' where id = $1", [faq!.id]);
          // The audit row exists inside the transaction...
          const inside = await c.query<{ n: number }>(
            "select count(*)::int as n from api.audit_logs where resource = 'faqs' and resource_id = $1 and action = 'UPDATE'",
            [faq!.id],
          );
          expect(inside.rows[0]!.n).toBe(1);
          await c.query("update api.faqs set sort_order = -1 where id = $1", [faq!.id]);
        },
        { claims: { role: "app_admin", sub: admin.user.id } },
      ),
    );
    expect(error.code).toBe("23514");
    // ...and is gone with it.
    expect(await auditCount()).toBe(before);
  });
});

describe("audit_logs is append-only", () => {
  let target: { id: string };
  beforeAll(async () => {
    const rows = await db.query<{ id: string }>(`select id::text from api.audit_logs where user_id = $1 limit 1`, [
      client.user.id,
    ]);
    target = rows[0]!;
  });
  const snapshot = async () => db.query("select to_jsonb(a) as doc from api.audit_logs a order by id");

  test("an admin cannot delete or change audit rows over HTTP (403 42501)", async () => {
    const before = await snapshot();
    const del = await call(admin.token, "DELETE", `/audit_logs?id=eq.${target.id}`);
    expect(del).toMatchObject({ status: 403, body: { code: "42501" } });
    const patch = await call(admin.token, "PATCH", `/audit_logs?id=eq.${target.id}`, { action: "VIEW" });
    expect(patch).toMatchObject({ status: 403, body: { code: "42501" } });
    const wipe = await call(admin.token, "DELETE", `/audit_logs?id=not.is.null`);
    expect(wipe).toMatchObject({ status: 403, body: { code: "42501" } });
    expect(await snapshot()).toEqual(before);
  });

  test("app_admin in SQL cannot update, delete or truncate audit rows (42501)", async () => {
    const before = await snapshot();
    const claims = { role: "app_admin", sub: admin.user.id };
    for (const sql of [
      "update api.audit_logs set user_id = null",
      "delete from api.audit_logs",
      "truncate api.audit_logs",
      "delete from app_private.audit_logs_default",
    ]) {
      expect((await sqlErrorOf(asRole(db, "app_admin", (c) => c.query(sql), { claims }))).code).toBe("42501");
    }
    expect(await snapshot()).toEqual(before);
  });

  test("even the table owner cannot update or delete audit rows (AUDIT_LOG_APPEND_ONLY)", async () => {
    const before = await snapshot();
    for (const sql of [
      `update api.audit_logs set action = 'VIEW' where id = '${target.id}'`,
      `update api.audit_logs set user_id = null where id = '${target.id}'`,
      `delete from api.audit_logs where id = '${target.id}'`,
    ]) {
      const error = await sqlErrorOf(db.query(sql));
      expect(error.code).toBe("PGRST");
      expect(JSON.parse(error.message)).toMatchObject({ code: "AUDIT_LOG_APPEND_ONLY" });
    }
    expect(await snapshot()).toEqual(before);
  });

  test("deleting a user still works and keeps its audit rows, with user_id null", async () => {
    const doomed = await registerClient(api);
    await call(doomed.token, "PATCH", `/users?id=eq.${doomed.user.id}`, { name: "Sebentar Lagi Pergi" });
    const ofUser = await db.query<{ id: string }>(
      "select id::text from api.audit_logs where user_id = $1 order by id",
      [doomed.user.id],
    );
    expect(ofUser.length).toBe(3); // CREATE users, CREATE user_credentials, UPDATE users

    const { result, rows } = await auditDuring(() => call(admin.token, "DELETE", `/users?id=eq.${doomed.user.id}`));
    expect(result.status).toBe(200);
    expect(rows.map((r) => [r.action, r.resource, r.user_id]).sort()).toEqual(
      [
        ["DELETE", "user_credentials", admin.user.id],
        ["DELETE", "users", admin.user.id],
      ].sort(),
    );
    const kept = await db.query<{ id: string; user_id: string | null; resource_id: string }>(
      "select id::text, user_id::text, resource_id from api.audit_logs where id::text = any($1) order by id",
      [ofUser.map((r) => r.id)],
    );
    expect(kept.map((r) => r.id)).toEqual(ofUser.map((r) => r.id));
    expect(kept.every((r) => r.user_id === null && r.resource_id === doomed.user.id)).toBe(true);
  });

  test("partition upkeep still moves rows out of the default partition and drops expired months", async () => {
    // A row for a month that has no partition lands in the default one...
    const [old] = await db.query<{ id: string }>(
      `insert into api.audit_logs (action, resource, "timestamp") values ('VIEW', 'retention-test', date_trunc('month', now()) - interval '24 months' + interval '3 days') returning id::text`,
    );
    const where = async () =>
      (
        await db.query<{ part: string }>(`select tableoid::regclass::text as part from api.audit_logs where id = $1`, [
          old!.id,
        ])
      )[0]?.part;
    expect(await where()).toBe("app_private.audit_logs_default");
    // ...a direct delete from it is refused...
    const refused = await sqlErrorOf(db.query(`delete from app_private.audit_logs_default where id = $1`, [old!.id]));
    expect(JSON.parse(refused.message)).toMatchObject({ code: "AUDIT_LOG_APPEND_ONLY" });
    // ...but creating its month's partition moves it there,
    await db.query(
      `select app_private.create_monthly_partitions('api.audit_logs', 0, (date_trunc('month', now()) - interval '24 months')::date)`,
    );
    expect(await where()).toMatch(/^app_private\.audit_logs_p\d{6}$/);
    // and retention drops that whole partition.
    const dropped = await db.query<{ name: string }>(
      `select app_private.drop_expired_partitions('api.audit_logs', 12) as name`,
    );
    expect(dropped.length).toBe(1);
    expect(await where()).toBeUndefined();
  });
});
