/**
 * The admin's numbers: admin_dashboard and bi_revenue, checked against counts
 * computed independently in SQL on a fixture with every status.
 */
import { startApi, type TestApi } from "../helpers/api";
import { createAdmin, registerClient, type SignedIn } from "../helpers/auth";
import { createMigratedDatabase, type TestDatabase } from "../helpers/database";

let db: TestDatabase;
let api: TestApi;
let admin: SignedIn;
let client: SignedIn;

type Dashboard = {
  users: { total: number; by_role: Record<string, number> };
  projects: { total: number; by_status: Record<string, number>; by_type: Record<string, number> };
  invoices: { by_status: Record<string, { count: number; amount: number }> };
  revenue: { this_month: number; last_month: number; currency: string };
  latest_projects: { id: string; owner_email: string; created_at: string }[];
  latest_payments: { id: string; amount: number; paid_at: string }[];
};

beforeAll(async () => {
  db = await createMigratedDatabase();
  api = await startApi(db);
  admin = await createAdmin(api, db);
  client = await registerClient(api);
  const other = await registerClient(api);
  // Projects in every status and type; invoices in several statuses, paid in
  // this Jakarta month, last month and long ago. Triggers are skipped so the
  // fixture can be placed anywhere in time.
  await db.query("set session_replication_role = replica");
  await db.query(
    `insert into api.projects (user_id, name, type, status, created_at)
     select case when g % 2 = 0 then $1::uuid else $2::uuid end, 'P' || g,
            (array['sekolah','berita','company']::api.project_type[])[1 + g % 3],
            (array['pending_payment','in_progress','review','completed']::api.project_status[])[1 + g % 4],
            now() - g * interval '9 days'
       from generate_series(1, 24) g`,
    [client.user.id, other.user.id],
  );
  await db.query(
    `insert into api.invoices (project_id, amount, status, paid_at, created_at)
     select p.id, 1000000 * (1 + (row_number() over (order by p.created_at)) % 3),
            s.status, case when s.status in ('paid', 'partial_refunded', 'refunded') then p.created_at + interval '1 day' end,
            p.created_at
       from api.projects p
      cross join lateral (select (array['paid','paid','unpaid','pending','partial_refunded','refunded','expired']::api.invoice_status[])
                                 [1 + abs(hashtext(p.id::text)) % 7] as status) s`,
  );
  await db.query("set session_replication_role = origin");
});

afterAll(async () => {
  await api?.stop();
  await db?.drop();
});

const dashboard = async (token: string) => api.request("/rpc/admin_dashboard", { token });

describe("admin_dashboard", () => {
  test("every number equals the same count made directly in SQL", async () => {
    const { status, body } = await dashboard(admin.token);
    expect(status).toBe(200);
    const d = body as Dashboard;

    const roles = await db.query<{ role: string; n: number }>(
      "select role, count(*)::int as n from api.users group by role",
    );
    expect(d.users.total).toBe(roles.reduce((a, r) => a + r.n, 0));
    for (const r of roles) expect(d.users.by_role[r.role]).toBe(r.n);

    const byStatus = await db.query<{ status: string; n: number }>(
      "select status, count(*)::int as n from api.projects group by status",
    );
    for (const r of byStatus) expect(d.projects.by_status[r.status]).toBe(r.n);
    const byType = await db.query<{ type: string; n: number }>(
      "select type, count(*)::int as n from api.projects group by type",
    );
    for (const r of byType) expect(d.projects.by_type[r.type]).toBe(r.n);
    expect(d.projects.total).toBe(24);

    const invoices = await db.query<{ status: string; n: number; amount: string }>(
      "select status, count(*)::int as n, sum(amount) as amount from api.invoices group by status",
    );
    expect(invoices.length).toBeGreaterThan(2);
    for (const r of invoices) expect(d.invoices.by_status[r.status]).toEqual({ count: r.n, amount: Number(r.amount) });
    expect(d.invoices.by_status.cancelled).toEqual({ count: 0, amount: 0 });

    const [revenue] = await db.query<{ this_month: string; last_month: string }>(
      `with m as (select date_trunc('month', now() at time zone 'Asia/Jakarta') as start)
       select coalesce(sum(amount) filter (where paid_at at time zone 'Asia/Jakarta' >= m.start), 0) as this_month,
              coalesce(sum(amount) filter (where paid_at at time zone 'Asia/Jakarta' >= m.start - interval '1 month'
                                             and paid_at at time zone 'Asia/Jakarta' < m.start), 0) as last_month
         from api.invoices, m where status in ('paid', 'partial_refunded') group by m.start`,
    );
    expect(d.revenue).toEqual({
      this_month: Number(revenue!.this_month),
      last_month: Number(revenue!.last_month),
      currency: "IDR",
    });

    const latest = await db.query<{ id: string }>("select id from api.projects order by created_at desc limit 10");
    expect(d.latest_projects.map((p) => p.id)).toEqual(latest.map((p) => p.id));
    expect(d.latest_projects[0]!.owner_email).toMatch(/@example\.id$/);
    const payments = await db.query<{ id: string }>(
      "select id from api.invoices where status = 'paid' order by paid_at desc limit 10",
    );
    expect(d.latest_payments.map((p) => p.id)).toEqual(payments.map((p) => p.id));
  });

  test("clients are refused (FORBIDDEN) and anonymous visitors too (401)", async () => {
    const refused = await dashboard(client.token);
    expect(refused.status).toBe(403);
    expect(refused.body).toEqual(expect.objectContaining({ code: "FORBIDDEN" }));
    expect((await api.request("/rpc/admin_dashboard")).status).toBe(401);
  });
});

describe("bi_revenue", () => {
  type Bucket = { bucket_start: string; revenue: number; paid_invoices: number; new_projects: number };
  const bi = (params: string, token = admin.token) => api.request(`/rpc/bi_revenue?${params}`, { token });

  test.each(["day", "week", "month"])(
    "per %s: sums equal SQL, every bucket present, gaps are zeros",
    async (bucket) => {
      const from = "2025-01-01";
      const to = new Date().toISOString().slice(0, 10);
      const { status, body } = await bi(`from=${from}&to=${to}&bucket=${bucket}`);
      expect(status).toBe(200);
      const rows = body as Bucket[];
      const [expected] = await db.query<{ buckets: number; revenue: string; paid: number; projects: number }>(
        `select (select count(*) from generate_series(date_trunc($3, $1::date::timestamp), date_trunc($3, $2::date::timestamp), ('1 ' || $3)::interval))::int as buckets,
              (select coalesce(sum(amount), 0) from api.invoices where status in ('paid', 'partial_refunded')
                  and (paid_at at time zone 'Asia/Jakarta')::date between $1::date and $2::date) as revenue,
              (select count(*) from api.invoices where status in ('paid', 'partial_refunded')
                  and (paid_at at time zone 'Asia/Jakarta')::date between $1::date and $2::date)::int as paid,
              (select count(*) from api.projects where (created_at at time zone 'Asia/Jakarta')::date between $1::date and $2::date)::int as projects`,
        [from, to, bucket],
      );
      expect(rows).toHaveLength(expected!.buckets);
      expect(rows.reduce((a, r) => a + r.revenue, 0)).toBe(Number(expected!.revenue));
      expect(rows.reduce((a, r) => a + r.paid_invoices, 0)).toBe(expected!.paid);
      expect(rows.reduce((a, r) => a + r.new_projects, 0)).toBe(expected!.projects);
      expect(rows.some((r) => r.revenue === 0 && r.paid_invoices === 0 && r.new_projects === 0)).toBe(true);
      const starts = rows.map((r) => r.bucket_start);
      expect([...starts].sort()).toEqual(starts);
      if (bucket === "week") expect(new Date(`${starts[1]}T00:00:00Z`).getUTCDay()).toBe(1); // Mondays
      if (bucket === "month") expect(starts.every((s) => s.endsWith("-01"))).toBe(true);
    },
  );

  test.each([
    ["an unknown bucket", "from=2026-01-01&to=2026-02-01&bucket=hour", 400, "INVALID_BUCKET"],
    ["from after to", "from=2026-03-01&to=2026-02-01&bucket=day", 400, "INVALID_DATE_RANGE"],
    ["over 1000 buckets", "from=2020-01-01&to=2026-01-01&bucket=day", 400, "RANGE_TOO_LARGE"],
    ["a date that is not a date", "from=yesterday-ish&to=2026-02-01&bucket=day", 400, "22007"],
  ])("refuses %s (%s)", async (_what, params, status, code) => {
    const response = await bi(params);
    expect(response.status).toBe(status);
    expect(response.body).toEqual(expect.objectContaining({ code }));
  });

  // Before 000054 an infinite date made the bucket count generate an endless
  // series (no answer, temporary files filling the disk, the query running
  // on after the client left), and 0001..9999 generated three million days
  // before refusing. The 5 s abort makes a hang fail the test.
  test.each([
    ["from=infinity", "from=infinity&to=infinity&bucket=day"],
    ["from=-infinity", "from=-infinity&to=2026-01-01&bucket=day"],
    ["to=infinity", "from=2026-01-01&to=infinity&bucket=month"],
    ["year 1 to 9999", "from=0001-01-01&to=9999-12-31&bucket=day"],
    ["a day before 2000", "from=1999-12-31&to=2000-01-31&bucket=day"],
    ["a day after 2099", "from=2099-12-01&to=2100-01-01&bucket=day"],
  ])("refuses %s at once with INVALID_DATE_RANGE, leaving nothing running", async (_what, params) => {
    const response = await api.request(`/rpc/bi_revenue?${params}`, {
      token: admin.token,
      signal: AbortSignal.timeout(5_000),
    });
    expect(response.status).toBe(400);
    expect(response.body).toEqual(
      expect.objectContaining({
        code: "INVALID_DATE_RANGE",
        message: "Give from and to dates between 2000-01-01 and 2099-12-31 with from on or before to.",
      }),
    );
    const running = await db.query(
      "select pid from pg_stat_activity where datname = current_database() and state = 'active' and query like '%bi_revenue%' and pid <> pg_backend_pid()",
    );
    expect(running).toEqual([]);
  });

  // The bucket count is arithmetic: the widest allowed range answers at once,
  // and the limit is exact for each bucket size.
  test.each([
    ["the whole allowed range by day (36,524 buckets)", "from=2000-01-01&to=2099-12-31&bucket=day", "RANGE_TOO_LARGE"],
    [
      "the whole allowed range by month (1,200 buckets)",
      "from=2000-01-01&to=2099-12-31&bucket=month",
      "RANGE_TOO_LARGE",
    ],
    ["1001 days", "from=2024-01-01&to=2026-09-27&bucket=day", "RANGE_TOO_LARGE"],
    ["1000 days", "from=2024-01-01&to=2026-09-26&bucket=day", 1000],
    ["1001 weeks (from a Wednesday to a Monday)", "from=2020-01-08&to=2039-03-07&bucket=week", "RANGE_TOO_LARGE"],
    ["1000 weeks (from a Wednesday to a Sunday)", "from=2020-01-08&to=2039-03-06&bucket=week", 1000],
    ["1001 months", "from=2000-01-31&to=2083-05-01&bucket=month", "RANGE_TOO_LARGE"],
    ["1000 months", "from=2000-01-31&to=2083-04-30&bucket=month", 1000],
  ])("%s", async (_what, params, expected) => {
    const response = await api.request(`/rpc/bi_revenue?${params}`, {
      token: admin.token,
      signal: AbortSignal.timeout(5_000),
    });
    if (typeof expected === "number") {
      expect(response.status).toBe(200);
      expect(response.body).toHaveLength(expected);
    } else {
      expect(response.status).toBe(400);
      expect(response.body).toEqual(expect.objectContaining({ code: expected }));
    }
  });

  test("clients are refused (FORBIDDEN)", async () => {
    const response = await bi("from=2026-01-01&to=2026-02-01&bucket=day", client.token);
    expect(response.status).toBe(403);
  });
});
