/**
 * search_content over published posts and pages, in English, Indonesian or
 * both, as an anonymous visitor would call it.
 */
import { startApi, type TestApi } from "../helpers/api";
import { createMigratedDatabase, type TestDatabase } from "../helpers/database";

let db: TestDatabase;
let api: TestApi;

type Hit = {
  kind: "post" | "page";
  id: string;
  slug: string;
  title: string;
  snippet: string;
  rank: number;
  published_at: string | null;
};

beforeAll(async () => {
  db = await createMigratedDatabase();
  await db.query(`insert into api.posts (title, slug, content, status, published_at) values
    ('Building fast websites', 'building-fast-websites', 'We build a website for every school and newsroom. Fast websites keep readers.', 'published', now() - interval '2 days'),
    ('Website tips', 'website-tips', 'A short note that mentions a website once.', 'published', now() - interval '1 day'),
    ('Membangun website sekolah', 'membangun-website-sekolah', 'Kami membangun website untuk pendidikan anak-anak di seluruh daerah.', 'published', now()),
    ('Secret building plans', 'secret-building-plans', 'A draft about building websites.', 'draft', null)`);
  await db.query(`insert into api.pages (title, slug, content) values
    ('About us', 'about-us', 'We build websites for schools.'),
    ('Tentang kami', 'tentang-kami', 'Pembangunan website untuk sekolah dan perusahaan.')`);
  api = await startApi(db);
});

afterAll(async () => {
  await api?.stop();
  await db?.drop();
});

/**
 * GET for plain searches; POST when paging, because in a GET query string
 * `limit` and `offset` are PostgREST's own pagination, not the function's.
 */
const search = async (params: Record<string, string | number>) => {
  if ("limit" in params || "offset" in params) {
    return api.request("/rpc/search_content", { method: "POST", body: JSON.stringify(params) });
  }
  const query = new URLSearchParams(Object.entries(params).map(([k, v]) => [k, String(v)]));
  return api.request(`/rpc/search_content?${query}`);
};

describe("search_content", () => {
  test("English stemming: 'builds websites' finds 'build a website', ranked, with highlighted snippets", async () => {
    const { status, body } = await search({ query: "builds websites", lang: "en" });
    expect(status).toBe(200);
    const hits = body as Hit[];
    expect(hits.map((h) => h.slug)).toEqual(["building-fast-websites", "about-us"]);
    expect(hits[0]!.rank).toBeGreaterThan(hits[1]!.rank);
    expect(hits[0]!.snippet).toMatch(/<mark>build<\/mark>/);
    expect(hits[0]!.kind).toBe("post");
    expect(hits[1]).toEqual(expect.objectContaining({ kind: "page", published_at: null }));
  });

  test("Indonesian stemming: 'pembangunan' finds 'membangun' (both stem to bangun)", async () => {
    const { body } = await search({ query: "pembangunan", lang: "id" });
    expect((body as Hit[]).map((h) => h.slug).sort()).toEqual(["membangun-website-sekolah", "tentang-kami"]);
    expect((body as Hit[]).find((h) => h.slug === "membangun-website-sekolah")!.snippet).toContain(
      "<mark>membangun</mark>",
    );
  });

  test("each language alone misses what only the other stems", async () => {
    const en = (await search({ query: "pembangunan", lang: "en" })).body as Hit[];
    expect(en.map((h) => h.slug)).not.toContain("membangun-website-sekolah");
  });

  test("without lang both languages are searched and an item found twice comes once", async () => {
    const { body } = await search({ query: "website" });
    const slugs = (body as Hit[]).map((h) => h.slug);
    expect(slugs).toEqual(
      expect.arrayContaining(["building-fast-websites", "website-tips", "membangun-website-sekolah"]),
    );
    expect(new Set(slugs).size).toBe(slugs.length);
  });

  test("drafts are never returned", async () => {
    const { body } = await search({ query: "secret building plans" });
    expect((body as Hit[]).map((h) => h.slug)).not.toContain("secret-building-plans");
  });

  test.each([
    ["stop words only", "the and of"],
    ["punctuation only", "!!! ??? ..."],
    ["Indonesian stop words only", "dan yang di"],
  ])("%s returns nothing, not an error", async (_what, query) => {
    const { status, body } = await search({ query });
    expect(status).toBe(200);
    expect(body).toEqual([]);
  });

  test("pagination: limit and offset walk the same ranking", async () => {
    const all = (await search({ query: "website", limit: 50 })).body as Hit[];
    expect(all.length).toBeGreaterThanOrEqual(4);
    const first = (await search({ query: "website", limit: 2 })).body as Hit[];
    const second = (await search({ query: "website", limit: 2, offset: 2 })).body as Hit[];
    expect([...first, ...second].map((h) => h.id)).toEqual(all.slice(0, 4).map((h) => h.id));
  });

  test("over GET, limit and offset are PostgREST's pagination of the ranked results", async () => {
    const all = (await search({ query: "website", limit: 50 })).body as Hit[];
    const { status, body } = await api.request("/rpc/search_content?query=website&limit=2&offset=1");
    expect(status).toBe(200);
    expect((body as Hit[]).map((h) => h.id)).toEqual(all.slice(1, 3).map((h) => h.id));
  });

  test.each([
    ["an empty query", { query: "" }, "INVALID_QUERY"],
    ["a query over 200 characters", { query: "website ".repeat(30) }, "INVALID_QUERY"],
    ["an unknown language", { query: "website", lang: "fr" }, "INVALID_LANGUAGE"],
    ["a limit of 0", { query: "website", limit: 0 }, "INVALID_PAGINATION"],
    ["a limit of 51", { query: "website", limit: 51 }, "INVALID_PAGINATION"],
    ["a negative offset", { query: "website", offset: -1 }, "INVALID_PAGINATION"],
  ])("refuses %s (%s)", async (_what, params, code) => {
    const { status, body } = await search(params);
    expect(status).toBe(400);
    expect(body).toEqual(expect.objectContaining({ code }));
  });

  test("a query of exclusions only finds nothing (the index has no word to look for)", async () => {
    for (const query of ["-website", "-website -sekolah", "-website or -sekolah"]) {
      const { status, body } = await search({ query });
      expect({ query, status, body }).toEqual({ query, status: 200, body: [] });
    }
    // With a word to look for, an exclusion narrows it.
    const { body } = await search({ query: "website -sekolah", lang: "id" });
    expect((body as Hit[]).map((h) => h.slug).sort()).toEqual(["building-fast-websites", "website-tips"]);
    const english = (await search({ query: "website -building", lang: "en" })).body as Hit[];
    expect(english.map((h) => h.slug).sort()).toEqual(["membangun-website-sekolah", "tentang-kami", "website-tips"]);
  });

  test("edits reach the search: a changed title is found by its new words only, a deleted post not at all", async () => {
    const [post] = await db.query<{ id: string }>(
      `insert into api.posts (title, slug, content, status, published_at)
       values ('Kolibri garden notes', 'kolibri-garden-notes', 'About hummingbirds.', 'published', now()) returning id`,
    );
    expect(((await search({ query: "kolibri", lang: "en" })).body as Hit[]).map((h) => h.slug)).toEqual([
      "kolibri-garden-notes",
    ]);
    await db.query("update api.posts set title = 'Albatross field notes' where id = $1", [post!.id]);
    expect((await search({ query: "kolibri", lang: "en" })).body).toEqual([]);
    const renamed = (await search({ query: "albatross", lang: "en" })).body as Hit[];
    expect(renamed.map((h) => [h.slug, h.title])).toEqual([["kolibri-garden-notes", "Albatross field notes"]]);
    await db.query("update api.pages set content = content || ' Albatross too.' where slug = 'about-us'");
    expect(((await search({ query: "albatross", lang: "en" })).body as Hit[]).map((h) => h.slug).sort()).toEqual([
      "about-us",
      "kolibri-garden-notes",
    ]);
    await db.query("delete from api.posts where id = $1", [post!.id]);
    await db.query("update api.pages set content = replace(content, ' Albatross too.', '') where slug = 'about-us'");
    expect((await search({ query: "albatross", lang: "en" })).body).toEqual([]);
  });

  test("SQL-looking input is just text to search", async () => {
    const { status, body } = await search({ query: "'; drop table api.posts; --" });
    expect(status).toBe(200);
    expect(Array.isArray(body)).toBe(true);
    expect(await db.query("select count(*)::int as n from api.posts")).toEqual([{ n: 4 }]);
  });
});

describe("search_content snippets are escaped text with only <mark> added", () => {
  beforeAll(async () => {
    await db.query(`insert into api.posts (title, slug, content, status, published_at) values
      ('Gallery', 'gallery-with-markup', 'Our gallery <img src=x onerror=alert(1)> shows "quotes" & it''s a gallery.', 'published', now()),
      ('Markers', 'markers-in-the-text', E'A zebra \\x01 between \\x02 markers, and a zebra.', 'published', now())`);
  });

  /** The snippet with its <mark> tags taken out: what is left must have no markup at all. */
  const withoutMarks = (snippet: string) => snippet.replace(/<mark>/g, "").replace(/<\/mark>/g, "");

  test("a post containing <img src=x onerror=alert(1)> comes back escaped", async () => {
    const { status, body } = await search({ query: "gallery", lang: "en" });
    expect(status).toBe(200);
    const [hit] = body as Hit[];
    expect(hit!.slug).toBe("gallery-with-markup");
    expect(hit!.snippet).toBe(
      "<mark>gallery</mark> &lt;img src=x onerror=alert(1)&gt; shows &quot;quotes&quot; &amp; it&#39;s a <mark>gallery</mark>",
    );
    expect(withoutMarks(hit!.snippet)).not.toMatch(/[<>"']/);
  });

  test("the control characters used as markers inside a post never become <mark> tags", async () => {
    const { body } = await search({ query: "zebra", lang: "en" });
    const [hit] = body as Hit[];
    expect(hit!.slug).toBe("markers-in-the-text");
    expect(hit!.snippet.match(/<mark>/g)).toHaveLength(2);
    expect(hit!.snippet).toMatch(/^<mark>zebra<\/mark>\s+between\s+markers, and a <mark>zebra<\/mark>$/);
  });
});

describe("search_content and scheduled posts", () => {
  beforeAll(async () => {
    await db.query(`insert into api.posts (title, slug, content, status, published_at) values
      ('Upcoming aquarium launch', 'upcoming-aquarium-launch', 'The aquarium opens next week.', 'published', now() + interval '7 days')`);
  });

  test("a published post dated in the future is not found until its time", async () => {
    expect((await search({ query: "aquarium" })).body).toEqual([]);
    await db.query(
      `update api.posts set published_at = now() - interval '1 second' where slug = 'upcoming-aquarium-launch'`,
    );
    const { body } = await search({ query: "aquarium" });
    expect((body as Hit[]).map((h) => h.slug)).toEqual(["upcoming-aquarium-launch"]);
  });
});

describe("search_content ranks a bounded candidate set", () => {
  let big: TestDatabase;
  let bigApi: TestApi;
  beforeAll(async () => {
    big = await createMigratedDatabase();
    // 1200 published posts that all contain "building" and "website", the
    // oldest one as the phrase "website building", the others not.
    await big.query(
      `insert into api.posts (title, slug, content, status, published_at)
       select 'Catatan ' || i, 'catatan-' || i,
              case when i = 1200 then 'Our website building service for schools.'
                   else 'Building a fast website for schools, number ' || i || '.' end,
              'published', now() - i * interval '1 hour'
         from generate_series(1, 1200) i`,
    );
    bigApi = await startApi(big);
  });
  afterAll(async () => {
    await bigApi?.stop();
    await big?.drop();
  });

  const phrase = async (query: string) =>
    (
      (await bigApi.request("/rpc/search_content", { method: "POST", body: JSON.stringify({ query, lang: "en" }) }))
        .body as Hit[]
    ).map((h) => h.slug);

  test("a phrase is matched within the 1000 most recent posts containing its words, not beyond", async () => {
    // The only post with the phrase is the 1200th most recent one.
    expect(await phrase('"website building"')).toEqual([]);
    // A phrase that recent posts have is found.
    expect(await phrase('"fast website" "number 7"')).toEqual(["catatan-7"]);
    // The same post is found as soon as it is among the candidates.
    await big.query("update api.posts set published_at = now() where slug = 'catatan-1200'");
    expect(await phrase('"website building"')).toEqual(["catatan-1200"]);
  });

  test("ranking and paging stay within the candidates: every result is one of the 1000 most recent", async () => {
    const slugs: string[] = [];
    for (let offset = 0; offset < 1100; offset += 50) {
      const { body } = await bigApi.request("/rpc/search_content", {
        method: "POST",
        body: JSON.stringify({ query: "website", lang: "en", limit: 50, offset }),
      });
      slugs.push(...(body as Hit[]).map((h) => h.slug));
    }
    expect(slugs).toHaveLength(1000);
    expect(new Set(slugs).size).toBe(1000);
    const oldestFound = Math.max(...slugs.map((s) => Number(s.replace("catatan-", ""))));
    // catatan-1200 was made the newest above; the 999 others are 1..999.
    expect(oldestFound).toBe(1200);
    expect(slugs.filter((s) => Number(s.replace("catatan-", "")) >= 1000)).toEqual(["catatan-1200"]);
  });
});
