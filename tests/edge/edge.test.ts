/**
 * The API edge (edge/server.ts) in front of the real PostgREST, as every API
 * test meets it (tests/helpers/api.ts): the client's address from the
 * connection or a trusted proxy only, the body size limit before the body is
 * read, invalid URL encodings, CORS, array bodies to functions, and
 * PostgREST's error answers rewritten to documented codes (README, Errors).
 */
import fs from "node:fs";
import path from "node:path";
import { Client } from "pg";
import { projectRoot } from "../../config/paths";
import { startEdge, type EdgeServer } from "../../edge/server";
import { EDGE_ERRORS } from "../../edge/errors";
import { startApi, type TestApi } from "../helpers/api";
import { registerClient, uniqueEmail, type SignedIn } from "../helpers/auth";
import { createMigratedDatabase, type TestDatabase } from "../helpers/database";
import { freePort } from "../setup/cluster";

const MB = 1024 * 1024;

let db: TestDatabase;
/** The edge with the test defaults: trusts no proxy, 1 MB bodies, CORS for any origin. */
let api: TestApi;
/** Edges of their own in front of api's PostgREST, stopped after the file. */
const edges: EdgeServer[] = [];
let client: SignedIn;

async function edgeWith(options: {
  trustedProxies?: readonly string[];
  maxBodyBytes?: number;
  corsAllowedOrigins?: "*" | readonly string[];
  upstream?: string;
}): Promise<string> {
  const edge = await startEdge({
    upstream: options.upstream ?? api.postgrestUrl,
    port: 0,
    trustedProxies: options.trustedProxies ?? [],
    maxBodyBytes: options.maxBodyBytes ?? MB,
    corsAllowedOrigins: options.corsAllowedOrigins ?? "*",
  });
  edges.push(edge);
  return edge.url;
}

type Answer = { status: number; body: unknown; text: string; headers: Headers };

async function call(url: string, init: RequestInit & { token?: string } = {}): Promise<Answer> {
  const { token, headers, ...rest } = init;
  const response = await fetch(url, {
    ...rest,
    headers: {
      "content-type": "application/json",
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(headers as Record<string, string> | undefined),
    },
  });
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON
  }
  return { status: response.status, body, text, headers: response.headers };
}

const codeOf = (answer: Answer) => [answer.status, (answer.body as { code?: string }).code];

beforeAll(async () => {
  db = await createMigratedDatabase();
  // PostgREST's own sessions on this database time out after 2 s (a lock
  // wait below turns into 57014); other databases of the run are untouched.
  await db.query(`alter role authenticator in database ${db.name} set statement_timeout = '2s'`);
  api = await startApi(db);
  client = await registerClient(api);
});

// Every sign-up of this file counts against the same address (127.0.0.1):
// each test starts with the sign-up limit's window empty.
beforeEach(async () => {
  await db.query("delete from app_private.rate_limit_events where bucket like 'register:%'");
});

afterAll(async () => {
  for (const edge of edges) await edge.stop();
  await api?.stop();
  await db?.drop();
});

async function register(url: string, headers: Record<string, string> = {}, email = uniqueEmail("edge")) {
  const answer = await call(`${url}/rpc/register`, {
    method: "POST",
    headers,
    body: JSON.stringify({ email, password: "password-123", name: "Klien Edge" }),
  });
  return { answer, email };
}

/** The audit IP of an account's sign-up. */
async function signUpAddress(email: string): Promise<string | null | undefined> {
  const rows = await db.query<{ ip_address: string | null }>(
    `select a.ip_address from api.audit_logs a join api.users u on a.resource_id = u.id::text
      where a.resource = 'users' and a.action = 'CREATE' and u.email = $1`,
    [email],
  );
  return rows.length === 1 ? rows[0]!.ip_address : undefined;
}

describe("the client's address", () => {
  test("from an untrusted peer, X-Forwarded-For is ignored: the audit row has the connection's address", async () => {
    for (const forwarded of ["203.0.113.7", "not-an-ip", "9".repeat(5000)]) {
      const { answer, email } = await register(api.url, { "x-forwarded-for": forwarded });
      expect(answer.status).toBe(200);
      expect(await signUpAddress(email)).toBe("127.0.0.1");
    }
  });

  test("the 20 sign-ups per hour per address cannot be bypassed by changing the header", async () => {
    for (let i = 1; i <= 20; i++) {
      const { answer } = await register(api.url, { "x-forwarded-for": `198.51.100.${i}` });
      expect(answer.status).toBe(200);
    }
    const { answer, email } = await register(api.url, { "x-forwarded-for": "198.51.100.21" });
    expect(codeOf(answer)).toEqual([429, "RATE_LIMITED"]);
    expect(Number(answer.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(await db.query("select 1 from api.users where email = $1", [email])).toEqual([]);
  });

  test("from a trusted proxy (TRUSTED_PROXIES=127.0.0.1), the rightmost address it vouches for; never an invalid one", async () => {
    const behindProxy = await edgeWith({ trustedProxies: ["127.0.0.1"] });
    const cases: [string, string][] = [
      ["198.51.100.77", "198.51.100.77"],
      // The client wrote the left part; the proxy appended the right one.
      ["1.1.1.1, 198.51.100.78", "198.51.100.78"],
      ["2001:db8::7", "2001:db8::7"],
      // Garbage from the proxy is not passed on: the proxy itself is the client then.
      ["not-an-ip", "127.0.0.1"],
      ["9".repeat(5000), "127.0.0.1"],
    ];
    for (const [forwarded, expected] of cases) {
      const { answer, email } = await register(behindProxy, { "x-forwarded-for": forwarded });
      expect(answer.status).toBe(200);
      expect(await signUpAddress(email)).toBe(expected);
    }
  });

  test("PostgREST reached without the edge stores one valid address or null, never the header as sent (request_ip)", async () => {
    const cases: [string, string | null][] = [
      ["203.0.113.9", "203.0.113.9"],
      ["2001:DB8::9", "2001:db8::9"],
      ["not-an-ip", null],
      ["9".repeat(5000), null],
      ["203.0.113.9, 10.0.0.1", null],
      ["10.0.0.0/8", null],
      ["999.1.1.1", null],
    ];
    for (const [forwarded, expected] of cases) {
      const { answer, email } = await register(api.postgrestUrl, { "x-forwarded-for": forwarded });
      expect(answer.status).toBe(200);
      expect(await signUpAddress(email)).toBe(expected);
    }
  });
});

describe("the body size limit (API_MAX_BODY_BYTES, 1 MB here)", () => {
  const fiveMb = `{"name":"${"x".repeat(5 * MB)}","type":"company"}`;
  const chunked = () =>
    new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < 5; i++) controller.enqueue(new TextEncoder().encode("x".repeat(MB)));
        controller.close();
      },
    });
  const projects = async () => Number((await db.query<{ n: string }>("select count(*) as n from api.projects"))[0]!.n);

  test("a 5 MB body with a refused token gets 413 BODY_TOO_LARGE, not a reset connection (Content-Length and chunked)", async () => {
    const declared = await call(`${api.url}/rpc/create_project`, {
      method: "POST",
      token: "bad.token.here",
      body: fiveMb,
    });
    expect(codeOf(declared)).toEqual([413, "BODY_TOO_LARGE"]);
    expect((declared.body as { details: string }).details).toBe(`at most ${MB} bytes`);
    const streamed = await call(`${api.url}/rpc/create_project`, {
      method: "POST",
      token: "bad.token.here",
      body: chunked(),
      duplex: "half",
    } as RequestInit & { token: string });
    expect(codeOf(streamed)).toEqual([413, "BODY_TOO_LARGE"]);
    expect((await call(`${api.url}/rpc/health`)).status).toBe(200);
  });

  test("a valid caller's oversized body is refused the same way and runs nothing", async () => {
    const before = await projects();
    const answer = await call(`${api.url}/rpc/create_project`, { method: "POST", token: client.token, body: fiveMb });
    expect(codeOf(answer)).toEqual([413, "BODY_TOO_LARGE"]);
    expect(await projects()).toBe(before);
  });

  test("a body under the limit reaches PostgREST, which answers a refused token with 401", async () => {
    const body = `{"name":"${"x".repeat(900 * 1024)}","type":"company"}`;
    for (let i = 0; i < 3; i++) {
      const answer = await call(`${api.url}/rpc/create_project`, { method: "POST", token: "bad.token.here", body });
      expect(codeOf(answer)).toEqual([401, "PGRST301"]);
    }
  });

  test("the limit is the setting's: 2 kB refuses a 3 kB sign-up before it is read, and lets a small one through", async () => {
    const small = await edgeWith({ maxBodyBytes: 2048 });
    const email = uniqueEmail("limit");
    const padded = await call(`${small}/rpc/register`, {
      method: "POST",
      body: JSON.stringify({ email, password: "password-123", name: "n".repeat(3000) }),
    });
    expect(codeOf(padded)).toEqual([413, "BODY_TOO_LARGE"]);
    expect((padded.body as { details: string }).details).toBe("at most 2048 bytes");
    expect(await db.query("select 1 from api.users where email = $1", [email])).toEqual([]);
    const { answer } = await register(small);
    expect(answer.status).toBe(200);
  });
});

describe("the URL", () => {
  test.each([
    ["GET", "/rpc/login?email=a&password=%ED%A0%80"],
    ["GET", "/rpc/health?x=%FF"],
    ["GET", "/rpc/search_posts?q=%C0%AF"],
    ["GET", "/posts?title=eq.%E2%82"],
    ["GET", "/rpc/login?email=a&password=%zz"],
    ["POST", "/rpc/login?x=%"],
    ["GET", "/rpc/%ED%A0%80"],
  ])("%s %s: invalid UTF-8 or a malformed escape is 400 INVALID_URL_ENCODING, never 500", async (method, target) => {
    const answer = await call(`${api.url}${target}`, {
      method,
      ...(method === "POST" ? { body: "{}" } : {}),
    });
    expect(codeOf(answer)).toEqual([400, "INVALID_URL_ENCODING"]);
  });

  test("a NUL is valid UTF-8: PostgreSQL refuses it with 400 22P05, as README Errors says", async () => {
    const answer = await call(`${api.url}/rpc/login?email=a&password=%00x`);
    expect(codeOf(answer)).toEqual([400, "22P05"]);
  });

  test("a request line and headers over Node's 16 kB are 431 HEADERS_TOO_LARGE with a code, not fastify's own body", async () => {
    const answer = await call(`${api.url}/posts?title=eq.${"x".repeat(20_000)}`);
    expect(codeOf(answer)).toEqual([431, "HEADERS_TOO_LARGE"]);
    const headers = await call(`${api.url}/rpc/health`, { headers: { "x-padding": "y".repeat(20_000) } });
    expect(codeOf(headers)).toEqual([431, "HEADERS_TOO_LARGE"]);
    // The edge still answers after closing that connection.
    expect((await call(`${api.url}/rpc/health`)).status).toBe(200);
  });

  test.each(["/projects/extra", "/rpc/health/extra", "/posts/1/2"])(
    "%s: a path PostgREST answers 404 {} is 404 NOT_FOUND with a code",
    async (target) => {
      expect(codeOf(await call(`${api.url}${target}`))).toEqual([404, "NOT_FOUND"]);
    },
  );

  test("valid UTF-8 escapes pass through", async () => {
    const answer = await call(`${api.url}/posts?select=id&title=eq.%C3%A9t%C3%A9%20%F0%9F%8E%89`);
    expect([answer.status, answer.body]).toEqual([200, []]);
  });
});

describe("answers", () => {
  test("pass through unchanged, small ones and long ones (over 64 kB: streamed on)", async () => {
    await db.query(
      `insert into api.faqs (question, answer, sort_order)
       select 'Pertanyaan ' || i, repeat('jawaban panjang ', 100), i from generate_series(1, 300) as i`,
    );
    for (const [target, headers] of [
      ["/", { accept: "application/openapi+json" }],
      ["/faqs?select=question,answer&order=sort_order", {}],
      ["/templates?select=name&order=name", {}],
      ["/rpc/health", {}],
    ] as const) {
      const direct = await call(`${api.postgrestUrl}${target}`, { token: client.token, headers });
      const edged = await call(`${api.url}${target}`, { token: client.token, headers });
      expect([edged.status, edged.text]).toEqual([direct.status, direct.text]);
      expect(edged.headers.get("content-type")).toBe(direct.headers.get("content-type"));
    }
    // The OpenAPI document names the host clients call: the edge's.
    const openapi = await call(`${api.url}/`, { headers: { accept: "application/openapi+json" } });
    expect((openapi.body as { host: string }).host).toBe(new URL(api.url).host);
    const long = await fetch(`${api.url}/faqs?select=question,answer`);
    expect((await long.arrayBuffer()).byteLength).toBeGreaterThan(400 * 1024);
    const range = await call(`${api.url}/faqs?select=id&limit=10`, { headers: { prefer: "count=exact" } });
    expect(range.headers.get("content-range")).toBe("0-9/300");
    await db.query("delete from api.faqs where question like 'Pertanyaan %'");
  });
});

describe("CORS (CORS_ALLOWED_ORIGINS)", () => {
  const app = "https://app.jasaweb.id";
  const evil = "https://evil.example";
  const preflight = (url: string, origin: string) =>
    fetch(`${url}/rpc/create_project`, {
      method: "OPTIONS",
      headers: {
        origin,
        "access-control-request-method": "POST",
        "access-control-request-headers": "authorization, content-type",
      },
    });

  test("PostgREST itself allows every origin; behind the edge only the configured ones are allowed", async () => {
    const direct = await fetch(`${api.postgrestUrl}/rpc/health`, { headers: { origin: evil } });
    expect(direct.headers.get("access-control-allow-origin")).toBe("*");

    const allowlisted = await edgeWith({ corsAllowedOrigins: [app] });
    const fromApp = await fetch(`${allowlisted}/rpc/health`, { headers: { origin: app } });
    expect([fromApp.status, fromApp.headers.get("access-control-allow-origin")]).toEqual([200, app]);
    expect(fromApp.headers.get("vary")).toMatch(/origin/i);
    expect(fromApp.headers.get("access-control-expose-headers")).toContain("Content-Range");
    const fromEvil = await fetch(`${allowlisted}/rpc/health`, { headers: { origin: evil } });
    expect([fromEvil.status, fromEvil.headers.get("access-control-allow-origin")]).toEqual([200, null]);
  });

  test("preflights are answered by the edge: allowed methods and headers for a configured origin, nothing for another", async () => {
    const allowlisted = await edgeWith({ corsAllowedOrigins: [app] });
    const ok = await preflight(allowlisted, app);
    expect(ok.status).toBe(204);
    expect(ok.headers.get("access-control-allow-origin")).toBe(app);
    expect(ok.headers.get("access-control-allow-methods")).toContain("POST");
    expect(ok.headers.get("access-control-allow-headers")).toEqual(expect.stringContaining("Authorization"));
    expect(ok.headers.get("server")).toBeNull();
    const refused = await preflight(allowlisted, evil);
    expect(refused.headers.get("access-control-allow-origin")).toBeNull();
  });

  test("the development default (*) allows any origin, error answers included", async () => {
    const answer = await fetch(`${api.url}/rpc/login?password=%ED%A0%80`, { headers: { origin: evil } });
    expect([answer.status, answer.headers.get("access-control-allow-origin")]).toEqual([400, "*"]);
    const badPath = await fetch(`${api.url}/rpc/%ED%A0%80`, { headers: { origin: evil } });
    expect([badPath.status, badPath.headers.get("access-control-allow-origin")]).toEqual([400, "*"]);
    expect((await preflight(api.url, evil)).headers.get("access-control-allow-origin")).toBe("*");
  });
});

describe("JSON array bodies to functions", () => {
  test("an array to /rpc/register is 400 ARRAY_BODY_NOT_ALLOWED and creates no account", async () => {
    const emails = [uniqueEmail("array"), uniqueEmail("array")];
    for (const body of [
      JSON.stringify(emails.map((email) => ({ email, password: "password-123", name: "Array" }))),
      `\ufeff \n ${JSON.stringify([{ email: emails[0], password: "password-123", name: "Array" }])}`,
    ]) {
      const answer = await call(`${api.url}/rpc/register`, { method: "POST", body });
      expect(codeOf(answer)).toEqual([400, "ARRAY_BODY_NOT_ALLOWED"]);
    }
    expect(await db.query("select 1 from api.users where email = any($1)", [emails])).toEqual([]);
  });

  test("an array to create_project creates nothing; arrays to tables are PostgREST's to judge", async () => {
    const answer = await call(`${api.url}/rpc/create_project`, {
      method: "POST",
      token: client.token,
      body: JSON.stringify([{ name: "Satu", type: "company" }]),
    });
    expect(codeOf(answer)).toEqual([400, "ARRAY_BODY_NOT_ALLOWED"]);
    expect(await db.query("select 1 from api.projects where name = 'Satu'")).toEqual([]);
    // A bulk insert is PostgREST's usual syntax: the edge lets PostgREST answer (anonymous: no grant).
    const bulk = await call(`${api.url}/posts`, { method: "POST", body: JSON.stringify([{ title: "x" }]) });
    expect(codeOf(bulk)).toEqual([401, "42501"]);
  });
});

describe("PostgREST's error answers", () => {
  test("function suggestions are dropped (PGRST202 keeps its code and status)", async () => {
    for (const [target, leaked] of [
      ["/rpc/logn", "api.login"],
      ["/rpc/set_user_rol", "set_user_role"],
    ]) {
      const direct = await call(`${api.postgrestUrl}${target}`);
      expect(direct.text).toContain(leaked);
      const answer = await call(`${api.url}${target}`);
      expect(codeOf(answer)).toEqual([404, "PGRST202"]);
      expect(answer.body).toEqual(expect.objectContaining({ hint: null, message: expect.any(String) }));
      expect(answer.text).not.toContain(leaked);
    }
    const extra = await call(`${api.url}/rpc/create_project`, {
      method: "POST",
      token: client.token,
      body: JSON.stringify({ name: "Situs", type: "company", extra: 1 }),
    });
    expect(codeOf(extra)).toEqual([404, "PGRST202"]);
    expect(extra.text).not.toContain("Perhaps");
  });

  test("column and relationship suggestions are dropped (42703, PGRST200)", async () => {
    const column = await call(`${api.url}/users?select=emial`, { token: client.token });
    expect(codeOf(column)).toEqual([400, "42703"]);
    expect((column.body as { hint: unknown }).hint).toBeNull();
    expect(column.text).not.toContain("users.email");
    const relation = await call(`${api.url}/projects?select=*,invoice(*)`, { token: client.token });
    expect(codeOf(relation)).toEqual([400, "PGRST200"]);
    expect(relation.text).not.toContain("Perhaps");
  });

  test("deeply nested JSON is 400 NESTING_TOO_DEEP, without max_stack_depth's hint", async () => {
    const deep = `{"project_id":"00000000-0000-0000-0000-000000000000","credentials":${"[".repeat(50_000)}${"]".repeat(50_000)}}`;
    const answer = await call(`${api.url}/rpc/set_project_credentials`, {
      method: "POST",
      token: client.token,
      body: deep,
    });
    expect(codeOf(answer)).toEqual([400, "NESTING_TOO_DEEP"]);
    expect(answer.text).not.toMatch(/max_stack_depth|stack depth/);
  });

  test("GET on a function that writes is 405 USE_POST with Allow: POST", async () => {
    for (const target of ["/rpc/logout", "/rpc/create_project?name=Situs&type=company"]) {
      const answer = await call(`${api.url}${target}`, { token: client.token });
      expect(codeOf(answer)).toEqual([405, "USE_POST"]);
      expect((answer.body as { message: string }).message).toMatch(/POST/);
      expect(answer.headers.get("allow")).toBe("POST");
    }
  });

  test("a statement timeout (57014) is 503 STATEMENT_TIMEOUT with Retry-After", async () => {
    const locker = new Client({ connectionString: db.url });
    await locker.connect();
    try {
      await locker.query("begin");
      await locker.query("lock table api.faqs in access exclusive mode");
      const direct = await call(`${api.postgrestUrl}/faqs`);
      expect(codeOf(direct)).toEqual([500, "57014"]);
      const answer = await call(`${api.url}/faqs`);
      expect(codeOf(answer)).toEqual([503, "STATEMENT_TIMEOUT"]);
      expect(answer.headers.get("retry-after")).toBe("5");
    } finally {
      await locker.query("rollback");
      await locker.end();
    }
    expect((await call(`${api.url}/faqs`)).status).toBe(200);
  });

  test("PostgREST's pool timeout (504 PGRST003) is 503 SERVICE_BUSY with Retry-After", async () => {
    const busy = await startApi(db, { PGRST_DB_POOL: "1", PGRST_DB_POOL_ACQUISITION_TIMEOUT: "1" });
    const locker = new Client({ connectionString: db.url });
    await locker.connect();
    try {
      await locker.query("begin");
      await locker.query("lock table api.faqs in access exclusive mode");
      // Holds the pool's one connection while it waits for the lock.
      const holding = call(`${busy.url}/faqs`);
      await new Promise((r) => setTimeout(r, 200));
      const answer = await call(`${busy.url}/rpc/health`);
      expect(codeOf(answer)).toEqual([503, "SERVICE_BUSY"]);
      expect(answer.headers.get("retry-after")).toBe("1");
      await locker.query("rollback");
      await holding;
    } finally {
      await locker.end();
      await busy.stop();
    }
  });

  test("PostgREST unreachable is 503 API_UNAVAILABLE", async () => {
    const nowhere = await edgeWith({ upstream: `http://127.0.0.1:${await freePort()}` });
    const answer = await call(`${nowhere}/rpc/health`);
    expect(codeOf(answer)).toEqual([503, "API_UNAVAILABLE"]);
    expect(answer.headers.get("retry-after")).toBe("1");
  });
});

describe("README", () => {
  test("lists every code the edge answers, with its status, and no other", () => {
    const readme = fs.readFileSync(path.join(projectRoot, "README.md"), "utf8");
    const lines = readme.split("\n");
    const start = lines.findIndex((l) => l.startsWith("Codes the API edge answers itself"));
    expect(start).toBeGreaterThan(0);
    let i = start + 1;
    while (i < lines.length && !lines[i]!.startsWith("|")) i++;
    const table: string[] = [];
    for (; i < lines.length && lines[i]!.startsWith("|"); i++) table.push(lines[i]!);
    expect(table[0]).toMatch(/^\| code \| status \|/);
    const rows = table.slice(2).map((l) => {
      const [code, status] = l
        .split("|")
        .slice(1, 3)
        .map((c) => c.trim());
      return [code!.replace(/`/g, ""), Number(status)];
    });
    expect(Object.fromEntries(rows)).toEqual(
      Object.fromEntries(Object.entries(EDGE_ERRORS).map(([code, { status }]) => [code, status])),
    );
  });
});
