/**
 * Sign-up, sign-in, sign-out and the caller's identity through the real
 * PostgREST, with tokens signed in SQL and verified by PostgREST.
 */
import { decodeJwt } from "jose";
import { startApi, type TestApi } from "../helpers/api";
import { createAdmin, login, registerClient, uniqueEmail, type SignedIn } from "../helpers/auth";
import { createMigratedDatabase, type TestDatabase } from "../helpers/database";

let db: TestDatabase;
let api: TestApi;

beforeAll(async () => {
  db = await createMigratedDatabase();
  api = await startApi(db);
});

afterAll(async () => {
  await api?.stop();
  await db?.drop();
});

const post = (path: string, body: unknown, token?: string, headers?: Record<string, string>) =>
  api.request(path, { method: "POST", body: JSON.stringify(body), token, headers });

const userCount = async () => Number((await db.query<{ n: string }>("select count(*) as n from api.users"))[0]!.n);

describe("register", () => {
  test("creates a client and returns {token, user} with the documented claims", async () => {
    const email = uniqueEmail("Siti").replace("siti", "Siti");
    const { status, body } = await post("/rpc/register", {
      email,
      password: "rahasia-123",
      name: "Siti Aminah",
      phone: "+6281234567890",
    });
    expect(status).toBe(200);
    const session = body as SignedIn;
    expect(session.user).toEqual(
      expect.objectContaining({
        email: email.toLowerCase(),
        name: "Siti Aminah",
        role: "client",
        phone: "+6281234567890",
      }),
    );
    expect(JSON.stringify(session)).not.toMatch(/password|\$2[aby]\$/);
    const claims = decodeJwt(session.token);
    expect(claims).toEqual(
      expect.objectContaining({
        role: "app_client",
        sub: session.user.id,
        email: email.toLowerCase(),
        jti: expect.any(String),
      }),
    );
    expect(claims.exp! - claims.iat!).toBe(3600);
    const [secret] = await db.query<{ password_hash: string }>(
      "select password_hash from app_private.user_secrets where user_id = $1",
      [session.user.id],
    );
    expect(secret!.password_hash).toMatch(/^\$2a\$1\d\$/); // bcrypt, cost >= 10
  });

  test("the token works right away (/rpc/me)", async () => {
    const session = await registerClient(api);
    const me = await api.request("/rpc/me", { token: session.token });
    expect(me.status).toBe(200);
    expect(me.body).toEqual(expect.objectContaining({ id: session.user.id, email: session.user.email }));
  });

  test("refuses an email already taken, whatever its case (EMAIL_TAKEN)", async () => {
    const first = await registerClient(api);
    const before = await userCount();
    const again = await post("/rpc/register", {
      email: first.user.email.toUpperCase(),
      password: "another-pass",
      name: "Lain",
    });
    expect(again.status).toBe(409);
    expect(again.body).toEqual(expect.objectContaining({ code: "EMAIL_TAKEN" }));
    expect(await userCount()).toBe(before);
  });

  test.each([
    ["a password shorter than 8 characters", { password: "1234567" }, "WEAK_PASSWORD"],
    ["a password longer than bcrypt's 72 bytes", { password: "x".repeat(73) }, "WEAK_PASSWORD"],
    ["an invalid email", { email: "not-an-email" }, "INVALID_EMAIL"],
    ["an empty email", { email: "" }, "INVALID_EMAIL"],
    ["a blank name", { name: "   " }, "INVALID_NAME"],
    ["a name of 10 000 characters", { name: "n".repeat(10_000) }, "INVALID_NAME"],
    ["a malformed phone", { phone: "0812-abc" }, "INVALID_PHONE"],
  ])("refuses %s (%s)", async (_what, override, code) => {
    const before = await userCount();
    const { status, body } = await post("/rpc/register", {
      email: uniqueEmail(),
      password: "password-123",
      name: "Nama",
      ...override,
    });
    expect(status).toBe(400);
    expect(body).toEqual(expect.objectContaining({ code }));
    expect(await userCount()).toBe(before);
  });
});

describe("login", () => {
  let account: SignedIn;
  beforeAll(async () => {
    account = await registerClient(api, { password: "benar-sekali" });
  });

  test("signs in with the right password, email in any case", async () => {
    const session = await login(api, account.user.email.toUpperCase(), "benar-sekali");
    expect(session.user.id).toBe(account.user.id);
    expect(decodeJwt(session.token).jti).not.toBe(decodeJwt(account.token).jti);
  });

  test("refuses a wrong password and an unknown email alike (INVALID_CREDENTIALS)", async () => {
    const wrong = await post("/rpc/login", { email: account.user.email, password: "salah-sekali" });
    const unknown = await post("/rpc/login", { email: uniqueEmail("nobody"), password: "salah-sekali" });
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    expect(wrong.body).toEqual({
      code: "INVALID_CREDENTIALS",
      message: "Wrong email or password.",
      details: null,
      hint: null,
    });
    expect(unknown.body).toEqual(wrong.body);
  });

  test("the token lifetime follows the jwt_lifetime_seconds setting", async () => {
    await db.query("update app_private.settings set value = '120' where name = 'jwt_lifetime_seconds'");
    try {
      const session = await login(api, account.user.email, "benar-sekali");
      const claims = decodeJwt(session.token);
      expect(claims.exp! - claims.iat!).toBe(120);
    } finally {
      await db.query("update app_private.settings set value = '3600' where name = 'jwt_lifetime_seconds'");
    }
  });
});

describe("failed-login throttle, all from one address (see login-abuse.test.ts for the rest)", () => {
  const attempt = (email: string, password: string) => post("/rpc/login", { email, password });

  test.each([
    ["an existing account", true],
    ["an email with no account", false],
  ])("the 6th failed login within the window answers 429 for %s (TOO_MANY_ATTEMPTS)", async (_what, exists) => {
    const email = exists ? (await registerClient(api, { password: "the-right-one" })).user.email : uniqueEmail("ghost");
    for (let i = 1; i <= 5; i++) {
      const { status } = await attempt(email, `wrong-${i}`);
      expect(status).toBe(401);
    }
    const sixth = await attempt(email, "wrong-6");
    expect(sixth.status).toBe(429);
    expect(sixth.body).toEqual(expect.objectContaining({ code: "TOO_MANY_ATTEMPTS" }));
    if (exists) {
      // Locked even with the right password, and the answer does not say whether the account exists.
      const right = await attempt(email, "the-right-one");
      expect(right.status).toBe(429);
    }
  });

  test("other emails are not affected, and the lock lifts after the window", async () => {
    await db.query(
      "update app_private.rate_limits set window_seconds = 2 where action = 'login_failed_account_address'",
    );
    try {
      const victim = await registerClient(api, { password: "the-right-one" });
      const bystander = await registerClient(api, { password: "the-right-one" });
      for (let i = 0; i < 5; i++) await attempt(victim.user.email, "wrong");
      expect((await attempt(victim.user.email, "the-right-one")).status).toBe(429);
      expect((await attempt(bystander.user.email, "the-right-one")).status).toBe(200);
      await new Promise((r) => setTimeout(r, 2_200));
      expect((await attempt(victim.user.email, "the-right-one")).status).toBe(200);
    } finally {
      await db.query(
        "update app_private.rate_limits set window_seconds = 900 where action = 'login_failed_account_address'",
      );
    }
  });
});

describe("logout and me", () => {
  test("logout revokes only the presented token (TOKEN_REVOKED)", async () => {
    const account = await registerClient(api, { password: "password-123" });
    const other = await login(api, account.user.email, "password-123");
    const out = await post("/rpc/logout", {}, account.token);
    expect(out.status).toBe(200);
    const refused = await api.request("/rpc/me", { token: account.token });
    expect(refused.status).toBe(401);
    expect(refused.body).toEqual(expect.objectContaining({ code: "TOKEN_REVOKED" }));
    expect((await api.request("/rpc/me", { token: other.token })).status).toBe(200);
  });

  test("me and logout need a signed-in caller", async () => {
    const me = await api.request("/rpc/me");
    expect(me.status).toBe(401);
    const out = await post("/rpc/logout", {});
    expect(out.status).toBe(401);
  });
});

describe("set_user_role", () => {
  let admin: SignedIn;
  beforeAll(async () => {
    admin = await createAdmin(api, db);
  });

  test("an admin promotes a client; the client's old token stops working (TOKEN_INVALID)", async () => {
    const client = await registerClient(api, { password: "password-123" });
    const { status, body } = await post("/rpc/set_user_role", { user_id: client.user.id, role: "admin" }, admin.token);
    expect(status).toBe(200);
    expect(body).toEqual(expect.objectContaining({ id: client.user.id, role: "admin" }));
    const stale = await api.request("/rpc/me", { token: client.token });
    expect(stale.status).toBe(401);
    expect(stale.body).toEqual(expect.objectContaining({ code: "TOKEN_INVALID" }));
    const fresh = await login(api, client.user.email, "password-123");
    expect(decodeJwt(fresh.token).role).toBe("app_admin");
  });

  test("a client cannot change roles, not even its own (FORBIDDEN)", async () => {
    const client = await registerClient(api);
    const { status, body } = await post("/rpc/set_user_role", { user_id: client.user.id, role: "admin" }, client.token);
    expect(status).toBe(403);
    expect(body).toEqual(expect.objectContaining({ code: "FORBIDDEN" }));
    expect(await db.query("select role from api.users where id = $1", [client.user.id])).toEqual([{ role: "client" }]);
  });

  test.each([
    ["its own role", "self", "admin", 409, "CANNOT_CHANGE_OWN_ROLE"],
    ["an unknown user", "00000000-0000-4000-8000-000000000000", "client", 404, "USER_NOT_FOUND"],
    ["an invalid role", "client", "superuser", 400, "INVALID_ROLE"],
  ])("an admin cannot set %s", async (_what, target, role, status, code) => {
    const client = await registerClient(api);
    const userId = target === "self" ? admin.user.id : target === "client" ? client.user.id : target;
    const response = await post("/rpc/set_user_role", { user_id: userId, role }, admin.token);
    expect(response.status).toBe(status);
    expect(response.body).toEqual(expect.objectContaining({ code }));
  });
});
