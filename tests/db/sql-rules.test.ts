/**
 * The data rules written once (migration 000033): each app_hidden helper
 * gives exactly the verdict of the expression it replaced, on a corpus of
 * good, bad, blank, boundary-length, non-ASCII and null values; every CHECK
 * constraint re-created with the helpers keeps its name and agrees with its
 * original definition, read back from the catalog after the down scripts;
 * the API roles and the worker can write rows that the helpers check. Also
 * which read-only RPCs run as the caller (migration 000035).
 */
import fs from "node:fs";
import path from "node:path";
import type { PoolClient } from "pg";
import { migrationsFolder } from "../../config/paths";
import { createMigratedDatabase, inRolledBackTransaction, type TestDatabase } from "../helpers/database";
import { asRole, type ApiRole } from "../helpers/roles";
import { insertRow, outcomeOf, violation, type Row } from "../helpers/sql";

let db: TestDatabase;
const fx = { userId: "", projectId: "", connectionId: "fixture-connection" };

beforeAll(async () => {
  db = await createMigratedDatabase();
  const [user] = await db.query<{ id: string }>(
    `insert into api.users (email, name) values ('pemilik@example.id', 'Pemilik') returning id`,
  );
  fx.userId = user!.id;
  const [project] = await db.query<{ id: string }>(
    `insert into api.projects (user_id, name, type) values ($1, 'Website SMA 1', 'sekolah') returning id`,
    [fx.userId],
  );
  fx.projectId = project!.id;
  await db.query(`insert into api.websocket_connections (user_id, connection_id, role) values ($1, $2, 'client')`, [
    fx.userId,
    fx.connectionId,
  ]);
});
afterAll(async () => {
  await db?.drop();
});

// The regular expressions as migrations 000005-000010, 000021 and 000024 typed them.
const URL_RE = String.raw`'^https?://[^\s/$.?#].[^\s]*$'`;
const SLUG_RE = String.raw`'^[a-z0-9]+(-[a-z0-9]+)*$'`;
const EMAIL_RE = String.raw`'^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$'`;
const LOWER_EMAIL_RE = String.raw`'^[a-z0-9._%+-]+@[a-z0-9.-]+\.[a-z]{2,}$'`;
const PHONE_RE = String.raw`'^\+?[0-9]{8,15}$'`;
const UUID_RE = `'^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'`;

const UUID = "0f8fad5b-d9cb-469f-a165-70867728950e";
const blanks = ["", " ", "   ", "\t", "\n", "\r\n", "\u00a0", "\u3000", "\u2003", " \t\n "];
const corpus = {
  url: [
    "https://jasaweb.id",
    "http://jasaweb.id",
    "https://cdn.jasaweb.id/templates/sekolah-ceria.png",
    "https://a.b",
    "https://ab",
    "http://localhost:3000/x?y=1#z",
    "https://xn--bcher-kva.example/ä",
    "https://",
    "http://",
    "https:/x.id",
    "ftp://jasaweb.id",
    "HTTPS://jasaweb.id",
    "https://jasaweb .id",
    "https://jasaweb.id/a b",
    " https://jasaweb.id",
    "https://jasaweb.id\n",
    "https://jasaweb.id\t",
    "https:///jasaweb.id",
    "https://.jasaweb.id",
    "https://?x",
    "https://#x",
    "https://$x",
    "https://x",
    "javascript:alert(1)",
    "//jasaweb.id",
    "jasaweb.id",
  ],
  slug: [
    "halo-dunia",
    "a",
    "1",
    "a1-b2-c3",
    "tentang-kami",
    "-a",
    "a-",
    "a--b",
    "A",
    "Halo-Dunia",
    "halo_dunia",
    "halo dunia",
    "halo-dunia ",
    "é",
    "halo.dunia",
    "x".repeat(200),
    "x".repeat(201),
    `${"a-".repeat(99)}ab`,
    `${"a-".repeat(100)}a`,
  ],
  email: [
    "siti@example.id",
    "Siti.Nur+web@Sekolah-Ku.sch.id",
    "a_b%c@example.co",
    "a@b.co",
    "a@b.c",
    "a@b",
    "@b.co",
    "a@.co",
    "a@b..co",
    "siti nur@example.id",
    "siti@@example.id",
    "siti@example.id ",
    " siti@example.id",
    "siti@example.i1",
    "ä@example.id",
    "siti@exämple.id",
    "SITI@EXAMPLE.ID",
    "siti@localhost",
    `${"a".repeat(243)}@example.id`,
  ],
  phone: [
    "+6281234567890",
    "081234567890",
    "12345678",
    "+12345678",
    "123456789012345",
    "+123456789012345",
    "1234567",
    "1234567890123456",
    "+",
    "++6281234567",
    "0812-3456-7890",
    "0812 3456 7890",
    "٠٨١٢٣٤٥٦٧٨",
    "12345678 ",
    "+62a12345678",
  ],
  text: [
    "a",
    "Siti",
    " a ",
    "\ta",
    "x".repeat(200),
    "x".repeat(201),
    "x".repeat(300),
    "x".repeat(301),
    "é".repeat(200),
    "é".repeat(201),
    ` ${"x".repeat(199)}`,
    ...blanks,
  ],
  uuid: [
    UUID,
    UUID.toUpperCase(),
    `{${UUID}}`,
    UUID.replace(/-/g, ""),
    ` ${UUID}`,
    `${UUID} `,
    `${UUID}0`,
    UUID.slice(1),
    "0f8fad5b-d9cb-469f-a165-70867728950g",
    "0f8fad5bd9cb-469f-a165-70867728950e-",
    "not-a-uuid",
    "-".repeat(36),
  ],
};
const everything = [...new Set(Object.values(corpus).flat())];

type Equivalence = { helper: string; original: string; values: (string | null)[] };
const equivalences: Record<string, Equivalence> = {
  "is_http_url is the URL format of projects, invoices, templates and posts": {
    helper: "app_hidden.is_http_url(v)",
    original: `v ~ ${URL_RE}`,
    values: [...corpus.url, ...blanks, null],
  },
  "is_slug is the slug format of posts and pages, length included": {
    helper: "app_hidden.is_slug(v)",
    original: `v ~ ${SLUG_RE} and length(v) <= 200`,
    values: [...corpus.slug, ...blanks, null],
  },
  "is_email is users_email_format": {
    helper: "app_hidden.is_email(v)",
    original: `v ~ ${EMAIL_RE}`,
    values: [...corpus.email, ...blanks, null],
  },
  "is_email on the trimmed, lower-cased address is validate_email's former lower-case regex": {
    helper: "app_hidden.is_email(lower(btrim(v)))",
    original: `lower(btrim(v)) ~ ${LOWER_EMAIL_RE}`,
    values: [...corpus.email, ...blanks, null],
  },
  "is_phone is the phone format of users and of profile validation": {
    helper: "app_hidden.is_phone(v)",
    original: `v ~ ${PHONE_RE}`,
    values: [...corpus.phone, ...blanks, null],
  },
  "is_not_blank(text) is the not-blank rule": {
    helper: "app_hidden.is_not_blank(v)",
    original: String.raw`v ~ '\S'`,
    values: [...corpus.text, null],
  },
  "is_not_blank(text, 200) is the rule of names": {
    helper: "app_hidden.is_not_blank(v, 200)",
    original: String.raw`v ~ '\S' and length(v) <= 200`,
    values: [...corpus.text, null],
  },
  "is_not_blank(text, 300) is the rule of titles": {
    helper: "app_hidden.is_not_blank(v, 300)",
    original: String.raw`v ~ '\S' and length(v) <= 300`,
    values: [...corpus.text, null],
  },
  "try_uuid reads a claim as current_user_id and pre_request did": {
    helper: "app_hidden.try_uuid(v)",
    original: `case when v ~* ${UUID_RE} then v::uuid end`,
    values: [...corpus.uuid, ...blanks, null],
  },
};

describe("each helper gives the verdict of the expression it replaced", () => {
  test.each(Object.entries(equivalences))("%s", async (_title, { helper, original, values }) => {
    const rows = await db.query<{ v: string | null; helper: unknown; original: unknown }>(
      `select v, (${helper})::text as helper, (${original})::text as original from unnest($1::text[]) as t(v)`,
      [values],
    );
    expect(rows).toHaveLength(values.length);
    const disagreements = rows.filter((r) => r.helper !== r.original);
    expect(disagreements).toEqual([]);
    // The corpus has values the rule accepts, values it refuses, and null.
    const refused = (r: { original: unknown }) => r.original === null || r.original === "false";
    expect(rows.filter((r) => r.v !== null && !refused(r)).length).toBeGreaterThan(0);
    expect(rows.filter((r) => r.v !== null && refused(r)).length).toBeGreaterThan(0);
    expect(rows.filter((r) => r.v === null)).toEqual([{ v: null, helper: null, original: null }]);
  });

  test("the helpers are immutable, parallel safe, not SECURITY DEFINER, with a body fixed at creation (search_path cannot change it)", async () => {
    const rows = await db.query<{
      fn: string;
      volatile: string;
      parallel: string;
      definer: boolean;
      sql_body: boolean;
    }>(
      `select p.oid::regprocedure::text as fn, p.provolatile::text as volatile, p.proparallel::text as parallel,
              p.prosecdef as definer, p.prosqlbody is not null as sql_body
         from pg_proc p where p.pronamespace = 'app_hidden'::regnamespace and p.proname in
              ('is_http_url', 'is_slug', 'is_email', 'is_phone', 'is_not_blank', 'try_uuid', 'or_list') order by 1`,
    );
    expect(rows.map((r) => r.fn)).toEqual([
      "app_hidden.is_email(text)",
      "app_hidden.is_http_url(text)",
      "app_hidden.is_not_blank(text)",
      "app_hidden.is_not_blank(text,integer)",
      "app_hidden.is_phone(text)",
      "app_hidden.is_slug(text)",
      "app_hidden.or_list(text[])",
      "app_hidden.try_uuid(text)",
    ]);
    for (const row of rows) {
      expect({
        fn: row.fn,
        volatile: row.volatile,
        parallel: row.parallel,
        definer: row.definer,
        sql_body: row.sql_body,
      }).toEqual({
        fn: row.fn,
        volatile: "i",
        parallel: "s",
        definer: false,
        sql_body: true,
      });
    }
  });

  test("the helpers are inlined: a query that calls them plans the bare expression", async () => {
    const plan = await db.query<{ "QUERY PLAN": string }>(
      `explain (verbose, costs off)
       select v from unnest(array['https://jasaweb.id']) as t(v) where app_hidden.is_http_url(v) and app_hidden.is_not_blank(v, 200)`,
    );
    const text = plan.map((r) => r["QUERY PLAN"]).join("\n");
    expect(text).not.toMatch(/app_hidden\./);
    expect(text).toContain("^https?://");
  });

  test("try_uuid never fails, whatever the text", async () => {
    const rows = await db.query<{ n: string }>(
      `select count(app_hidden.try_uuid(v)) as n from unnest($1::text[]) as t(v)`,
      [[...everything, "{}", "🙂".repeat(36)]],
    );
    expect(Number(rows[0]!.n)).toBe(2); // the canonical uuid, lower and upper case
  });

  test("current_user_id reads the sub claim with try_uuid: a canonical uuid, or null", async () => {
    const cases: [unknown, string | null][] = [
      [UUID, UUID],
      [UUID.toUpperCase(), UUID],
      [`{${UUID}}`, null],
      [UUID.replace(/-/g, ""), null],
      ["not-a-uuid", null],
      [42, null],
      [undefined, null],
    ];
    for (const [sub, expected] of cases) {
      const claims = sub === undefined ? { role: "app_client" } : { role: "app_client", sub };
      const id = await asRole(
        db,
        "app_client",
        async (c) => (await c.query<{ id: string | null }>("select app_hidden.current_user_id() as id")).rows[0]!.id,
        { claims },
      );
      expect({ sub, id }).toEqual({ sub, id: expected });
    }
  });

  test("or_list builds the English list error messages name the accepted values with", async () => {
    const rows = await db.query<{ one: string; two: string; three: string; none: string | null }>(
      `select app_hidden.or_list(array['a']) as one, app_hidden.or_list(array['admin', 'client']) as two,
              app_hidden.or_list(enum_range(null::api.project_type)::text[]) as three, app_hidden.or_list(null) as none`,
    );
    expect(rows[0]).toEqual({ one: "a", two: "admin or client", three: "sekolah, berita or company", none: null });
  });
});

/** The CHECK constraints migration 000033 re-created with the helpers. */
const recreated = [
  "audit_logs_resource_not_blank",
  "faqs_answer_not_blank",
  "faqs_question_not_blank",
  "invoices_qris_url_format",
  "pages_slug_format",
  "pages_title_not_blank",
  "posts_featured_image_format",
  "posts_slug_format",
  "posts_title_not_blank",
  "pricing_plans_name_not_blank",
  "projects_name_not_blank",
  "projects_url_format",
  "real_time_notifications_title_not_blank",
  "templates_name_not_blank",
  "templates_url_format",
  "users_email_format",
  "users_name_not_blank",
  "users_phone_format",
  "websocket_connections_connection_id_not_blank",
  "websocket_room_memberships_room_id_not_blank",
];

type Definition = { table: string; name: string; def: string; columns: string[] };

/** The CHECK constraints of the api tables (not the partitions' copies). */
async function checkConstraints(client: PoolClient): Promise<Map<string, Definition>> {
  const { rows } = await client.query<Definition>(
    `select co.conrelid::regclass::text as table, co.conname as name, pg_get_constraintdef(co.oid) as def,
            array(select a.attname::text from unnest(co.conkey) k join pg_attribute a
                   on a.attrelid = co.conrelid and a.attnum = k order by 1) as columns
       from pg_constraint co join pg_class c on c.oid = co.conrelid
      where co.contype = 'c' and c.relnamespace = 'api'::regnamespace`,
  );
  return new Map(rows.map((r) => [r.name, r]));
}

const expressionOf = (def: string): string => {
  const match = /^CHECK \((.*)\)$/s.exec(def);
  if (!match) throw new Error(`not a CHECK constraint definition: ${def}`);
  return match[1]!;
};

describe("the CHECK constraints re-created with the helpers", () => {
  let now: Map<string, Definition>;
  let before: Map<string, Definition>;

  beforeAll(async () => {
    // The definitions right after migration 000033 (every later migration
    // undone by its down script, newest first) and right before it (its own
    // down script), read inside a transaction that is rolled back; the
    // reversibility test proves the down scripts restore the catalog exactly.
    const downFolder = path.join(migrationsFolder, "down");
    const downOf = (file: string) => fs.readFileSync(path.join(downFolder, file), "utf8");
    const files = fs
      .readdirSync(downFolder)
      .filter((f) => /^\d{6}-/.test(f))
      .sort();
    const helpers = files.find((f) => f.startsWith("000033-"));
    if (!helpers) throw new Error("no down script for migration 000033");
    const later = files.filter((f) => f > helpers).reverse();
    await inRolledBackTransaction(db, async (client) => {
      for (const file of later) await client.query(downOf(file));
      now = await checkConstraints(client);
      await client.query(downOf(helpers));
      before = await checkConstraints(client);
    });
  });

  test("are exactly the named constraints that repeated a rule, under the same names, now calling app_hidden helpers", () => {
    const changed = [...now.values()].filter((c) => before.get(c.name)?.def !== c.def).map((c) => c.name);
    expect(changed.sort()).toEqual(recreated);
    expect([...now.keys()].sort()).toEqual([...before.keys()].sort());
    for (const name of recreated) {
      expect(now.get(name)!.def).toMatch(/app_hidden\.(is_http_url|is_slug|is_email|is_phone|is_not_blank)\(/);
      expect(before.get(name)!.def).not.toMatch(/app_hidden\./);
    }
  });

  test("no CHECK constraint of ours retypes a helper's rule", async () => {
    const rows = await db.query<{ name: string; def: string }>(
      `select conname as name, pg_get_constraintdef(oid) as def from pg_constraint
        where contype = 'c' and connamespace in ('api'::regnamespace, 'app_private'::regnamespace)`,
    );
    const retyped = rows.filter((r) => /https\?:|\\S|\[a-z0-9\]\+\(-|@\[A-Za-z|\[0-9\]\{8,15\}/.test(r.def));
    expect(retyped).toEqual([]);
  });

  test.each(recreated)("%s gives the verdict of its original definition on every value of the corpus", async (name) => {
    const current = now.get(name)!;
    const original = before.get(name)!;
    expect(current.columns).toEqual(original.columns);
    // Every value for a one-column rule; for templates_url_format (two
    // columns) every pair from a smaller set of URLs and blanks.
    const values = current.columns.length === 1 ? [...everything, null] : [...corpus.url.slice(0, 12), "", " ", null];
    const tuples =
      current.columns.length === 1 ? values.map((v) => [v]) : values.flatMap((a) => values.map((b) => [a, b]));
    const columns = current.columns.map((c) => `"${c}"`).join(", ");
    const arrays = current.columns.map((_, i) => `$${i + 1}::text[]`).join(", ");
    const rows = await db.query<{ now: string | null; was: string | null }>(
      `select (${expressionOf(current.def)})::text as now, (${expressionOf(original.def)})::text as was
         from unnest(${arrays}) as t(${columns})`,
      current.columns.map((_, i) => tuples.map((t) => t[i])),
    );
    expect(rows).toHaveLength(tuples.length);
    const disagreements = rows.map((r, i) => ({ values: tuples[i], ...r })).filter((r) => r.now !== r.was);
    expect(disagreements).toEqual([]);
  });
});

/**
 * A row of each table whose constraints were re-created, written by the role
 * that writes such rows through the API (or by the owner, for tables only
 * SECURITY DEFINER functions write): the helpers run with the writer's
 * privileges, so this proves the grants.
 */
type Writer = { role: ApiRole | "owner"; row: () => Row };
const writers: Record<string, Writer> = {
  "api.users": { role: "owner", row: () => ({ email: "siti@example.id", name: "Siti", phone: "+6281234567890" }) },
  "api.projects": {
    role: "owner",
    row: () => ({ user_id: fx.userId, name: "Portal", type: "berita", url: "https://portal.id" }),
  },
  "api.invoices": {
    role: "owner",
    row: () => ({ project_id: fx.projectId, amount: 2_500_000, qris_url: "https://qr.id/1.png" }),
  },
  "api.templates": {
    role: "app_admin",
    row: () => ({
      name: "Sekolah Ceria",
      category: "sekolah",
      image_url: "https://cdn.id/a.png",
      demo_url: "https://demo.id/a",
    }),
  },
  "api.posts": {
    role: "app_admin",
    row: () => ({ title: "Halo", slug: "halo-dunia", content: "Isi", featured_image: "https://cdn.id/c.png" }),
  },
  "api.pages": { role: "app_admin", row: () => ({ title: "Tentang", slug: "tentang-kami", content: "Isi" }) },
  "api.pricing_plans": {
    role: "app_admin",
    row: () => ({ identifier: "premium", name: "Premium", price: 7_500_000, description: "Lengkap" }),
  },
  "api.faqs": { role: "app_admin", row: () => ({ question: "Berapa lama?", answer: "Dua minggu." }) },
  "api.audit_logs": { role: "app_worker", row: () => ({ action: "PAYMENT_INIT", resource: "invoices" }) },
  "api.websocket_connections": {
    role: "app_worker",
    row: () => ({ user_id: fx.userId, connection_id: "socket-2", role: "client" }),
  },
  "api.websocket_room_memberships": {
    role: "app_worker",
    row: () => ({ connection_id: fx.connectionId, room_id: "admin" }),
  },
  "api.real_time_notifications": {
    role: "app_admin",
    row: () => ({ user_id: fx.userId, type: "new_feature", title: "Fitur baru", message: "Dasbor baru." }),
  },
};

/** One bad value per re-created constraint (blank ones: since migration 000060 the length is a constraint of its own). */
const badRows: [constraint: string, table: string, overrides: Row][] = [
  ["users_email_format", "api.users", { email: "siti@localhost" }],
  ["users_phone_format", "api.users", { phone: "0812-3456-7890" }],
  ["users_name_not_blank", "api.users", { name: " \t\n" }],
  ["projects_url_format", "api.projects", { url: "ftp://portal.id" }],
  ["projects_name_not_blank", "api.projects", { name: "  " }],
  ["invoices_qris_url_format", "api.invoices", { qris_url: "qr.id/1.png" }],
  ["templates_url_format", "api.templates", { demo_url: "https://demo .id" }],
  ["templates_name_not_blank", "api.templates", { name: " " }],
  ["posts_slug_format", "api.posts", { slug: "Halo-Dunia" }],
  ["posts_featured_image_format", "api.posts", { featured_image: "//cdn.id/c.png" }],
  ["posts_title_not_blank", "api.posts", { title: "\t" }],
  ["pages_slug_format", "api.pages", { slug: "tentang--kami" }],
  ["pages_title_not_blank", "api.pages", { title: "" }],
  ["pricing_plans_name_not_blank", "api.pricing_plans", { name: "\n" }],
  ["faqs_question_not_blank", "api.faqs", { question: " " }],
  ["faqs_answer_not_blank", "api.faqs", { answer: "\t" }],
  ["audit_logs_resource_not_blank", "api.audit_logs", { resource: " " }],
  ["websocket_connections_connection_id_not_blank", "api.websocket_connections", { connection_id: "" }],
  ["websocket_room_memberships_room_id_not_blank", "api.websocket_room_memberships", { room_id: " " }],
  ["real_time_notifications_title_not_blank", "api.real_time_notifications", { title: " \r\n" }],
];

const write = (table: string, overrides: Row = {}) => {
  const { role, row } = writers[table]!;
  const insert = (client: PoolClient) => outcomeOf(() => insertRow(client, table, { ...row(), ...overrides }, "1"));
  return role === "owner" ? inRolledBackTransaction(db, insert) : asRole(db, role, insert, { claims: { role } });
};

describe("writing through the re-created constraints", () => {
  test("the bad rows cover every re-created constraint", () => {
    expect(badRows.map(([constraint]) => constraint).sort()).toEqual(recreated);
  });

  test.each(Object.keys(writers))("a valid row of %s is accepted from the role that writes it", async (table) => {
    expect(await write(table)).toBe("ok");
  });

  test.each(badRows)(
    "%s still refuses a bad row of %s with 23514 and its name",
    async (constraint, table, overrides) => {
      expect(await write(table, overrides)).toEqual(violation("23514", constraint));
    },
  );
});

describe("who the functions run as", () => {
  test("the read-only RPCs whose rows RLS already decides run as the caller; search_content is the documented exception", async () => {
    const rows = await db.query<{ fn: string; definer: boolean; volatile: string; comment: string }>(
      `select p.oid::regprocedure::text as fn, p.prosecdef as definer, p.provolatile::text as volatile,
              obj_description(p.oid, 'pg_proc') as comment
         from pg_proc p where p.oid in ('api.me()'::regprocedure, 'api.admin_dashboard()'::regprocedure,
                                        'api.bi_revenue(date, date, text)'::regprocedure,
                                        'api.search_content(text, text, integer, integer)'::regprocedure)
        order by 1`,
    );
    expect(rows.map(({ fn, definer, volatile }) => ({ fn, definer, volatile }))).toEqual([
      { fn: "api.admin_dashboard()", definer: false, volatile: "s" },
      { fn: "api.bi_revenue(date,date,text)", definer: false, volatile: "s" },
      { fn: "api.me()", definer: false, volatile: "s" },
      { fn: "api.search_content(text,text,integer,integer)", definer: true, volatile: "s" },
    ]);
    expect(rows.find((r) => r.fn.startsWith("api.search_content"))!.comment).toMatch(/SECURITY DEFINER on purpose/);
  });

  test("there is one admin check, in app_hidden, callable by every API role", async () => {
    const rows = await db.query<{ fn: string; definer: boolean }>(
      `select p.oid::regprocedure::text as fn, p.prosecdef as definer from pg_proc p where p.proname = 'require_admin'`,
    );
    expect(rows).toEqual([{ fn: "app_hidden.require_admin()", definer: false }]);
    for (const role of ["web_anon", "app_client", "app_admin", "app_worker"]) {
      const [row] = await db.query<{ can: boolean }>(
        "select has_function_privilege($1, 'app_hidden.require_admin()', 'execute') as can",
        [role],
      );
      expect({ role, can: row!.can }).toEqual({ role, can: true });
    }
  });

  test("every SECURITY DEFINER function of ours pins its search_path, and every function has a comment", async () => {
    const rows = await db.query<{ fn: string; definer: boolean; config: string[] | null; comment: string | null }>(
      `select p.oid::regprocedure::text as fn, p.prosecdef as definer, p.proconfig as config,
              obj_description(p.oid, 'pg_proc') as comment
         from pg_proc p where p.pronamespace in ('api'::regnamespace, 'app_hidden'::regnamespace, 'app_private'::regnamespace)`,
    );
    const unpinned = rows.filter(
      (r) => r.definer && !(r.config ?? []).some((c) => /^search_path=pg_catalog,( public,)? pg_temp$/.test(c)),
    );
    expect(unpinned.map((r) => r.fn)).toEqual([]);
    expect(rows.filter((r) => !r.comment).map((r) => r.fn)).toEqual([]);
  });
});
