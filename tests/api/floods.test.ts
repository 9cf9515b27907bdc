/**
 * The floods of issue 12, all at once through the API edge, against the pool
 * size `npm start` uses and a blog of 10,000 posts that all contain the word
 * searched for: bi_revenue with infinite and absurd dates, anonymous reads
 * asking for ten million rows, 50 concurrent searches matching every post and
 * 100 concurrent bad logins. Meanwhile /rpc/health must keep answering 200,
 * each call within a generous bound; the flooding requests themselves get
 * only their documented answers (a 503 only as BUSY, SERVICE_BUSY or
 * STATEMENT_TIMEOUT); and right after, login, search and /posts work. Not a
 * timing benchmark: the bounds are there to catch a hang or a starved pool.
 */
import { POSTGREST_SETTINGS } from "../../services/postgrest";
import { startApi, type TestApi } from "../helpers/api";
import { createAdmin, uniqueEmail, type SignedIn } from "../helpers/auth";
import { createMigratedDatabase, type TestDatabase } from "../helpers/database";

const POSTS = 10_000;
const ROW_CAP = Number(POSTGREST_SETTINGS.PGRST_DB_MAX_ROWS);
/** Every health call must answer within this (the pool's own wait is 5 s). */
const HEALTH_BOUND_MS = 5_000;

let db: TestDatabase;
let api: TestApi;
let admin: SignedIn;

beforeAll(async () => {
  db = await createMigratedDatabase();
  // About 1.5 kB of text per post, the searched word in every one.
  await db.query(
    `insert into api.posts (title, slug, content, status, published_at)
     select 'Website sekolah ' || i, 'website-sekolah-' || i,
            repeat('Kami membangun website untuk sekolah dan berita nomor ' || i || '. ', 25),
            'published', now() - i * interval '1 minute'
       from generate_series(1, $1) i`,
    [POSTS],
  );
  await db.query("analyze api.posts");
  // The pool `npm start` and compose use, not the tests' smaller one; the
  // bad logins come from many addresses, as through a trusted proxy.
  api = await startApi(db, { PGRST_DB_POOL: POSTGREST_SETTINGS.PGRST_DB_POOL }, { trustedProxies: ["127.0.0.1"] });
  admin = await createAdmin(api, db);
}, 120_000);

afterAll(async () => {
  await api?.stop();
  await db?.drop();
});

type Answer = { status: number; body: unknown; headers: Headers };
const label = (r: Answer) =>
  `${r.status} ${typeof r.body === "object" && r.body !== null && !Array.isArray(r.body) ? (r.body as { code?: string }).code : Array.isArray(r.body) ? "rows" : "text"}`;

let addressCounter = 0;
const freshAddress = () => {
  addressCounter += 1;
  return `203.0.${113 + Math.floor(addressCounter / 250)}.${(addressCounter % 250) + 1}`;
};

/** Calls /rpc/health one after another until `done` settles. */
async function pollHealth(done: Promise<unknown>): Promise<{ status: number; ms: number }[]> {
  const probes: { status: number; ms: number }[] = [];
  let finished = false;
  void done.finally(() => {
    finished = true;
  });
  while (!finished) {
    const started = Date.now();
    const { status } = await api.request("/rpc/health", { signal: AbortSignal.timeout(30_000) });
    probes.push({ status, ms: Date.now() - started });
    await new Promise((r) => setTimeout(r, 50));
  }
  return probes;
}

const DOCUMENTED_503 = ["503 BUSY", "503 SERVICE_BUSY", "503 STATEMENT_TIMEOUT"];

test(
  "infinite dates, huge reads, 50 expensive searches and 100 bad logins at once: health stays 200, " +
    "every flooding request gets a documented answer, and the service is normal right after",
  async () => {
    const revenue = (from: string, to: string) =>
      api.request(`/rpc/bi_revenue?from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}&bucket=day`, {
        token: admin.token,
      });
    const floods: Record<string, Promise<Answer[]>> = {
      revenue: Promise.all(
        Array.from({ length: 4 }).flatMap(() => [
          revenue("infinity", "infinity"),
          revenue("-infinity", "infinity"),
          revenue("0001-01-01", "9999-12-31"),
        ]),
      ),
      hugeReads: Promise.all(Array.from({ length: 16 }, () => api.request("/posts?limit=10000000"))),
      searches: Promise.all(Array.from({ length: 50 }, () => api.request("/rpc/search_content?query=website"))),
      badLogins: Promise.all(
        Array.from({ length: 100 }, (_, i) =>
          api.request("/rpc/login", {
            method: "POST",
            body: JSON.stringify({ email: uniqueEmail(`flood${i}`), password: "salah-sekali" }),
            headers: { "x-forwarded-for": freshAddress() },
          }),
        ),
      ),
    };
    const all = Promise.all(Object.values(floods));
    const [, probes] = await Promise.all([all, pollHealth(all)]);

    const revenueAnswers = (await floods.revenue!).map(label);
    expect(revenueAnswers.filter((a) => !["400 INVALID_DATE_RANGE", "400 RANGE_TOO_LARGE"].includes(a))).toEqual([]);

    const reads = await floods.hugeReads!;
    expect(reads.map(label).filter((a) => a !== "200 rows" && !DOCUMENTED_503.includes(a))).toEqual([]);
    for (const read of reads.filter((r) => r.status === 200)) expect((read.body as unknown[]).length).toBe(ROW_CAP);
    expect(reads.some((r) => r.status === 200)).toBe(true);

    const searches = (await floods.searches!).map(label);
    expect(searches.filter((a) => a !== "200 rows" && !DOCUMENTED_503.includes(a))).toEqual([]);
    expect(searches).toContain("200 rows");

    const logins = (await floods.badLogins!).map(label);
    expect(logins.filter((a) => a !== "401 INVALID_CREDENTIALS" && !DOCUMENTED_503.includes(a))).toEqual([]);
    expect(logins).toContain("401 INVALID_CREDENTIALS");

    // Health: answered every time, 200, within the bound.
    expect(probes.length).toBeGreaterThan(0);
    expect(probes.filter((p) => p.status !== 200)).toEqual([]);
    expect(probes.filter((p) => p.ms >= HEALTH_BOUND_MS)).toEqual([]);

    // Right after: the ordinary calls answer as usual.
    const signIn = await api.request("/rpc/login", {
      method: "POST",
      body: JSON.stringify({ email: admin.user.email, password: "password-123" }),
      headers: { "x-forwarded-for": freshAddress() },
    });
    expect(signIn.status).toBe(200);
    const found = await api.request("/rpc/search_content?query=website");
    expect(found.status).toBe(200);
    expect((found.body as unknown[]).length).toBeGreaterThan(0);
    const page = await api.request("/posts?select=slug&order=published_at.desc,id&limit=5");
    expect(page.status).toBe(200);
    expect((page.body as { slug: string }[]).map((p) => p.slug)).toEqual([
      "website-sekolah-1",
      "website-sekolah-2",
      "website-sekolah-3",
      "website-sekolah-4",
      "website-sekolah-5",
    ]);
    process.stdout.write(
      `floods: health ${probes.length} calls, max ${Math.max(...probes.map((p) => p.ms))} ms; ` +
        `reads ${JSON.stringify(histogram(reads.map(label)))}; searches ${JSON.stringify(histogram(searches))}; ` +
        `logins ${JSON.stringify(histogram(logins))}\n`,
    );
  },
  180_000,
);

function histogram(labels: string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const l of labels) counts[l] = (counts[l] ?? 0) + 1;
  return counts;
}
