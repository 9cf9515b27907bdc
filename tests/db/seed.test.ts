/**
 * `npm run db:seed` (db/seed.ts) on a migrated database: the demo catalogue
 * a first start shows (templates, a plan per project type, FAQs, posts and
 * pages in both languages) and an admin who can sign in. Seeding again adds
 * nothing and never resets the admin's password.
 */
import type { ClientBase } from "pg";
import { withClient as withPgClient } from "../../db/pg";
import { faqId, seed } from "../../db/seed";
import { createMigratedDatabase, type TestDatabase } from "../helpers/database";
import { outcomeOf, violation } from "../helpers/sql";

const tables = [
  "api.templates",
  "api.pricing_plans",
  "api.faqs",
  "api.posts",
  "api.pages",
  "api.users",
  "app_private.user_secrets",
];

/** Seeding runs as the owner, as npm start and db:seed do. */
const withClient = <T>(db: TestDatabase, fn: (client: ClientBase) => Promise<T>): Promise<T> =>
  withPgClient(db.connections.owner, fn);

async function rowCounts(db: TestDatabase): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const table of tables)
    counts[table] = (await db.query<{ n: number }>(`select count(*)::int as n from ${table}`))[0]!.n;
  return counts;
}

/** Whether `password` is the password of the user with `email` (bcrypt through pgcrypto). */
async function passwordMatches(db: TestDatabase, email: string, password: string): Promise<boolean> {
  const rows = await db.query<{ ok: boolean }>(
    `select public.crypt($2, s.password_hash) = s.password_hash as ok
       from api.users u join app_private.user_secrets s on s.user_id = u.id where u.email = $1`,
    [email, password],
  );
  expect(rows).toHaveLength(1);
  return rows[0]!.ok;
}

describe("seeding with a given admin password", () => {
  let db: TestDatabase;
  let first: Awaited<ReturnType<typeof seed>>;
  beforeAll(async () => {
    db = await createMigratedDatabase();
    first = await withClient(db, (client) =>
      seed(client, { adminEmail: "Boss@JasaWeb.id", adminPassword: "a-strong-password" }),
    );
  });
  afterAll(async () => {
    await db.drop();
  });

  test("reports the admin as created, with no generated password", () => {
    expect(first).toEqual({ adminCreated: true });
  });

  test("creates templates of all three categories", async () => {
    const rows = await db.query<{ category: string; n: number }>(
      `select category::text, count(*)::int as n from api.templates group by 1 order by 1`,
    );
    expect(rows.map((r) => r.category)).toEqual(["berita", "company", "sekolah"]);
    expect(rows.every((r) => r.n >= 1)).toBe(true);
  });

  test("creates one active plan per project type, with a positive whole-rupiah price and a list of features", async () => {
    const rows = await db.query<{ type: string; plans: number; price: string; whole: boolean; features: unknown }>(
      `select t.type::text, count(p.id)::int as plans, min(p.price)::text as price,
              bool_and(p.price = trunc(p.price)) as whole, (array_agg(p.features))[1] as features
         from unnest(enum_range(null::api.project_type)) t(type)
         left join api.pricing_plans p on p.identifier = t.type::text and p.is_active
        group by t.type order by t.type`,
    );
    expect(rows.map((r) => r.type)).toEqual(["sekolah", "berita", "company"]);
    for (const r of rows) {
      expect({ type: r.type, plans: r.plans, whole: r.whole }).toEqual({ type: r.type, plans: 1, whole: true });
      expect(Number(r.price)).toBeGreaterThan(0);
      expect(r.features).toEqual(expect.arrayContaining([expect.stringMatching(/\S/)]));
      expect((r.features as unknown[]).every((f) => typeof f === "string" && f.trim() !== "")).toBe(true);
    }
  });

  test("creates active FAQs in display order", async () => {
    const rows = await db.query<{ sort_order: number }>(
      `select sort_order from api.faqs where is_active order by sort_order, id`,
    );
    expect(rows.length).toBeGreaterThanOrEqual(3);
    expect(new Set(rows.map((r) => r.sort_order)).size).toBe(rows.length);
  });

  test("creates published posts, searchable in Indonesian ('butuh' ← 'membutuhkan') and in English ('build' ← 'building')", async () => {
    const [published] = await db.query<{ n: number }>(
      `select count(*)::int as n from api.posts where status = 'published' and published_at <= now()`,
    );
    expect(published!.n).toBeGreaterThanOrEqual(2);
    const find = async (config: string, word: string) =>
      (
        await db.query<{ slug: string }>(
          `select slug from api.posts where status = 'published'
              and to_tsvector('${config}'::regconfig, title || ' ' || content) @@ plainto_tsquery('${config}'::regconfig, $1)`,
          [word],
        )
      ).length;
    expect(await find("indonesian", "butuh")).toBeGreaterThanOrEqual(1);
    expect(await find("english", "build")).toBeGreaterThanOrEqual(1);
  });

  test("creates pages in Indonesian and English", async () => {
    const [row] = await db.query<{ indonesian: number; english: number }>(
      `select count(*) filter (where to_tsvector('indonesian'::regconfig, title || ' ' || content) @@ plainto_tsquery('indonesian', 'bangun'))::int as indonesian,
              count(*) filter (where to_tsvector('english'::regconfig, title || ' ' || content) @@ plainto_tsquery('english', 'maintaining'))::int as english
         from api.pages`,
    );
    expect(row!.indonesian).toBeGreaterThanOrEqual(1);
    expect(row!.english).toBeGreaterThanOrEqual(1);
  });

  test("creates the admin with a lower-cased email, role admin, and a bcrypt hash of the given password", async () => {
    const users = await db.query<{ email: string; role: string }>(`select email, role::text from api.users`);
    expect(users).toEqual([{ email: "boss@jasaweb.id", role: "admin" }]);
    expect(await passwordMatches(db, "boss@jasaweb.id", "a-strong-password")).toBe(true);
    expect(await passwordMatches(db, "boss@jasaweb.id", "a-wrong-password")).toBe(false);
  });

  test("seeding again adds no row and keeps the admin's password hash", async () => {
    const hash = async () =>
      (
        await db.query<{ h: string }>(
          `select s.password_hash as h from app_private.user_secrets s join api.users u on u.id = s.user_id where u.email = 'boss@jasaweb.id'`,
        )
      )[0]!.h;
    const [countsBefore, hashBefore] = [await rowCounts(db), await hash()];
    const again = await withClient(db, (client) =>
      seed(client, { adminEmail: "Boss@JasaWeb.id", adminPassword: "another-password" }),
    );
    expect(again).toEqual({ adminCreated: false });
    expect(await rowCounts(db)).toEqual(countsBefore);
    expect(await hash()).toBe(hashBefore);
    expect(await passwordMatches(db, "boss@jasaweb.id", "a-strong-password")).toBe(true);
  });
});

describe("seeding without an admin password", () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createMigratedDatabase();
  });
  afterAll(async () => {
    await db.drop();
  });

  test("returns a generated password that signs the admin in; a second seed reports none", async () => {
    const first = await withClient(db, (client) => seed(client, { adminEmail: "ops@jasaweb.id" }));
    expect(first).toEqual({ adminCreated: true, generatedAdminPassword: expect.stringMatching(/^\S{12,}$/) });
    expect(await passwordMatches(db, "ops@jasaweb.id", first.generatedAdminPassword!)).toBe(true);

    const second = await withClient(db, (client) => seed(client, { adminEmail: "ops@jasaweb.id" }));
    expect(second).toEqual({ adminCreated: false });
    expect(await passwordMatches(db, "ops@jasaweb.id", first.generatedAdminPassword!)).toBe(true);
  });
});

describe("a seed that fails", () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createMigratedDatabase();
  });
  afterAll(async () => {
    await db.drop();
  });

  test("leaves nothing behind (an invalid admin email: 23514 users_email_format)", async () => {
    const before = await rowCounts(db);
    const result = await withClient(db, (client) =>
      outcomeOf(() => seed(client, { adminEmail: "admin@localhost", adminPassword: "x" })),
    );
    expect(result).toEqual(violation("23514", "users_email_format"));
    expect(await rowCounts(db)).toEqual(before);
  });
});

describe("FAQ ids", () => {
  test("are valid, distinct uuids for any number of FAQs (the 10th once got 13 digits)", () => {
    const ids = Array.from({ length: 120 }, (_, i) => faqId(i));
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(new Set(ids).size).toBe(ids.length);
    // The ids of the FAQs seeded so far are unchanged, so a reseed finds them.
    expect(faqId(0)).toBe("5e1f0a2b-7c3d-4e5f-8a9b-000000000001");
    expect(faqId(9)).toBe("5e1f0a2b-7c3d-4e5f-8a9b-000000000010");
  });
});
