/**
 * Per-role limits (README, Limits): a statement of an anonymous visitor, a
 * client, an admin or the worker is cancelled at its role's statement
 * timeout, a query that spills more temporary files than temp_file_limit is
 * refused, and a transaction left idle is ended. The bootstrap sets them on
 * the roles (db/role-limits.ts); PostgREST applies the API roles' settings to
 * each request itself ("impersonated role settings").
 *
 * Roles are cluster-wide, so the short limits that make this test quick are
 * set on a cluster of its own (tests/helpers/dedicated-postgres.ts); the
 * shared test cluster, bootstrapped like production, must carry the
 * defaults, which must be what the README says.
 */
import fs from "node:fs";
import path from "node:path";
import { Client, Pool, type QueryResultRow } from "pg";
import { projectRoot } from "../../config/paths";
import { DEFAULT_ROLE_LIMITS, type RoleLimits } from "../../config/role-limits";
import { readConfig } from "../../config/settings";
import { bootstrap } from "../../db/bootstrap";
import { withClient, type DatabaseConnections } from "../../db/pg";
import { prepareDatabase } from "../../db/prepare";
import { roleLimitSettings } from "../../db/role-limits";
import { startPostgrest } from "../../services/postgrest";
import type { TestApi } from "../helpers/api";
import { createAdmin, registerClient, type SignedIn } from "../helpers/auth";
import { createMigratedDatabase, type TestDatabase } from "../helpers/database";
import { startDedicatedPostgres, type DedicatedPostgres } from "../helpers/dedicated-postgres";
import { freePort, TEST_CREDENTIALS_KEY, TEST_JWT_SECRET, TEST_PASSWORDS } from "../setup/cluster";

/** The managed settings of our roles as pg_roles stores them. */
async function storedRoleSettings(query: (sql: string) => Promise<{ rolname: string; rolconfig: string[] | null }[]>) {
  const rows = await query(
    `select rolname, rolconfig from pg_roles
      where rolname in ('web_anon', 'app_client', 'app_admin', 'authenticator', 'app_worker') order by rolname`,
  );
  const managed = ["statement_timeout", "temp_file_limit", "idle_in_transaction_session_timeout"];
  return Object.fromEntries(
    rows.map((r) => [
      r.rolname,
      Object.fromEntries(
        (r.rolconfig ?? [])
          .map((c) => c.split(/=(.*)/s) as [string, string])
          .filter(([name]) => managed.includes(name)),
      ),
    ]),
  );
}

describe("the production defaults", () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createMigratedDatabase();
  });
  afterAll(async () => {
    await db.drop();
  });

  test("are README's Configuration defaults and what readConfig gives without variables", () => {
    const readme = fs.readFileSync(path.join(projectRoot, "README.md"), "utf8");
    const documented = (variable: string) => {
      const row = new RegExp(`^\\| \`${variable}\` \\| \`(\\d+)\` \\|`, "m").exec(readme);
      if (!row) throw new Error(`README's Configuration table has no default for ${variable}`);
      return Number(row[1]);
    };
    const fromReadme: RoleLimits = {
      statementTimeoutMs: {
        anon: documented("DB_STATEMENT_TIMEOUT_ANON_MS"),
        client: documented("DB_STATEMENT_TIMEOUT_CLIENT_MS"),
        admin: documented("DB_STATEMENT_TIMEOUT_ADMIN_MS"),
        worker: documented("DB_STATEMENT_TIMEOUT_WORKER_MS"),
      },
      tempFileLimitMb: documented("DB_TEMP_FILE_LIMIT_MB"),
      idleInTransactionTimeoutMs: documented("DB_IDLE_IN_TRANSACTION_TIMEOUT_MS"),
    };
    expect(fromReadme).toEqual(DEFAULT_ROLE_LIMITS);
    expect(fromReadme).toEqual({
      statementTimeoutMs: { anon: 3_000, client: 5_000, admin: 30_000, worker: 60_000 },
      tempFileLimitMb: 256,
      idleInTransactionTimeoutMs: 60_000,
    });
    expect(readConfig({}).roleLimits).toEqual(DEFAULT_ROLE_LIMITS);
  });

  test("are set on the roles by a production-like bootstrap (the shared test cluster's)", async () => {
    expect(await storedRoleSettings((sql) => db.query(sql))).toEqual({
      web_anon: { statement_timeout: "3000", temp_file_limit: "262144" },
      app_client: { statement_timeout: "5000", temp_file_limit: "262144" },
      app_admin: { statement_timeout: "30000", temp_file_limit: "262144" },
      authenticator: {
        statement_timeout: "30000",
        temp_file_limit: "262144",
        idle_in_transaction_session_timeout: "60000",
      },
      app_worker: {
        statement_timeout: "60000",
        temp_file_limit: "262144",
        idle_in_transaction_session_timeout: "60000",
      },
    });
    expect(await storedRoleSettings((sql) => db.query(sql))).toEqual(roleLimitSettings(DEFAULT_ROLE_LIMITS));
  });

  test("are settable through the environment, and a value out of range stops the start naming it", () => {
    expect(
      readConfig({
        DB_STATEMENT_TIMEOUT_ANON_MS: "1500",
        DB_STATEMENT_TIMEOUT_CLIENT_MS: "2500",
        DB_STATEMENT_TIMEOUT_ADMIN_MS: "45000",
        DB_STATEMENT_TIMEOUT_WORKER_MS: "120000",
        DB_TEMP_FILE_LIMIT_MB: "64",
        DB_IDLE_IN_TRANSACTION_TIMEOUT_MS: "10000",
      }).roleLimits,
    ).toEqual({
      statementTimeoutMs: { anon: 1_500, client: 2_500, admin: 45_000, worker: 120_000 },
      tempFileLimitMb: 64,
      idleInTransactionTimeoutMs: 10_000,
    });
    expect(() => readConfig({ DB_STATEMENT_TIMEOUT_ANON_MS: "0" })).toThrow(/DB_STATEMENT_TIMEOUT_ANON_MS/);
    expect(() => readConfig({ DB_TEMP_FILE_LIMIT_MB: "-1" })).toThrow(/DB_TEMP_FILE_LIMIT_MB/);
  });
});

describe("short limits on a cluster of its own", () => {
  const LIMITS: RoleLimits = {
    statementTimeoutMs: { anon: 1_000, client: 1_800, admin: 2_600, worker: 1_500 },
    tempFileLimitMb: 1,
    idleInTransactionTimeoutMs: 1_500,
  };
  const DATABASE = "jasaweb_limits";
  let server: DedicatedPostgres;
  let connections: DatabaseConnections;
  let pool: Pool;
  let api: TestApi;
  let stopApi: () => Promise<void>;
  let client: SignedIn;
  let admin: SignedIn;

  beforeAll(async () => {
    server = await startDedicatedPostgres("jasaweb-limits-test");
    await withClient(server.url("postgres"), (c) => c.query(`create database ${DATABASE}`));
    ({ connections } = await prepareDatabase({
      superuserUrl: server.url(DATABASE),
      passwords: TEST_PASSWORDS,
      limits: LIMITS,
      settings: { jwtSecret: TEST_JWT_SECRET, credentialsKey: TEST_CREDENTIALS_KEY },
    }));
    pool = new Pool({ connectionString: connections.superuser, max: 2 });
    // Test-only functions in this throw-away database: a statement that
    // lasts as long as asked, the settings a request runs with, and a sort
    // that spills about 30 MB of temporary files.
    await pool.query(`
      create function api.test_sleep(seconds double precision) returns text language sql stable
        as $$ select current_user::text from pg_sleep(seconds) $$;
      create function api.test_settings() returns json language sql stable
        as $$ select json_build_object('role', current_user, 'statement_timeout', current_setting('statement_timeout'),
                                       'temp_file_limit', current_setting('temp_file_limit')) $$;
      create function api.test_spill() returns bigint language sql stable
        as $$ select count(*) from (select g from generate_series(1, 2000000) g order by random()) s $$;
      grant execute on function api.test_sleep(double precision), api.test_settings(), api.test_spill()
        to web_anon, app_client, app_admin;`);
    const postgrest = await startPostgrest({
      dbUri: connections.authenticator,
      port: await freePort(),
      jwtSecret: TEST_JWT_SECRET,
      extraEnv: { PGRST_DB_POOL: "4" },
    });
    stopApi = postgrest.stop;
    // PostgREST itself, without the API edge: these tests read PostgreSQL's own codes (57014,
    // 53400), which the edge rewrites (tests/edge/ proves the 503 STATEMENT_TIMEOUT).
    api = {
      url: postgrest.url,
      postgrestUrl: postgrest.url,
      stop: postgrest.stop,
      async request(requestPath, init = {}) {
        const { token, headers, ...rest } = init;
        const response = await fetch(`${postgrest.url}${requestPath}`, {
          ...rest,
          headers: {
            "content-type": "application/json",
            ...(token ? { authorization: `Bearer ${token}` } : {}),
            ...(headers as Record<string, string> | undefined),
          },
        });
        const text = await response.text();
        return {
          status: response.status,
          body: text ? (JSON.parse(text) as unknown) : null,
          headers: response.headers,
        };
      },
    };
    const db = {
      async query<R extends QueryResultRow>(sql: string, params?: unknown[]) {
        return (await pool.query<R>(sql, params)).rows;
      },
    } as TestDatabase;
    client = await registerClient(api);
    admin = await createAdmin(api, db);
  }, 120_000);

  afterAll(async () => {
    await stopApi?.();
    await pool?.end();
    await server?.stop();
  });

  type Caller = "anon" | "client" | "admin";
  const tokenOf = (caller: Caller) =>
    caller === "client" ? client.token : caller === "admin" ? admin.token : undefined;

  const timedSleep = async (caller: Caller, seconds: number) => {
    const started = Date.now();
    const response = await api.request(`/rpc/test_sleep?seconds=${seconds}`, {
      token: tokenOf(caller),
      signal: AbortSignal.timeout(20_000),
    });
    return { ...response, elapsedMs: Date.now() - started };
  };

  test.each([
    { caller: "anon" as const, role: "web_anon" },
    { caller: "client" as const, role: "app_client" },
    { caller: "admin" as const, role: "app_admin" },
  ])("a request of $caller runs as $role with its own limits", async ({ caller, role }) => {
    const { status, body } = await api.request("/rpc/test_settings", { token: tokenOf(caller) });
    expect(status).toBe(200);
    const limit = LIMITS.statementTimeoutMs[caller];
    expect(body).toEqual({
      role,
      statement_timeout: limit % 1000 === 0 ? `${limit / 1000}s` : `${limit}ms`,
      temp_file_limit: "1MB",
    });
  });

  test.each([
    { caller: "anon" as const, limitMs: 1_000 },
    { caller: "client" as const, limitMs: 1_800 },
    { caller: "admin" as const, limitMs: 2_600 },
  ])("a 10 s statement of $caller is cancelled at its limit ($limitMs ms): 57014", async ({ caller, limitMs }) => {
    const { status, body, elapsedMs } = await timedSleep(caller, 10);
    // PostgREST answers 500 for 57014; the edge proxy turns it into 503
    // STATEMENT_TIMEOUT (README, Errors).
    expect({ status, code: (body as { code: string }).code }).toEqual({ status: 500, code: "57014" });
    expect(elapsedMs).toBeGreaterThanOrEqual(limitMs - 50);
    expect(elapsedMs).toBeLessThan(limitMs + 3_000);
  });

  test.each([
    { caller: "client" as const, seconds: 1.3, why: "longer than the anonymous limit" },
    { caller: "admin" as const, seconds: 2.2, why: "longer than the client limit" },
  ])("a $seconds s statement of $caller completes ($why)", async ({ caller, seconds }) => {
    const { status, body } = await timedSleep(caller, seconds);
    expect({ status, body }).toEqual({ status: 200, body: caller === "client" ? "app_client" : "app_admin" });
  });

  test("a request that spills more temporary files than temp_file_limit is refused (53400, 503)", async () => {
    const { status, body } = await api.request("/rpc/test_spill", { signal: AbortSignal.timeout(20_000) });
    expect({ status, code: (body as { code: string }).code }).toEqual({ status: 503, code: "53400" });
    // The limit is the role's, not a broken setting: plain requests still work.
    expect((await api.request("/posts?limit=1")).status).toBe(200);
    expect((await api.request("/rpc/me", { token: client.token })).status).toBe(200);
  });

  test("the worker's login cancels a statement at its own limit and ends a transaction left idle", async () => {
    const worker = new Client({ connectionString: connections.worker });
    const errors: Error[] = [];
    worker.on("error", (error) => errors.push(error));
    await worker.connect();
    try {
      const shown = await worker.query<{ statement_timeout: string; temp_file_limit: string; idle: string }>(
        `select current_setting('statement_timeout') as statement_timeout, current_setting('temp_file_limit') as temp_file_limit,
                current_setting('idle_in_transaction_session_timeout') as idle`,
      );
      expect(shown.rows[0]).toEqual({ statement_timeout: "1500ms", temp_file_limit: "1MB", idle: "1500ms" });
      const started = Date.now();
      await expect(worker.query("select pg_sleep(10)")).rejects.toMatchObject({ code: "57014" });
      expect(Date.now() - started).toBeGreaterThanOrEqual(1_450);
      expect(Date.now() - started).toBeLessThan(4_500);

      await worker.query("begin");
      await worker.query("select 1");
      await new Promise((r) => setTimeout(r, 3_000));
      await expect(worker.query("select 1")).rejects.toThrow();
      expect(errors.map((e) => (e as { code?: string }).code)).toContain("25P03");
    } finally {
      await worker.end().catch(() => undefined);
    }
  });

  test("a bootstrap with other limits reaches the running PostgREST (reload config)", async () => {
    await bootstrap(connections.superuser, TEST_PASSWORDS, {
      ...LIMITS,
      statementTimeoutMs: { ...LIMITS.statementTimeoutMs, anon: 2_000 },
    });
    const deadline = Date.now() + 10_000;
    let seen: unknown;
    while (Date.now() < deadline) {
      seen = (await api.request("/rpc/test_settings")).body;
      if ((seen as { statement_timeout: string }).statement_timeout === "2s") break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(seen).toEqual({ role: "web_anon", statement_timeout: "2s", temp_file_limit: "1MB" });
  });
});
