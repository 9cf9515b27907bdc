/**
 * Bounded answers (README, Limits and Pagination): no response carries more
 * than PGRST_DB_MAX_ROWS rows, whatever `limit` asks for; the rest is reached
 * with limit/offset or a Range header, and Prefer: count=exact tells the
 * total. A request that waits for a database connection while the pool is
 * busy is answered 504 PGRST003 after PGRST_DB_POOL_ACQUISITION_TIMEOUT
 * seconds, not left hanging.
 */
import { Client } from "pg";
import { POSTGREST_SETTINGS } from "../../services/postgrest";
import { startApi, type TestApi } from "../helpers/api";
import { createAdmin, type SignedIn } from "../helpers/auth";
import { createMigratedDatabase, type TestDatabase } from "../helpers/database";

const POSTS = 2_500;
const CAP = 1_000;

let db: TestDatabase;
let api: TestApi;

beforeAll(async () => {
  db = await createMigratedDatabase();
  api = await startApi(db);
  await db.query(
    `insert into api.posts (title, slug, content, status, published_at)
     select 'Catatan ' || i, 'catatan-' || i, 'Isi catatan nomor ' || i, 'published', now() - i * interval '1 minute'
       from generate_series(1, $1) i`,
    [POSTS],
  );
});

afterAll(async () => {
  await api?.stop();
  await db?.drop();
});

test(`the cap is ${CAP} rows, the same in npm start, the tests and docker-compose.yml`, () => {
  expect(POSTGREST_SETTINGS.PGRST_DB_MAX_ROWS).toBe(String(CAP));
});

describe("the row cap", () => {
  test.each([
    ["a plain GET", "/posts?select=slug"],
    ["limit=10000000", "/posts?select=slug&limit=10000000"],
    ["an offset with a huge limit", "/posts?select=slug&offset=10&limit=99999999"],
  ])(`%s of ${POSTS} posts answers at most ${CAP} rows`, async (_what, path) => {
    const { status, body, headers } = await api.request(path);
    expect(status).toBe(200);
    expect((body as unknown[]).length).toBe(CAP);
    expect(headers.get("content-range")).toMatch(new RegExp(`^\\d+-\\d+/\\*$`));
  });

  test("Prefer: count=exact gives the total beside the capped page", async () => {
    const { status, body, headers } = await api.request("/posts?select=slug", {
      headers: { prefer: "count=exact" },
    });
    expect(status).toBe(206);
    expect((body as unknown[]).length).toBe(CAP);
    expect(headers.get("content-range")).toBe(`0-${CAP - 1}/${POSTS}`);
  });

  test("limit and offset page through every row once, in a stable order", async () => {
    const seen: string[] = [];
    for (let offset = 0; ; offset += CAP) {
      const { body } = await api.request(`/posts?select=slug&order=published_at.desc,id&limit=${CAP}&offset=${offset}`);
      const page = (body as { slug: string }[]).map((p) => p.slug);
      seen.push(...page);
      if (page.length < CAP) break;
    }
    expect(seen).toHaveLength(POSTS);
    expect(new Set(seen).size).toBe(POSTS);
    expect(seen[0]).toBe("catatan-1");
    expect(seen[POSTS - 1]).toBe(`catatan-${POSTS}`);
  });

  test("a Range header asks for a page the same way", async () => {
    const { status, body, headers } = await api.request("/posts?select=slug&order=published_at.desc,id", {
      headers: { "range-unit": "items", range: "1000-1999", prefer: "count=exact" },
    });
    expect(status).toBe(206);
    expect((body as { slug: string }[]).map((p) => p.slug)).toEqual(
      Array.from({ length: 1000 }, (_, i) => `catatan-${1001 + i}`),
    );
    expect(headers.get("content-range")).toBe(`1000-1999/${POSTS}`);
  });
});

describe("the pool", () => {
  let single: TestApi;
  let admin: SignedIn;

  beforeAll(async () => {
    // One connection, so that one slow request fills the pool.
    single = await startApi(db, { PGRST_DB_POOL: "1" });
    admin = await createAdmin(single, db);
  });
  afterAll(async () => {
    await single?.stop();
  });

  test(`a request waiting for a connection is answered 504 PGRST003 after ${POSTGREST_SETTINGS.PGRST_DB_POOL_ACQUISITION_TIMEOUT} s, not left hanging`, async () => {
    const acquisitionMs = Number(POSTGREST_SETTINGS.PGRST_DB_POOL_ACQUISITION_TIMEOUT) * 1000;
    expect(acquisitionMs).toBe(5_000);
    const locker = new Client({ connectionString: db.url });
    await locker.connect();
    try {
      // An admin read (30 s statement timeout) waits for this lock, holding
      // the only connection.
      await locker.query("begin");
      await locker.query("lock table api.faqs in access exclusive mode");
      const blocked = single.request("/faqs", { token: admin.token });
      for (let i = 0; ; i++) {
        const waiting = await db.query(
          "select 1 from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock' and query like '%faqs%'",
        );
        if (waiting.length) break;
        if (i > 100) throw new Error("the admin request never reached the lock");
        await new Promise((r) => setTimeout(r, 50));
      }
      const started = Date.now();
      const health = await single.request("/rpc/health", { signal: AbortSignal.timeout(15_000) });
      const elapsed = Date.now() - started;
      // PostgREST's 504 PGRST003, as the API edge answers it: 503 SERVICE_BUSY, try again soon.
      expect({ status: health.status, code: (health.body as { code: string }).code }).toEqual({
        status: 503,
        code: "SERVICE_BUSY",
      });
      expect(health.headers.get("retry-after")).toBe("1");
      expect(elapsed).toBeGreaterThanOrEqual(acquisitionMs - 500);
      expect(elapsed).toBeLessThan(acquisitionMs + 3_000);
      await locker.query("rollback");
      expect((await blocked).status).toBe(200);
      expect((await single.request("/rpc/health")).body).toEqual({ status: "ok" });
    } finally {
      await locker.end();
    }
  });
});
