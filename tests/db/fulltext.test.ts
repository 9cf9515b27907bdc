/**
 * Full-text search over posts and pages, in Indonesian and English: a search
 * finds a text by another inflection of its words (the snowball stemmers), in
 * the right language only, and PostgreSQL answers it from the GIN indexes.
 * Queries must use the indexed expressions verbatim:
 *   to_tsvector('<config>'::regconfig, title || ' ' || content)
 */
import { createMigratedDatabase, inRolledBackTransaction, type TestDatabase } from "../helpers/database";

let db: TestDatabase;

const indonesianPost = {
  slug: "membangun-situs-pendidikan",
  title: "Membangun Situs Pendidikan",
  content:
    "Sekolah-sekolah di daerah kini membangun situs pendidikan sendiri untuk mengumumkan pendaftaran siswa baru.",
};
const englishPost = {
  slug: "building-fast-websites",
  title: "Building Fast Websites for Newsrooms",
  content: "We are building websites that load quickly on slow connections.",
};
const indonesianPage = {
  slug: "tentang-kami",
  title: "Tentang Kami",
  content: "Kami merancang, membangun, dan merawat situs agar klien dapat fokus pada usahanya.",
};
const englishPage = {
  slug: "about-us",
  title: "About Us",
  content: "JasaWeb builds and maintains websites for schools, newsrooms and companies.",
};

beforeAll(async () => {
  db = await createMigratedDatabase();
  for (const p of [indonesianPost, englishPost]) {
    await db.query(
      `insert into api.posts (title, slug, content, status, published_at) values ($1, $2, $3, 'published', now())`,
      [p.title, p.slug, p.content],
    );
  }
  for (const p of [indonesianPage, englishPage]) {
    await db.query(`insert into api.pages (title, slug, content) values ($1, $2, $3)`, [p.title, p.slug, p.content]);
  }
});
afterAll(async () => {
  await db.drop();
});

type Config = "indonesian" | "english";
type Search = {
  table: "api.posts" | "api.pages";
  config: Config;
  document: "title" | "title and content";
  query: string;
};

/** The indexed expression of `search`, matched against plainto_tsquery(config, $1). */
function searchSql({ table, config, document }: Omit<Search, "query">): string {
  const text = document === "title" ? "title" : "title || ' ' || content";
  return `select slug from ${table} where to_tsvector('${config}'::regconfig, ${text}) @@ plainto_tsquery('${config}'::regconfig, $1) order by slug`;
}
const search = async (s: Search) => (await db.query<{ slug: string }>(searchSql(s), [s.query])).map((r) => r.slug);

test("the indonesian stemmer reduces inflected words to their root (membangun/pembangunan → bangun, pendidikan → didik)", async () => {
  const [row] = await db.query<{ lexemes: Record<string, string[]> }>(
    `select jsonb_object_agg(word, ts_lexize('indonesian_stem', word)) as lexemes
       from unnest(array['membangun', 'pembangunan', 'pendidikan', 'pendaftaran', 'didaftarkan']) word`,
  );
  expect(row!.lexemes).toEqual({
    membangun: ["bangun"],
    pembangunan: ["bangun"],
    pendidikan: ["didik"],
    pendaftaran: ["daftar"],
    didaftarkan: ["daftar"],
  });
});

describe.each([
  { table: "api.posts" as const, indonesian: indonesianPost.slug, english: englishPost.slug },
  { table: "api.pages" as const, indonesian: indonesianPage.slug, english: englishPage.slug },
])("$table", ({ table, indonesian, english }) => {
  const doc = "title and content" as const;

  test.each([
    { query: "pembangunan", why: "membangun and pembangunan share the root bangun" },
    { query: "bangun", why: "the root itself" },
  ])("the indonesian search for '$query' finds the Indonesian text only ($why)", async ({ query }) => {
    expect(await search({ table, config: "indonesian", document: doc, query })).toEqual([indonesian]);
  });

  test("the english configuration does not stem Indonesian: 'pembangunan' finds nothing there", async () => {
    expect(await search({ table, config: "english", document: doc, query: "pembangunan" })).toEqual([]);
  });

  test.each([
    { query: "build", why: "build ↔ building/builds" },
    { query: "website", why: "website ↔ websites" },
    { query: "newsroom", why: "newsroom ↔ newsrooms" },
  ])("the english search for '$query' finds the English text only ($why)", async ({ query }) => {
    expect(await search({ table, config: "english", document: doc, query })).toEqual([english]);
  });
});

test.each([
  { config: "indonesian" as const, query: "pembangunan", slug: indonesianPost.slug },
  { config: "english" as const, query: "building", slug: englishPost.slug },
])("the $config title search for '$query' finds a post by its title alone", async ({ config, query, slug }) => {
  expect(await search({ table: "api.posts", config, document: "title", query })).toEqual([slug]);
  // A word only in the content is not in the title's index.
  expect(
    await search({
      table: "api.posts",
      config,
      document: "title",
      query: config === "english" ? "quickly" : "pendaftaran",
    }),
  ).toEqual([]);
});

describe("the searches use the GIN indexes", () => {
  type PlanNode = { "Node Type": string; "Index Name"?: string; Plans?: PlanNode[] };
  const nodes = (node: PlanNode): PlanNode[] => [node, ...(node.Plans ?? []).flatMap(nodes)];

  const cases: (Search & { index: string })[] = [
    {
      table: "api.posts",
      config: "indonesian",
      document: "title and content",
      query: "pembangunan",
      index: "posts_fts_id_idx",
    },
    {
      table: "api.posts",
      config: "english",
      document: "title and content",
      query: "websites",
      index: "posts_fts_en_idx",
    },
    {
      table: "api.posts",
      config: "indonesian",
      document: "title",
      query: "pembangunan",
      index: "posts_title_fts_id_idx",
    },
    { table: "api.posts", config: "english", document: "title", query: "building", index: "posts_title_fts_en_idx" },
    {
      table: "api.pages",
      config: "indonesian",
      document: "title and content",
      query: "pembangunan",
      index: "pages_fts_id_idx",
    },
    {
      table: "api.pages",
      config: "english",
      document: "title and content",
      query: "websites",
      index: "pages_fts_en_idx",
    },
  ];

  // 2000 other rows and fresh statistics, so the planner picks the index on
  // its own (nothing is disabled); all rolled back afterwards.
  test.each(cases)("$config search of $table ($document) for '$query' is a Bitmap Index Scan on $index", async (c) => {
    const { plan, found } = await inRolledBackTransaction(db, async (client) => {
      const filler =
        c.table === "api.posts"
          ? `insert into api.posts (title, slug, content, status, published_at)
             select 'Catatan ' || i, 'catatan-' || i, 'Isi catatan harian nomor ' || i, 'published', now() from generate_series(1, 2000) i`
          : `insert into api.pages (title, slug, content) select 'Halaman ' || i, 'halaman-' || i, 'Isi halaman nomor ' || i from generate_series(1, 2000) i`;
      await client.query(filler);
      await client.query(`analyze ${c.table}`);
      const explained = await client.query<{ "QUERY PLAN": [{ Plan: PlanNode }] }>(
        `explain (format json) ${searchSql(c)}`,
        [c.query],
      );
      const result = await client.query<{ slug: string }>(searchSql(c), [c.query]);
      return { plan: explained.rows[0]!["QUERY PLAN"][0].Plan, found: result.rows.length };
    });
    const scans = nodes(plan).filter((n) => n["Node Type"].includes("Scan"));
    expect(scans).toEqual(
      expect.arrayContaining([expect.objectContaining({ "Node Type": "Bitmap Index Scan", "Index Name": c.index })]),
    );
    expect(scans.map((n) => n["Node Type"])).not.toContain("Seq Scan");
    expect(found).toBe(1);
  });
});
