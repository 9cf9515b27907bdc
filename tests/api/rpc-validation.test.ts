/**
 * Bad input to every RPC: wrong types, missing and extra parameters, empty
 * and very long strings, invalid enum values, SQL-looking strings and
 * unknown ids. Each gets a 4xx with its documented code (ours, or
 * PostgREST's PGRST202 / PGRST102 / 22P02 / 22008), never a 500, and leaves
 * the database exactly as it was.
 */
import { startApi, type TestApi } from "../helpers/api";
import { createAdmin, registerClient, type SignedIn } from "../helpers/auth";
import { createSeededDatabase, type TestDatabase } from "../helpers/database";

let db: TestDatabase;
let api: TestApi;
let client: SignedIn;
let admin: SignedIn;
let projectId: string;

const LONG = "x".repeat(10_000);
/** 10 000 characters that do not compress (a rate-limit key this long would not fit a btree index entry). */
const RANDOM_LONG = ((seed: number) =>
  Array.from({ length: 10_000 }, () => {
    // xorshift32: a fixed pseudo-random sequence, nothing repeats for pglz to compress
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return "abcdefghijklmnopqrstuvwxyz0123456789"[(seed >>> 0) % 36];
  }).join(""))(2_463_534_242);
const SQL = "'; drop table api.users; --";
const MISSING_ID = "00000000-0000-4000-8000-000000000000";

type Who = "anon" | "client" | "admin";
type Case = [
  title: string,
  who: Who,
  method: "GET" | "POST",
  path: string,
  body: unknown,
  status: number,
  code: string,
];

/** Row counts of every table a call could touch, and the audit log. */
async function snapshot(): Promise<Record<string, number>> {
  const tables = [
    "api.users",
    "api.projects",
    "api.invoices",
    "api.templates",
    "api.posts",
    "api.pages",
    "api.pricing_plans",
    "api.faqs",
    "api.audit_logs",
    "api.real_time_notifications",
    "app_private.user_secrets",
    "app_private.project_secrets",
    "app_private.revoked_tokens",
    "app_private.settings",
  ];
  const [row] = await db.query<Record<string, string>>(
    `select ${tables.map((t) => `(select count(*) from ${t}) as "${t}"`).join(", ")}`,
  );
  const digest = await db.query<{ d: string }>(
    "select md5(string_agg(u::text, ',' order by u.id)) as d from api.users u",
  );
  return {
    ...Object.fromEntries(Object.entries(row!).map(([k, v]) => [k, Number(v)])),
    usersDigest: digest[0]!.d.length,
  };
}

beforeAll(async () => {
  db = await createSeededDatabase();
  api = await startApi(db);
  client = await registerClient(api);
  admin = await createAdmin(api, db);
  const { body } = await api.request("/rpc/create_project", {
    method: "POST",
    body: JSON.stringify({ name: "Situs", type: "company" }),
    token: client.token,
  });
  projectId = (body as { project: { id: string } }).project.id;
});

afterAll(async () => {
  await api?.stop();
  await db?.drop();
});

let n = 0;
const freshEmail = () => `nobody${++n}@example.id`;

const cases = (): Case[] => [
  // register
  ["register: no parameters", "anon", "POST", "/rpc/register", {}, 404, "PGRST202"],
  [
    "register: an extra parameter",
    "anon",
    "POST",
    "/rpc/register",
    { email: freshEmail(), password: "password-1", name: "A", role: "admin" },
    404,
    "PGRST202",
  ],
  [
    "register: empty email",
    "anon",
    "POST",
    "/rpc/register",
    { email: "", password: "password-1", name: "A" },
    400,
    "INVALID_EMAIL",
  ],
  [
    "register: 10 000-character email",
    "anon",
    "POST",
    "/rpc/register",
    { email: `${LONG}@example.id`, password: "password-1", name: "A" },
    400,
    "INVALID_EMAIL",
  ],
  [
    "register: SQL-looking email",
    "anon",
    "POST",
    "/rpc/register",
    { email: SQL, password: "password-1", name: "A" },
    400,
    "INVALID_EMAIL",
  ],
  [
    "register: a number as email",
    "anon",
    "POST",
    "/rpc/register",
    { email: 12345, password: "password-1", name: "A" },
    400,
    "INVALID_EMAIL",
  ],
  [
    "register: empty password",
    "anon",
    "POST",
    "/rpc/register",
    { email: freshEmail(), password: "", name: "A" },
    400,
    "WEAK_PASSWORD",
  ],
  [
    "register: empty name",
    "anon",
    "POST",
    "/rpc/register",
    { email: freshEmail(), password: "password-1", name: "" },
    400,
    "INVALID_NAME",
  ],
  [
    "register: SQL-looking phone",
    "anon",
    "POST",
    "/rpc/register",
    { email: freshEmail(), password: "password-1", name: "A", phone: SQL },
    400,
    "INVALID_PHONE",
  ],
  // login
  ["login: no parameters", "anon", "POST", "/rpc/login", {}, 404, "PGRST202"],
  [
    "login: an extra parameter",
    "anon",
    "POST",
    "/rpc/login",
    { email: freshEmail(), password: "x", remember: true },
    404,
    "PGRST202",
  ],
  ["login: empty strings", "anon", "POST", "/rpc/login", { email: "", password: "" }, 401, "INVALID_CREDENTIALS"],
  ["login: SQL-looking email", "anon", "POST", "/rpc/login", { email: SQL, password: SQL }, 401, "INVALID_CREDENTIALS"],
  [
    "login: 10 000-character password",
    "anon",
    "POST",
    "/rpc/login",
    { email: freshEmail(), password: LONG },
    401,
    "INVALID_CREDENTIALS",
  ],
  [
    "login: 10 000-character email that does not compress",
    "anon",
    "POST",
    "/rpc/login",
    { email: `${RANDOM_LONG}@example.id`, password: "password-1" },
    401,
    "INVALID_CREDENTIALS",
  ],
  // logout, me, health
  ["logout: anonymous", "anon", "POST", "/rpc/logout", {}, 401, "42501"],
  ["logout: an extra parameter", "client", "POST", "/rpc/logout", { everywhere: true }, 404, "PGRST202"],
  ["me: anonymous", "anon", "GET", "/rpc/me", null, 401, "42501"],
  ["me: an extra parameter", "client", "GET", "/rpc/me?id=1", null, 404, "PGRST202"],
  ["health: an extra parameter", "anon", "GET", "/rpc/health?verbose=1", null, 404, "PGRST202"],
  // set_user_role
  [
    "set_user_role: a client",
    "client",
    "POST",
    "/rpc/set_user_role",
    { user_id: MISSING_ID, role: "admin" },
    403,
    "FORBIDDEN",
  ],
  [
    "set_user_role: not a uuid",
    "admin",
    "POST",
    "/rpc/set_user_role",
    { user_id: "not-a-uuid", role: "client" },
    400,
    "22P02",
  ],
  [
    "set_user_role: empty role",
    "admin",
    "POST",
    "/rpc/set_user_role",
    { user_id: MISSING_ID, role: "" },
    400,
    "INVALID_ROLE",
  ],
  [
    "set_user_role: invalid enum value",
    "admin",
    "POST",
    "/rpc/set_user_role",
    { user_id: MISSING_ID, role: "superuser" },
    400,
    "INVALID_ROLE",
  ],
  [
    "set_user_role: SQL-looking role",
    "admin",
    "POST",
    "/rpc/set_user_role",
    { user_id: MISSING_ID, role: SQL },
    400,
    "INVALID_ROLE",
  ],
  [
    "set_user_role: unknown user",
    "admin",
    "POST",
    "/rpc/set_user_role",
    { user_id: MISSING_ID, role: "client" },
    404,
    "USER_NOT_FOUND",
  ],
  ["set_user_role: missing role", "admin", "POST", "/rpc/set_user_role", { user_id: MISSING_ID }, 404, "PGRST202"],
  // unlock_login
  ["unlock_login: anonymous", "anon", "POST", "/rpc/unlock_login", { email: "a@example.id" }, 401, "42501"],
  ["unlock_login: a client", "client", "POST", "/rpc/unlock_login", { email: "a@example.id" }, 403, "FORBIDDEN"],
  ["unlock_login: no parameters", "admin", "POST", "/rpc/unlock_login", {}, 404, "PGRST202"],
  ["unlock_login: empty email", "admin", "POST", "/rpc/unlock_login", { email: "" }, 400, "INVALID_EMAIL"],
  ["unlock_login: SQL-looking email", "admin", "POST", "/rpc/unlock_login", { email: SQL }, 400, "INVALID_EMAIL"],
  ["unlock_login: unknown email", "admin", "POST", "/rpc/unlock_login", { email: freshEmail() }, 404, "USER_NOT_FOUND"],
  // create_project
  [
    "create_project: empty name",
    "client",
    "POST",
    "/rpc/create_project",
    { name: "", type: "company" },
    400,
    "INVALID_NAME",
  ],
  [
    "create_project: 10 000-character name",
    "client",
    "POST",
    "/rpc/create_project",
    { name: LONG, type: "company" },
    400,
    "INVALID_NAME",
  ],
  [
    "create_project: invalid enum value",
    "client",
    "POST",
    "/rpc/create_project",
    { name: "Situs", type: "website" },
    400,
    "INVALID_PROJECT_TYPE",
  ],
  [
    "create_project: SQL-looking type",
    "client",
    "POST",
    "/rpc/create_project",
    { name: SQL, type: SQL },
    400,
    "INVALID_PROJECT_TYPE",
  ],
  [
    "create_project: wrong types",
    "client",
    "POST",
    "/rpc/create_project",
    { name: 42, type: true },
    400,
    "INVALID_NAME",
  ],
  // PostgREST turns any JSON value into text for a text parameter; name is a
  // json parameter so that create_project sees what was sent.
  ...[123, ["a"], { a: 1 }, true, null].map((name): Case => [
    `create_project: name ${JSON.stringify(name)} (not a JSON string)`,
    "client",
    "POST",
    "/rpc/create_project",
    { name, type: "company" },
    400,
    "INVALID_NAME",
  ]),
  [
    "create_project: a type that is not a string",
    "client",
    "POST",
    "/rpc/create_project",
    { name: "Situs", type: ["company"] },
    400,
    "INVALID_PROJECT_TYPE",
  ],
  ["create_project: missing type", "client", "POST", "/rpc/create_project", { name: "Situs" }, 404, "PGRST202"],
  [
    "create_project: an extra parameter",
    "client",
    "POST",
    "/rpc/create_project",
    { name: "Situs", type: "company", price: 1 },
    404,
    "PGRST202",
  ],
  [
    "create_project: called with GET (read-only)",
    "client",
    "GET",
    "/rpc/create_project?name=Situs&type=company",
    null,
    405,
    "USE_POST",
  ],
  [
    "create_project: anonymous",
    "anon",
    "POST",
    "/rpc/create_project",
    { name: "Situs", type: "company" },
    401,
    "42501",
  ],
  // cancel_project, set_project_status
  ["cancel_project: not a uuid", "client", "POST", "/rpc/cancel_project", { project_id: SQL }, 400, "22P02"],
  [
    "cancel_project: unknown id",
    "client",
    "POST",
    "/rpc/cancel_project",
    { project_id: MISSING_ID },
    404,
    "PROJECT_NOT_FOUND",
  ],
  ["cancel_project: null id", "client", "POST", "/rpc/cancel_project", { project_id: null }, 400, "INVALID_INPUT"],
  ["cancel_project: missing id", "client", "POST", "/rpc/cancel_project", {}, 404, "PGRST202"],
  [
    "set_project_status: invalid enum value",
    "admin",
    "POST",
    "/rpc/set_project_status",
    { project_id: MISSING_ID, status: "archived" },
    400,
    "INVALID_STATUS",
  ],
  [
    "set_project_status: empty status",
    "admin",
    "POST",
    "/rpc/set_project_status",
    { project_id: MISSING_ID, status: "" },
    400,
    "INVALID_STATUS",
  ],
  [
    "set_project_status: unknown id",
    "admin",
    "POST",
    "/rpc/set_project_status",
    { project_id: MISSING_ID, status: "review" },
    404,
    "PROJECT_NOT_FOUND",
  ],
  [
    "set_project_status: not a uuid",
    "admin",
    "POST",
    "/rpc/set_project_status",
    { project_id: 7, status: "review" },
    400,
    "22P02",
  ],
  // reporting
  ["admin_dashboard: a client", "client", "GET", "/rpc/admin_dashboard", null, 403, "FORBIDDEN"],
  ["admin_dashboard: an extra parameter", "admin", "GET", "/rpc/admin_dashboard?month=11", null, 404, "PGRST202"],
  ["bi_revenue: impossible date", "admin", "GET", "/rpc/bi_revenue?from=2026-13-45&to=2026-12-01", null, 400, "22008"],
  [
    "bi_revenue: SQL-looking bucket",
    "admin",
    "POST",
    "/rpc/bi_revenue",
    { from: "2026-01-01", to: "2026-02-01", bucket: SQL },
    400,
    "INVALID_BUCKET",
  ],
  [
    "bi_revenue: empty bucket",
    "admin",
    "POST",
    "/rpc/bi_revenue",
    { from: "2026-01-01", to: "2026-02-01", bucket: "" },
    400,
    "INVALID_BUCKET",
  ],
  ["bi_revenue: missing from", "admin", "POST", "/rpc/bi_revenue", { to: "2026-02-01" }, 404, "PGRST202"],
  // search_content
  ["search_content: empty query", "anon", "GET", "/rpc/search_content?query=", null, 400, "INVALID_QUERY"],
  [
    "search_content: 10 000-character query",
    "anon",
    "POST",
    "/rpc/search_content",
    { query: LONG },
    400,
    "INVALID_QUERY",
  ],
  [
    "search_content: empty language",
    "anon",
    "POST",
    "/rpc/search_content",
    { query: "web", lang: "" },
    400,
    "INVALID_LANGUAGE",
  ],
  [
    "search_content: a word as limit",
    "anon",
    "POST",
    "/rpc/search_content",
    { query: "web", limit: "ten" },
    400,
    "22P02",
  ],
  ["search_content: missing query", "anon", "GET", "/rpc/search_content?lang=en", null, 404, "PGRST202"],
  // notifications and credentials
  [
    "mark_notifications_read: not uuids",
    "client",
    "POST",
    "/rpc/mark_notifications_read",
    { ids: ["abc"] },
    400,
    "22P02",
  ],
  [
    "mark_notifications_read: too many ids",
    "client",
    "POST",
    "/rpc/mark_notifications_read",
    { ids: Array.from({ length: 1001 }, () => MISSING_ID) },
    400,
    "INVALID_INPUT",
  ],
  ["mark_notifications_read: anonymous", "anon", "POST", "/rpc/mark_notifications_read", {}, 401, "42501"],
  [
    "project_credentials: unknown id",
    "client",
    "GET",
    `/rpc/project_credentials?project_id=${MISSING_ID}`,
    null,
    404,
    "PROJECT_NOT_FOUND",
  ],
  [
    "project_credentials: SQL-looking id",
    "client",
    "GET",
    `/rpc/project_credentials?project_id=${encodeURIComponent(SQL)}`,
    null,
    400,
    "22P02",
  ],
  [
    "set_project_credentials: a string",
    "client",
    "POST",
    "/rpc/set_project_credentials",
    { project_id: "PROJECT", credentials: SQL },
    400,
    "INVALID_CREDENTIALS_FORMAT",
  ],
  [
    "set_project_credentials: unknown id",
    "client",
    "POST",
    "/rpc/set_project_credentials",
    { project_id: MISSING_ID, credentials: {} },
    404,
    "PROJECT_NOT_FOUND",
  ],
  [
    "set_project_credentials: missing credentials",
    "client",
    "POST",
    "/rpc/set_project_credentials",
    { project_id: "PROJECT" },
    404,
    "PGRST202",
  ],
];

describe("every RPC refuses bad input with its documented code and changes nothing", () => {
  test.each(cases())("%s", async (_title, who, method, path, body, status, code) => {
    const token = who === "client" ? client.token : who === "admin" ? admin.token : undefined;
    const payload = JSON.parse(JSON.stringify(body ?? null).replaceAll('"PROJECT"', JSON.stringify(projectId)));
    const before = await snapshot();
    const response = await api.request(path, {
      method,
      token,
      ...(method === "POST" ? { body: JSON.stringify(payload) } : {}),
    });
    expect(response.status).toBe(status);
    expect(response.body).toEqual(expect.objectContaining({ code }));
    expect(await snapshot()).toEqual(before);
  });

  test.each(["register", "login", "create_project", "set_project_credentials", "search_content"])(
    "%s: a body that is not JSON is refused (PGRST102)",
    async (fn) => {
      const before = await snapshot();
      const response = await api.request(`/rpc/${fn}`, { method: "POST", body: "{not json", token: client.token });
      expect(response.status).toBe(400);
      expect(response.body).toEqual(expect.objectContaining({ code: "PGRST102" }));
      expect(await snapshot()).toEqual(before);
    },
  );
});
