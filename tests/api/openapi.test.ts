/**
 * The OpenAPI document PostgREST 12.0.2 serves at `/` (openapi-mode
 * follow-privileges), as the README describes it: each caller sees the
 * tables and views its role has a grant on and the functions it may execute,
 * and nothing else; the operations listed under a table are not filtered by
 * the grants (every table shows GET, POST, PATCH and DELETE), so the access
 * matrix, not the document, says which of them a role may call.
 */
import { startApi, type TestApi } from "../helpers/api";
import { createAdmin, registerClient, type SignedIn } from "../helpers/auth";
import { createMigratedDatabase, type TestDatabase } from "../helpers/database";

let db: TestDatabase;
let api: TestApi;
let client: SignedIn;
let admin: SignedIn;

beforeAll(async () => {
  db = await createMigratedDatabase();
  api = await startApi(db);
  client = await registerClient(api);
  admin = await createAdmin(api, db);
});

afterAll(async () => {
  await api?.stop();
  await db?.drop();
});

type OpenApi = { paths: Record<string, Record<string, unknown>> };

async function documentFor(token?: string): Promise<OpenApi> {
  const { status, body } = await api.request("/", { token, headers: { accept: "application/openapi+json" } });
  expect(status).toBe(200);
  return body as OpenApi;
}

const paths = (doc: OpenApi) => Object.keys(doc.paths);

test("anonymous callers see the public tables and the functions anyone may call, nothing else", async () => {
  const doc = await documentFor();
  expect(paths(doc).sort()).toEqual(
    [
      "/",
      "/faqs",
      "/pages",
      "/posts",
      "/pricing_plans",
      "/templates",
      "/rpc/health",
      "/rpc/login",
      "/rpc/midtrans_notification",
      "/rpc/register",
      "/rpc/search_content",
    ].sort(),
  );
});

test("a client also sees its own tables and the signed-in functions, but no admin-only or worker table", async () => {
  const seen = paths(await documentFor(client.token));
  expect(seen).toEqual(
    expect.arrayContaining(["/projects", "/invoices", "/users", "/real_time_notifications", "/rpc/create_project"]),
  );
  for (const hidden of ["/audit_logs", "/payment_attempts", "/payment_notifications", "/websocket_connections"]) {
    expect(seen).not.toContain(hidden);
  }
});

test("an admin also sees the admin tables", async () => {
  expect(paths(await documentFor(admin.token))).toEqual(
    expect.arrayContaining(["/audit_logs", "/payment_attempts", "/payment_notifications", "/websocket_connections"]),
  );
});

test("the operations under a table are not filtered: anonymous sees POST /posts, which answers 401", async () => {
  const doc = await documentFor();
  expect(Object.keys(doc.paths["/posts"]!).sort()).toEqual(["delete", "get", "patch", "post"]);
  const { status, body } = await api.request("/posts", { method: "POST", body: JSON.stringify({ title: "x" }) });
  expect({ status, code: (body as { code: string }).code }).toEqual({ status: 401, code: "42501" });
});
