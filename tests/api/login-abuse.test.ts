/**
 * Login abuse resistance through the real PostgREST (pool 4): failed logins
 * limited per (account, address), per address and per account, so one
 * address cannot lock a user out at another; TOO_MANY_ATTEMPTS with
 * Retry-After; lockouts and the admin unlock audited; refused calls never
 * hash; at most N password hashes at once (503 BUSY beyond); and a flood of
 * 100 concurrent bad logins leaves /rpc/health answering. The client address
 * is sent as X-Forwarded-For, as the trusted proxy in front of PostgREST
 * sends it.
 */
import type { PoolClient } from "pg";
import { readConfig } from "../../config/settings";
import { bootOptions } from "../../db/prepare";
import { startApi, type TestApi } from "../helpers/api";
import { createAdmin, uniqueEmail, type SignedIn } from "../helpers/auth";
import { createMigratedDatabase, type TestDatabase } from "../helpers/database";

let db: TestDatabase;
let api: TestApi;
let admin: SignedIn;

beforeAll(async () => {
  db = await createMigratedDatabase();
  // The tests play callers at many addresses through X-Forwarded-For, as a trusted proxy in
  // front of the API edge would send it.
  api = await startApi(db, {}, { trustedProxies: ["127.0.0.1"] });
  admin = await createAdmin(api, db);
});

afterAll(async () => {
  await api?.stop();
  await db?.drop();
});

const PASSWORD = "kata-sandi-benar";

let addressCounter = 0;
/** A documentation address (RFC 5737) no other test of this file uses. */
const freshAddress = (): string => {
  addressCounter += 1;
  return `198.51.${100 + Math.floor(addressCounter / 250)}.${(addressCounter % 250) + 1}`;
};

const loginFrom = (address: string, email: string, password: string) =>
  api.request("/rpc/login", {
    method: "POST",
    body: JSON.stringify({ email, password }),
    headers: { "x-forwarded-for": address },
  });

const registerFrom = (address: string, email: string) =>
  api.request("/rpc/register", {
    method: "POST",
    body: JSON.stringify({ email, password: PASSWORD, name: "Pendaftar" }),
    headers: { "x-forwarded-for": address },
  });

/** A new client account, signed up from an address of its own (sign-ups are limited per address). */
async function newAccount(): Promise<SignedIn> {
  const { status, body } = await registerFrom(freshAddress(), uniqueEmail("akun"));
  if (status !== 200) throw new Error(`register failed: ${status} ${JSON.stringify(body)}`);
  return body as SignedIn;
}

const unlock = (email: string, token?: string) =>
  api.request("/rpc/unlock_login", { method: "POST", body: JSON.stringify({ email }), token });

/** `count` wrong-password logins from `address`, each expected to answer 401. */
async function failFrom(address: string, email: string, count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    const { status, body } = await loginFrom(address, email, `salah-${i}-sekali`);
    expect([status, (body as { code?: string }).code]).toEqual([401, "INVALID_CREDENTIALS"]);
  }
}

function expectTooManyAttempts(
  response: { status: number; body: unknown; headers: Headers },
  maxWaitSeconds: number,
): void {
  expect(response.status).toBe(429);
  expect(response.body).toEqual(expect.objectContaining({ code: "TOO_MANY_ATTEMPTS" }));
  const retryAfter = response.headers.get("retry-after");
  expect(retryAfter).toMatch(/^\d+$/);
  expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
  expect(Number(retryAfter)).toBeLessThanOrEqual(maxWaitSeconds);
}

/** Runs `fn` with one limit of app_private.rate_limits set to `maxCount`, then puts it back. */
async function withLimit<T>(action: string, maxCount: number, fn: () => Promise<T>): Promise<T> {
  const [before] = await db.query<{ max_count: number }>(
    "select max_count from app_private.rate_limits where action = $1",
    [action],
  );
  await db.query("update app_private.rate_limits set max_count = $2 where action = $1", [action, maxCount]);
  try {
    return await fn();
  } finally {
    await db.query("update app_private.rate_limits set max_count = $2 where action = $1", [action, before!.max_count]);
  }
}

type LockoutRow = {
  action: string;
  user_id: string | null;
  resource_id: string | null;
  ip_address: string | null;
  old_values: Record<string, unknown> | null;
  new_values: Record<string, unknown> | null;
};
const lockoutRows = (filter: string, params: unknown[]) =>
  db.query<LockoutRow>(
    `select action::text, user_id::text, resource_id, ip_address, old_values, new_values
       from api.audit_logs where resource = 'login_lockouts' and ${filter} order by "timestamp", id`,
    params,
  );

describe("failed logins are limited per (account, address), per address and per account", () => {
  test("the limits are the documented ones, in app_private.rate_limits", async () => {
    const rows = await db.query(
      "select action, max_count, window_seconds from app_private.rate_limits where action like 'login%' order by action",
    );
    expect(rows).toEqual([
      { action: "login_failed_account", max_count: 50, window_seconds: 3600 },
      { action: "login_failed_account_address", max_count: 5, window_seconds: 900 },
      { action: "login_failed_address", max_count: 30, window_seconds: 900 },
    ]);
  });

  test("five wrong passwords from address A block A (429 with Retry-After, even the right password), not address B", async () => {
    const victim = await newAccount();
    const [a, b] = [freshAddress(), freshAddress()];
    await failFrom(a, victim.user.email, 5);
    expectTooManyAttempts(await loginFrom(a, victim.user.email, "salah-lagi"), 900);
    expectTooManyAttempts(await loginFrom(a, victim.user.email, PASSWORD), 900);
    const fromB = await loginFrom(b, victim.user.email, PASSWORD);
    expect(fromB.status).toBe(200);
    expect((fromB.body as SignedIn).user.id).toBe(victim.user.id);
    // B's success does not lift A's block.
    expectTooManyAttempts(await loginFrom(a, victim.user.email, PASSWORD), 900);
  });

  test("an email with no account is limited alike, so the answers do not tell which emails exist", async () => {
    const a = freshAddress();
    const ghost = uniqueEmail("ghost");
    await failFrom(a, ghost, 5);
    expectTooManyAttempts(await loginFrom(a, ghost, PASSWORD), 900);
  });

  test("a success clears that (account, address) pair's failures, but not the address's", async () => {
    const user = await newAccount();
    const a = freshAddress();
    await failFrom(a, user.user.email, 4);
    expect((await loginFrom(a, user.user.email, PASSWORD)).status).toBe(200);
    await failFrom(a, user.user.email, 4); // would be the 6th to 8th failure without the reset
    expect((await loginFrom(a, user.user.email, PASSWORD)).status).toBe(200);
    const [counted] = await db.query<{ n: number }>(
      "select count(*)::int as n from app_private.rate_limit_events where bucket = $1",
      [`login_failed_address:${a}`],
    );
    expect(counted!.n).toBe(8);
  });

  test("one address failing across many accounts is refused for every account (credential stuffing); other addresses are not", async () => {
    await withLimit("login_failed_address", 6, async () => {
      const stuffer = freshAddress();
      const target = await newAccount();
      for (let i = 0; i < 6; i++) await failFrom(stuffer, uniqueEmail(`stuffed${i}`), 1);
      expectTooManyAttempts(await loginFrom(stuffer, uniqueEmail("stuffed"), "salah-sekali"), 900);
      // Even a right password from that address, for an account it never tried.
      expectTooManyAttempts(await loginFrom(stuffer, target.user.email, PASSWORD), 900);
      expect((await loginFrom(freshAddress(), target.user.email, PASSWORD)).status).toBe(200);
    });
  });

  test("the account-wide backstop refuses every address once failures from many addresses fill it", async () => {
    await withLimit("login_failed_account", 8, async () => {
      const victim = await newAccount();
      for (let i = 0; i < 4; i++) await failFrom(freshAddress(), victim.user.email, 2);
      expectTooManyAttempts(await loginFrom(freshAddress(), victim.user.email, PASSWORD), 3600);
      const [lockout] = await lockoutRows("resource_id = $1 and new_values ->> 'scope' = 'account'", [victim.user.id]);
      expect(lockout!.new_values).toEqual(
        expect.objectContaining({ scope: "account", email: victim.user.email, failures: 8, window_seconds: 3600 }),
      );
      expect((await unlock(victim.user.email, admin.token)).status).toBe(200);
      expect((await loginFrom(freshAddress(), victim.user.email, PASSWORD)).status).toBe(200);
    });
  });
});

describe("lockouts and unlocks are audited", () => {
  test("the failure that fills a limit writes one CREATE login_lockouts row; refused attempts write none", async () => {
    const victim = await newAccount();
    const a = freshAddress();
    await failFrom(a, victim.user.email, 4);
    expect(await lockoutRows("resource_id = $1", [victim.user.id])).toEqual([]);
    await failFrom(a, victim.user.email, 1);
    await loginFrom(a, victim.user.email, "salah-lagi");
    await loginFrom(a, victim.user.email, PASSWORD);
    const rows = await lockoutRows("resource_id = $1", [victim.user.id]);
    expect(rows).toEqual([
      expect.objectContaining({ action: "CREATE", user_id: null, resource_id: victim.user.id, ip_address: a }),
    ]);
    expect(rows[0]!.new_values).toEqual({
      scope: "account_address",
      email: victim.user.email,
      address: a,
      failures: 5,
      window_seconds: 900,
      blocked_until: expect.any(String),
    });
    const blockedFor = (Date.parse(rows[0]!.new_values!.blocked_until as string) - Date.now()) / 1000;
    expect(blockedFor).toBeGreaterThan(800);
    expect(blockedFor).toBeLessThanOrEqual(900);
  });

  test("an address lockout is audited with the address and no account", async () => {
    await withLimit("login_failed_address", 3, async () => {
      const stuffer = freshAddress();
      for (let i = 0; i < 3; i++) await failFrom(stuffer, uniqueEmail(`spray${i}`), 1);
      const rows = await lockoutRows("new_values ->> 'address' = $1 and new_values ->> 'scope' = 'address'", [stuffer]);
      expect(rows).toEqual([expect.objectContaining({ action: "CREATE", resource_id: null })]);
      expect(rows[0]!.new_values).toEqual(
        expect.objectContaining({ scope: "address", email: null, address: stuffer, failures: 3, window_seconds: 900 }),
      );
    });
  });

  test("an admin unlocks an account at every address at once; the unlock is audited with who and which account", async () => {
    const victim = await newAccount();
    const [a, b] = [freshAddress(), freshAddress()];
    await failFrom(a, victim.user.email, 5);
    await failFrom(b, victim.user.email, 5);
    expectTooManyAttempts(await loginFrom(a, victim.user.email, PASSWORD), 900);
    const answer = await unlock(victim.user.email.toUpperCase(), admin.token);
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({ user_id: victim.user.id, email: victim.user.email, failures_cleared: 20 });
    const [unlocked] = await lockoutRows("action = 'DELETE' and resource_id = $1", [victim.user.id]);
    expect(unlocked).toEqual(expect.objectContaining({ user_id: admin.user.id, new_values: null }));
    expect(unlocked!.old_values).toEqual({ email: victim.user.email, failures: 20, addresses: [a, b].sort() });
    expect((await loginFrom(a, victim.user.email, PASSWORD)).status).toBe(200);
    expect((await loginFrom(b, victim.user.email, PASSWORD)).status).toBe(200);
  });

  test("only admins may unlock: anonymous 401, a client 403 FORBIDDEN, and the block stays", async () => {
    const victim = await newAccount();
    const a = freshAddress();
    await failFrom(a, victim.user.email, 5);
    const anonymous = await unlock(victim.user.email);
    expect(anonymous.status).toBe(401);
    const client = await newAccount();
    const byClient = await unlock(victim.user.email, client.token);
    expect(byClient.status).toBe(403);
    expect(byClient.body).toEqual(expect.objectContaining({ code: "FORBIDDEN" }));
    expectTooManyAttempts(await loginFrom(a, victim.user.email, PASSWORD), 900);
    expect(await lockoutRows("action = 'DELETE' and resource_id = $1", [victim.user.id])).toEqual([]);
  });

  test.each([
    ["an email with no account", 404, "USER_NOT_FOUND", () => uniqueEmail("nobody")],
    ["a malformed email", 400, "INVALID_EMAIL", () => "bukan-email"],
  ])("unlocking %s is refused (%i %s)", async (_what, status, code, email) => {
    const answer = await unlock(email(), admin.token);
    expect(answer.status).toBe(status);
    expect(answer.body).toEqual(expect.objectContaining({ code }));
  });
});

describe("password-hash slots", () => {
  /** Holds every password-hash slot from a connection of the test, as N concurrent hashes would. */
  async function holdingEverySlot<T>(fn: () => Promise<T>): Promise<T> {
    const holder: PoolClient = await db.pool.connect();
    try {
      await holder.query(
        `select pg_advisory_lock(app_private.password_hash_lock_class(), slot)
           from generate_series(1, app_private.password_hash_slots()) slot`,
      );
      return await fn();
    } finally {
      await holder.query("select pg_advisory_unlock_all()");
      holder.release();
    }
  }

  test("while every slot is taken, a login or sign-up that needs a hash answers 503 BUSY with Retry-After at once, and counts nothing", async () => {
    const user = await newAccount();
    const a = freshAddress();
    const newEmail = uniqueEmail("busy");
    await holdingEverySlot(async () => {
      for (const response of [
        await loginFrom(a, user.user.email, PASSWORD),
        await loginFrom(a, user.user.email, "salah-sekali"),
        await registerFrom(a, newEmail),
      ]) {
        expect(response.status).toBe(503);
        expect(response.body).toEqual(expect.objectContaining({ code: "BUSY" }));
        expect(response.headers.get("retry-after")).toBe("0");
      }
    });
    expect(await db.query("select 1 from api.users where email = $1", [newEmail])).toEqual([]);
    // Nothing was counted: five more failures are still answered 401.
    await failFrom(a, user.user.email, 5);
    expect((await registerFrom(a, newEmail)).status).toBe(200);
  });

  test("a refused login never hashes: blocked callers are answered 429 while every slot is taken", async () => {
    const user = await newAccount();
    const a = freshAddress();
    await failFrom(a, user.user.email, 5);
    await withLimit("register", 1, async () => {
      const b = freshAddress();
      expect((await registerFrom(b, uniqueEmail("first"))).status).toBe(200);
      await holdingEverySlot(async () => {
        expectTooManyAttempts(await loginFrom(a, user.user.email, PASSWORD), 900);
        const signUp = await registerFrom(b, uniqueEmail("second"));
        expect(signUp.status).toBe(429);
        expect(signUp.body).toEqual(expect.objectContaining({ code: "RATE_LIMITED" }));
        // A sign-up for a taken email is refused before hashing too.
        const taken = await registerFrom(freshAddress(), user.user.email);
        expect(taken.status).toBe(409);
        expect(taken.body).toEqual(expect.objectContaining({ code: "EMAIL_TAKEN" }));
        // No account has an email over 254 characters: answered without a hash.
        const long = await loginFrom(freshAddress(), `${"x".repeat(250)}@example.id`, PASSWORD);
        expect(long.status).toBe(401);
      });
    });
  });

  test("the number of slots is the password_hash_slots setting", async () => {
    const user = await newAccount();
    const holder = await db.pool.connect();
    try {
      await holder.query(
        "select pg_advisory_lock(app_private.password_hash_lock_class(), s) from generate_series(1, 2) s",
      );
      expect((await loginFrom(freshAddress(), user.user.email, PASSWORD)).status).toBe(503);
      await db.query("update app_private.settings set value = '3' where name = 'password_hash_slots'");
      expect((await loginFrom(freshAddress(), user.user.email, PASSWORD)).status).toBe(200);
    } finally {
      await db.query("update app_private.settings set value = '2' where name = 'password_hash_slots'");
      await holder.query("select pg_advisory_unlock_all()");
      holder.release();
    }
  });

  test("PASSWORD_HASH_SLOTS: 2 by default, 1-64, handed to the database at every boot as password_hash_slots", async () => {
    const secrets = {
      passwords: { owner: "o".repeat(8), authenticator: "a".repeat(8), worker: "w".repeat(8) },
      jwtSecret: "j".repeat(32),
      credentialsKey: "c".repeat(32),
    };
    const slotsOf = (env: NodeJS.ProcessEnv) =>
      bootOptions(readConfig(env), secrets, "postgres://localhost/x", false).settings.passwordHashSlots;
    expect(slotsOf({})).toBe(2);
    expect(slotsOf({ PASSWORD_HASH_SLOTS: "8" })).toBe(8);
    for (const bad of ["0", "65", "two"])
      expect(() => readConfig({ PASSWORD_HASH_SLOTS: bad })).toThrow(/PASSWORD_HASH_SLOTS/);
    // This database went through the boot sequence (tests/setup/cluster.ts).
    expect(await db.query("select value from app_private.settings where name = 'password_hash_slots'")).toEqual([
      { value: "2" },
    ]);
  });

  test("every password hash of ours goes through app_private.hash_password", async () => {
    const rows = await db.query<{ fn: string }>(
      `select p.oid::regprocedure::text as fn from pg_proc p
        where p.pronamespace in ('api'::regnamespace, 'app_hidden'::regnamespace, 'app_private'::regnamespace)
          and p.prosrc ~ '\\mcrypt\\s*\\('
        order by 1`,
    );
    expect(rows).toEqual([{ fn: "app_private.hash_password(text,text)" }]);
  });
});

describe("a flood of 100 concurrent bad logins (PostgREST pool 4)", () => {
  type Probe = { status: number; ms: number };

  /** Calls /rpc/health one after another until `done` resolves. */
  async function pollHealth(done: Promise<unknown>): Promise<Probe[]> {
    const probes: Probe[] = [];
    let finished = false;
    void done.finally(() => {
      finished = true;
    });
    while (!finished) {
      const started = Date.now();
      const { status } = await api.request("/rpc/health");
      probes.push({ status, ms: Date.now() - started });
      await new Promise((r) => setTimeout(r, 20));
    }
    return probes;
  }

  test.each([
    ["from 100 addresses for 100 emails (nothing is over a limit: every call wants a hash)", "spread"],
    ["from one address for one account", "focused"],
  ])(
    "%s: /rpc/health keeps answering, no login gets a 5xx but BUSY, and logins work right after",
    async (_what, kind) => {
      const victim = await newAccount();
      const oneAddress = freshAddress();
      const flood = Promise.all(
        Array.from({ length: 100 }, (_, i) =>
          kind === "spread"
            ? loginFrom(freshAddress(), uniqueEmail(`flood${i}`), "salah-sekali")
            : loginFrom(oneAddress, victim.user.email, "salah-sekali"),
        ),
      );
      const [answers, probes] = await Promise.all([flood, pollHealth(flood)]);

      const statuses = answers.map((r) => `${r.status} ${(r.body as { code?: string }).code}`);
      const allowed =
        kind === "spread"
          ? ["401 INVALID_CREDENTIALS", "503 BUSY"]
          : ["401 INVALID_CREDENTIALS", "429 TOO_MANY_ATTEMPTS", "503 BUSY"];
      expect(statuses.filter((s) => !allowed.includes(s))).toEqual([]);
      expect(statuses).toContain("401 INVALID_CREDENTIALS");
      for (const busy of answers.filter((r) => r.status === 503)) expect(busy.headers.get("retry-after")).toBe("0");
      if (kind === "focused") {
        // Only the first few reached a hash; the rest were refused without one.
        expect(statuses.filter((s) => s.startsWith("401")).length).toBeLessThanOrEqual(5 + 2);
      }

      expect(probes.length).toBeGreaterThan(0);
      expect(probes.filter((p) => p.status !== 200)).toEqual([]);
      // A generous bound: the health call waits only behind calls that are quick to answer.
      expect(Math.max(...probes.map((p) => p.ms))).toBeLessThan(2_000);

      // Back to normal at once.
      expect((await loginFrom(freshAddress(), victim.user.email, PASSWORD)).status).toBe(200);
    },
  );
});
