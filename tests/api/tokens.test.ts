/**
 * Which tokens the real PostgREST (with our db-pre-request hook) refuses,
 * with the exact status and code. PGRST301 comes from PostgREST's own JWT
 * check; 42501 / 22023 from PostgreSQL when PostgREST cannot switch to the
 * token's role (before our hook runs); TOKEN_* codes are ours.
 */
import crypto from "node:crypto";
import { startApi, type TestApi } from "../helpers/api";
import { createAdmin, login, registerClient, signToken, type SignedIn } from "../helpers/auth";
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

type Answer = { status: number; code?: string; message?: string };

async function answer(token: string, method: "GET" | "POST" = "GET", path = "/rpc/me"): Promise<Answer> {
  const response = await api.request(path, { method, token, ...(method === "POST" ? { body: "{}" } : {}) });
  const body = response.body as { code?: string; message?: string } | null;
  return { status: response.status, code: body?.code, message: body?.message };
}

/** Both verbs: the hook runs in GET's read-only transactions as in POST's. */
async function expectBoth(token: string, status: number, code: string): Promise<void> {
  for (const method of ["GET", "POST"] as const) {
    expect(await answer(token, method)).toMatchObject({ status, code });
  }
}

const base64url = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url");
const claimsOf = (who: SignedIn, role = who.user.role === "admin" ? "app_admin" : "app_client") => ({
  role,
  sub: who.user.id,
  email: who.user.email,
});

describe("valid tokens", () => {
  test("a client's token is accepted for GET and POST, on tables and functions", async () => {
    for (const method of ["GET", "POST"] as const) {
      expect(await answer(client.token, method)).toMatchObject({ status: 200 });
    }
    const table = await api.request(`/users?select=id`, { token: client.token });
    expect(table).toMatchObject({ status: 200, body: [{ id: client.user.id }] });
    const patch = await api.request(`/users?id=eq.${client.user.id}`, {
      method: "PATCH",
      token: client.token,
      body: JSON.stringify({ name: "Masih Boleh" }),
    });
    expect(patch.status).toBe(204);
  });

  test("an admin's token is accepted for GET and POST", async () => {
    for (const method of ["GET", "POST"] as const) {
      expect(await answer(admin.token, method)).toMatchObject({ status: 200 });
    }
  });
});

describe("tokens PostgREST itself refuses (401 PGRST301)", () => {
  test("a token signed with another secret (401 PGRST301)", async () => {
    await expectBoth(
      await signToken(claimsOf(client), { secret: "not-the-secret-but-long-enough-0123456789" }),
      401,
      "PGRST301",
    );
  });

  test("an unsigned token, alg none (401 PGRST301)", async () => {
    const now = Math.floor(Date.now() / 1000);
    const token = `${base64url({ alg: "none", typ: "JWT" })}.${base64url({ ...claimsOf(admin), iat: now, exp: now + 600, jti: crypto.randomUUID() })}.`;
    await expectBoth(token, 401, "PGRST301");
  });

  test("an expired token (401 PGRST301)", async () => {
    const token = await signToken(claimsOf(client), { expiresIn: "-1h" });
    await expectBoth(token, 401, "PGRST301");
    expect((await answer(token)).message).toBe("JWT expired");
  });

  test("a token that expired less than 30 s ago is still accepted: PostgREST 12.0.2 allows 30 s of clock skew", async () => {
    expect(await answer(await signToken(claimsOf(client), { expiresIn: "-10s" }))).toMatchObject({ status: 200 });
    expect(await answer(await signToken(claimsOf(client), { expiresIn: "-40s" }))).toMatchObject({
      status: 401,
      code: "PGRST301",
    });
  });

  test("a token that is not a JWT at all (401 PGRST301)", async () => {
    await expectBoth("not.a.jwt", 401, "PGRST301");
  });
});

describe("tokens that never expire (401 TOKEN_INVALID): PostgREST checks exp only when present, the hook requires it", () => {
  test("a correctly signed client token without exp", async () => {
    const token = await signToken(claimsOf(client), { expiresIn: null });
    await expectBoth(token, 401, "TOKEN_INVALID");
    expect((await answer(token)).message).toMatch(/no expiry/);
  });

  test("a correctly signed admin token without exp, on an admin table", async () => {
    const token = await signToken(claimsOf(admin), { expiresIn: null });
    await expectBoth(token, 401, "TOKEN_INVALID");
    expect(await api.request("/audit_logs?select=id&limit=1", { token })).toMatchObject({
      status: 401,
      body: { code: "TOKEN_INVALID" },
    });
  });

  test('"exp": null and "exp": "never" are not an expiry either', async () => {
    await expectBoth(await signToken({ ...claimsOf(client), exp: null }, { expiresIn: null }), 401, "TOKEN_INVALID");
    // A non-numeric exp is refused by PostgREST itself.
    await expectBoth(await signToken({ ...claimsOf(client), exp: "never" }, { expiresIn: null }), 401, "PGRST301");
  });

  test("an anonymous request (no token) is not refused", async () => {
    expect(await api.request("/rpc/health")).toMatchObject({ status: 200 });
    expect(await api.request("/posts?select=id&limit=1")).toMatchObject({ status: 200 });
  });
});

describe("role claims that are not an API user's", () => {
  test("role postgres: PostgREST cannot switch to it (403 42501)", async () => {
    await expectBoth(await signToken(claimsOf(client, "postgres")), 403, "42501");
  });

  test("role app_worker: PostgREST cannot switch to it (403 42501)", async () => {
    await expectBoth(await signToken(claimsOf(client, "app_worker")), 403, "42501");
  });

  test("role authenticator: refused by the hook (401 TOKEN_INVALID)", async () => {
    await expectBoth(await signToken(claimsOf(client, "authenticator")), 401, "TOKEN_INVALID");
  });

  test("an unknown role: PostgREST 12.0.2 answers 400 22023 (role does not exist)", async () => {
    const token = await signToken(claimsOf(client, "no_such_role"));
    await expectBoth(token, 400, "22023");
    expect((await answer(token)).message).toBe('role "no_such_role" does not exist');
  });

  test("a client's id under the admin role (401 TOKEN_INVALID)", async () => {
    await expectBoth(await signToken(claimsOf(client, "app_admin")), 401, "TOKEN_INVALID");
  });

  test("a token without a user id (401 TOKEN_INVALID)", async () => {
    await expectBoth(await signToken({ role: "app_client" }), 401, "TOKEN_INVALID");
  });

  test("a token for a user id that never existed (401 TOKEN_INVALID)", async () => {
    await expectBoth(await signToken({ role: "app_client", sub: crypto.randomUUID() }), 401, "TOKEN_INVALID");
  });
});

describe("tokens that stopped being valid", () => {
  test("a token after POST /rpc/logout (401 TOKEN_REVOKED); the user's other tokens still work", async () => {
    const email = client.user.email;
    const first = await login(api, email, "password-123");
    const second = await login(api, email, "password-123");
    const logout = await api.request("/rpc/logout", { method: "POST", token: first.token, body: "{}" });
    expect(logout).toMatchObject({ status: 200, body: { revoked: true } });
    await expectBoth(first.token, 401, "TOKEN_REVOKED");
    expect(await answer(second.token)).toMatchObject({ status: 200 });
  });

  test("a deleted user's token (401 TOKEN_INVALID)", async () => {
    const doomed = await registerClient(api);
    expect(await answer(doomed.token)).toMatchObject({ status: 200 });
    const deleted = await api.request(`/users?id=eq.${doomed.user.id}`, { method: "DELETE", token: admin.token });
    expect(deleted.status).toBe(204);
    await expectBoth(doomed.token, 401, "TOKEN_INVALID");
  });

  test("a client's token after an admin promotes the client (401 TOKEN_INVALID); a new login works as admin", async () => {
    const promoted = await registerClient(api);
    const change = await api.request("/rpc/set_user_role", {
      method: "POST",
      token: admin.token,
      body: JSON.stringify({ user_id: promoted.user.id, role: "admin" }),
    });
    expect(change.status).toBe(200);
    await expectBoth(promoted.token, 401, "TOKEN_INVALID");
    const fresh = await login(api, promoted.user.email, "password-123");
    expect(fresh.user.role).toBe("admin");
    const asAdmin = await api.request("/audit_logs?select=id&limit=1", { token: fresh.token });
    expect(asAdmin.status).toBe(200);
  });

  test("an admin's token after another admin demotes them (401 TOKEN_INVALID); a new login works as client", async () => {
    const demoted = await createAdmin(api, db);
    const change = await api.request("/rpc/set_user_role", {
      method: "POST",
      token: admin.token,
      body: JSON.stringify({ user_id: demoted.user.id, role: "client" }),
    });
    expect(change.status).toBe(200);
    await expectBoth(demoted.token, 401, "TOKEN_INVALID");
    const fresh = await login(api, demoted.user.email, "password-123");
    expect(fresh.user.role).toBe("client");
    const asClient = await api.request("/audit_logs?select=id&limit=1", { token: fresh.token });
    expect(asClient).toMatchObject({ status: 403, body: { code: "42501" } });
  });
});
