/**
 * The resilience API with every real part: two worker instances (two
 * graphile-worker runners with their own resilience monitors, Midtrans
 * gateways and LISTEN connections, as app_worker) against one database,
 * PostgREST, and the Midtrans simulator failing on request.
 *
 * POST /rpc/resilience_status shows what each instance's breaker did (open
 * after the configured failures, half-open after the delay, closed after
 * the successes); POST /rpc/reset_circuit_breaker reaches both instances
 * through NOTIFY and is audited; both are admin only, POST only, and the
 * 101st call within a minute answers 429 RATE_LIMITED with Retry-After.
 */
import type { Runner } from "graphile-worker";
import { Logger } from "@graphile/logger";
import { startApi, type TestApi } from "../helpers/api";
import { createAdmin, registerClient, type SignedIn } from "../helpers/auth";
import { createSeededDatabase, inRolledBackTransaction, type TestDatabase } from "../helpers/database";
import { setFaults, clearFaults } from "../helpers/gateway";
import { startTestSimulator } from "../helpers/simulator";
import { TEST_MIDTRANS_SERVER_KEY } from "../setup/cluster";
import { readConfig } from "../../config/settings";
import { createMidtransGateway, type MidtransGateway } from "../../worker/payments/midtrans-gateway";
import { workerInstance } from "../../worker/resilience/instance";
import { createResilienceMonitor, type ResilienceMonitor } from "../../worker/resilience/monitor";
import { startWorker } from "../../worker/runner";
import type { RunningSimulator } from "../../simulator";

jest.setTimeout(90_000);

type StatusRow = {
  instance_id: string;
  alive: boolean;
  started_at: string;
  last_seen_at: string;
  breaker: string;
  state: "closed" | "open" | "half-open";
  consecutive_failures: number;
  half_open_successes: number;
  last_failure_at: string | null;
  last_failure_reason: string | null;
  opened_at: string | null;
  total_calls: number;
  total_failures: number;
  total_rejections: number;
  updated_at: string;
};

const HEARTBEAT_MS = 400;
const FAILURES_TO_OPEN = 3;

let db: TestDatabase;
let api: TestApi;
let simulator: RunningSimulator;
let admin: SignedIn;
let client: SignedIn;
const workers: Runner[] = [];
/** Instance worker-a half-opens after 1.5 s; worker-b stays open for 10 minutes unless reset. */
const gateways: Record<"a" | "b", MidtransGateway> = {} as Record<"a" | "b", MidtransGateway>;

const silent = new Logger(() => () => undefined);

/** A Midtrans gateway against the simulator, one call per operation, reported by `resilience`. */
function trackedGateway(resilience: ResilienceMonitor, halfOpenAfterMs: number): MidtransGateway {
  const settings = readConfig({
    MIDTRANS_BASE_URL: simulator.url,
    MIDTRANS_STATUS_ATTEMPTS: "1",
    MIDTRANS_STATUS_TIMEOUT_MS: "5000",
    MIDTRANS_BREAKER_FAILURES: String(FAILURES_TO_OPEN),
    MIDTRANS_BREAKER_HALF_OPEN_AFTER_MS: String(halfOpenAfterMs),
    MIDTRANS_BREAKER_SUCCESSES_TO_CLOSE: "2",
  }).midtrans;
  return resilience.track("midtrans", (onStateChange) =>
    createMidtransGateway({ serverKey: TEST_MIDTRANS_SERVER_KEY, settings, onStateChange }),
  );
}

/** A worker instance as stack/worker.ts builds one, with the simulator as Midtrans and short settings. */
async function startInstance(
  id: string,
  halfOpenAfterMs: number,
): Promise<{ runner: Runner; gateway: MidtransGateway }> {
  const resilience = createResilienceMonitor({ instance: workerInstance(id), heartbeatMs: HEARTBEAT_MS });
  const gateway = trackedGateway(resilience, halfOpenAfterMs);
  const runner = await startWorker(db.connections.worker, {
    pollInterval: 500,
    payments: { gateway },
    resilience,
    logger: silent,
  });
  workers.push(runner);
  return { runner, gateway };
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    const value = await probe().catch((error: unknown) => {
      last = error;
      return undefined;
    });
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ""}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const post = (path: string, body: unknown, token?: string) =>
  api.request(path, { method: "POST", body: JSON.stringify(body), ...(token ? { token } : {}) });

/** The row of one instance, from a real POST /rpc/resilience_status by the polling admin. */
let poller: SignedIn;
async function rowOf(instanceId: string): Promise<StatusRow | undefined> {
  const { status, body } = await post("/rpc/resilience_status", {}, poller.token);
  if (status !== 200) throw new Error(`resilience_status answered ${status} ${JSON.stringify(body)}`);
  return (body as StatusRow[]).find((r) => r.instance_id === instanceId && r.breaker === "midtrans");
}

/**
 * The same function in SQL, as the polling admin, in a transaction that is
 * rolled back: waiting polls often and must not spend the admin's rate limit.
 */
async function rowViaSql(instanceId: string): Promise<StatusRow | undefined> {
  return inRolledBackTransaction(db, async (c) => {
    await c.query("select set_config('request.jwt.claims', $1, true)", [
      JSON.stringify({ role: "app_admin", sub: poller.user.id }),
    ]);
    await c.query("set local role app_admin");
    const { rows } = await c.query<StatusRow>(
      `select instance_id, alive, breaker, state, consecutive_failures, half_open_successes, opened_at,
              total_calls::int, total_failures::int, total_rejections::int,
              to_json(last_seen_at) #>> '{}' as last_seen_at, to_json(updated_at) #>> '{}' as updated_at
         from api.resilience_status() where instance_id = $1 and breaker = 'midtrans'`,
      [instanceId],
    );
    return rows[0];
  });
}

/** Waits (in SQL) until the instance's row satisfies `ok`, then reads it through PostgREST, where it must too. */
async function rowWhere(instanceId: string, what: string, ok: (row: StatusRow) => boolean): Promise<StatusRow> {
  await until(`${instanceId}: ${what}`, async () => {
    const row = await rowViaSql(instanceId);
    return row && ok(row) ? row : undefined;
  });
  const row = await rowOf(instanceId);
  expect(row && ok(row)).toBe(true);
  return row!;
}

/** Makes `count` status calls of the gateway fail with 503 at the simulator. */
async function failCalls(gateway: MidtransGateway, count: number): Promise<void> {
  await setFaults(simulator, { failNext: { count, status: 503, path: "/v2/" } });
  for (let i = 0; i < count; i++) await gateway.getPaymentStatus(`JW-resilience-${i}`).catch(() => undefined);
  await clearFaults(simulator);
}

beforeAll(async () => {
  db = await createSeededDatabase();
  api = await startApi(db);
  simulator = await startTestSimulator({ serverKey: TEST_MIDTRANS_SERVER_KEY });
  admin = await createAdmin(api, db);
  poller = await createAdmin(api, db);
  client = await registerClient(api);
  gateways.a = (await startInstance("worker-a", 1_500)).gateway;
  gateways.b = (await startInstance("worker-b", 600_000)).gateway;
});

afterAll(async () => {
  for (const worker of workers) await worker.stop().catch(() => undefined);
  await simulator?.stop();
  await api?.stop();
  await db?.drop();
});

describe("POST /rpc/resilience_status", () => {
  test("shows each running instance's breaker, alive and closed, once it has started", async () => {
    const { status, body } = await post("/rpc/resilience_status", {}, admin.token);
    expect(status).toBe(200);
    const rows = (body as StatusRow[]).filter((r) => r.instance_id.startsWith("worker-"));
    expect(rows.map((r) => [r.instance_id, r.breaker, r.alive, r.state])).toEqual([
      ["worker-a", "midtrans", true, "closed"],
      ["worker-b", "midtrans", true, "closed"],
    ]);
    expect(rows[0]).toEqual({
      instance_id: "worker-a",
      alive: true,
      started_at: expect.any(String),
      last_seen_at: expect.any(String),
      breaker: "midtrans",
      state: "closed",
      consecutive_failures: 0,
      half_open_successes: 0,
      last_failure_at: null,
      last_failure_reason: null,
      opened_at: null,
      total_calls: 0,
      total_failures: 0,
      total_rejections: 0,
      updated_at: expect.any(String),
    });
  });

  test(`shows the breaker open after ${FAILURES_TO_OPEN} failures in a row, with the last failure, when it opened and the totals`, async () => {
    const before = Date.now();
    await failCalls(gateways.a, FAILURES_TO_OPEN);
    // While open the gateway rejects without calling Midtrans.
    await expect(gateways.a.getPaymentStatus("JW-resilience-rejected")).rejects.toMatchObject({
      name: "MidtransUnavailableError",
    });
    // The rejection changes no state: the next heartbeat brings the totals.
    const row = await rowWhere("worker-a", "open with a rejection counted", (r) => r.total_rejections === 1);
    expect(row).toMatchObject({
      alive: true,
      state: "open",
      consecutive_failures: FAILURES_TO_OPEN,
      half_open_successes: 0,
      total_calls: FAILURES_TO_OPEN + 1,
      total_failures: FAILURES_TO_OPEN,
      total_rejections: 1,
    });
    // The failure as the breaker saw it: the Midtrans client's error for the 503.
    expect(row.last_failure_reason).toMatch(/^MidtransError: .*HTTP status code: 503/);
    for (const time of [row.last_failure_at, row.opened_at]) {
      expect(new Date(time!).getTime()).toBeGreaterThanOrEqual(before - 1000);
      expect(new Date(time!).getTime()).toBeLessThanOrEqual(Date.now() + 1000);
    }
    // The other instance has a breaker of its own, untouched.
    expect(await rowOf("worker-b")).toMatchObject({ state: "closed", total_calls: 0 });
  });

  test("shows it half-open after the delay, counting successful trials, and closed after two", async () => {
    await rowWhere("worker-a", "half-open", (r) => r.state === "half-open");
    await gateways.a.getPaymentStatus("JW-resilience-trial-1"); // 404 from Midtrans: it answered, a success
    const trial = await rowWhere("worker-a", "one successful trial", (r) => r.half_open_successes === 1);
    expect(trial).toMatchObject({ state: "half-open", consecutive_failures: 0 });
    await gateways.a.getPaymentStatus("JW-resilience-trial-2");
    const closed = await rowWhere("worker-a", "closed", (r) => r.state === "closed");
    expect(closed).toMatchObject({
      consecutive_failures: 0,
      half_open_successes: 0,
      total_calls: FAILURES_TO_OPEN + 3,
      total_failures: FAILURES_TO_OPEN,
      total_rejections: 1,
    });
    // It remembers when it last opened and why it last failed.
    expect(closed.opened_at).not.toBeNull();
    expect(closed.last_failure_reason).toMatch(/HTTP status code: 503/);
  });

  test("a heartbeat that changes nothing moves last_seen_at, not updated_at", async () => {
    const first = (await rowOf("worker-b"))!;
    const later = await rowWhere(
      "worker-b",
      "two more heartbeats",
      (r) => new Date(r.last_seen_at).getTime() >= new Date(first.last_seen_at).getTime() + 2 * HEARTBEAT_MS,
    );
    expect(later.updated_at).toBe(first.updated_at);
  });
});

describe("POST /rpc/reset_circuit_breaker", () => {
  test("closes the breaker in both instances, answers with the instances reached, and is audited", async () => {
    await failCalls(gateways.a, FAILURES_TO_OPEN);
    await failCalls(gateways.b, FAILURES_TO_OPEN);
    await rowWhere("worker-a", "not closed", (r) => r.state !== "closed");
    const openB = await rowWhere("worker-b", "open", (r) => r.state === "open");
    expect(openB.consecutive_failures).toBe(FAILURES_TO_OPEN);

    const { status, body } = await post("/rpc/reset_circuit_breaker", { name: "midtrans" }, admin.token);
    expect(status).toBe(200);
    expect(body).toEqual({
      name: "midtrans",
      requested_by: admin.user.id,
      requested_at: expect.any(String),
      instances: ["worker-a", "worker-b"],
    });

    // Each instance got the NOTIFY on its own connection, reset its breaker and reported it.
    for (const id of ["worker-a", "worker-b"]) {
      const row = await rowWhere(id, "closed by the reset", (r) => r.state === "closed" && r.opened_at === null);
      expect(row).toMatchObject({ consecutive_failures: 0, half_open_successes: 0 });
    }
    expect(gateways.b.resilienceSnapshot().state).toBe("closed");
    // Reset: calls go to Midtrans again at once (worker-b would have stayed open for 10 minutes).
    await expect(gateways.b.getPaymentStatus("JW-resilience-after-reset")).resolves.toBeNull();

    const audit = await db.query<{ action: string; user_id: string; old_values: unknown; new_values: unknown }>(
      `select action, user_id, old_values, new_values from api.audit_logs
        where resource = 'circuit_breakers' and resource_id = 'midtrans'`,
    );
    expect(audit).toEqual([
      {
        action: "UPDATE",
        user_id: admin.user.id,
        old_values: {
          instances: [
            expect.objectContaining({ instance_id: "worker-a", alive: true }),
            expect.objectContaining({
              instance_id: "worker-b",
              alive: true,
              state: "open",
              consecutive_failures: FAILURES_TO_OPEN,
            }),
          ],
        },
        new_values: { command: "reset_circuit_breaker", instances: ["worker-a", "worker-b"] },
      },
    ]);
  });

  test("an unknown breaker answers 404 BREAKER_NOT_FOUND, a missing name 400 INVALID_INPUT; neither is audited", async () => {
    const unknown = await post("/rpc/reset_circuit_breaker", { name: "paypal" }, admin.token);
    expect([unknown.status, (unknown.body as { code: string }).code]).toEqual([404, "BREAKER_NOT_FOUND"]);
    const missing = await post("/rpc/reset_circuit_breaker", { name: null }, admin.token);
    expect([missing.status, (missing.body as { code: string }).code]).toEqual([400, "INVALID_INPUT"]);
    expect(
      await db.query(
        "select resource_id from api.audit_logs where resource = 'circuit_breakers' and resource_id <> 'midtrans'",
      ),
    ).toEqual([]);
  });
});

describe("who may call them, and how", () => {
  test.each(["resilience_status", "reset_circuit_breaker"])(
    "%s: a client gets 403 FORBIDDEN, an anonymous caller 401 (42501)",
    async (fn) => {
      const body = fn === "reset_circuit_breaker" ? { name: "midtrans" } : {};
      const asClient = await post(`/rpc/${fn}`, body, client.token);
      expect([asClient.status, (asClient.body as { code: string }).code]).toEqual([403, "FORBIDDEN"]);
      const anonymous = await post(`/rpc/${fn}`, body);
      expect([anonymous.status, (anonymous.body as { code: string }).code]).toEqual([401, "42501"]);
    },
  );

  test.each([
    ["resilience_status", "/rpc/resilience_status"],
    ["reset_circuit_breaker", "/rpc/reset_circuit_breaker?name=midtrans"],
  ])("%s: GET is refused with 405 USE_POST (25006: it must write its rate-limit count)", async (_fn, path) => {
    const { status, body } = await api.request(path, { token: admin.token });
    expect([status, (body as { code: string }).code]).toEqual([405, "USE_POST"]);
  });
});

describe("stale and stopped instances", () => {
  test("an instance that stops cleanly removes its rows", async () => {
    const { runner } = await startInstance("worker-c", 600_000);
    await rowWhere("worker-c", "reported", (r) => r.alive);
    await runner.stop();
    workers.splice(workers.indexOf(runner), 1);
    expect(await rowOf("worker-c")).toBeUndefined();
  });

  test("an instance silent for three heartbeats is shown not alive and not reached by a reset; after 24 hours it is gone", async () => {
    // A worker that died without stopping: its last report, 3 beats and a bit ago.
    await db.query(
      `insert into app_private.breaker_snapshots (instance_id, breaker, state, heartbeat_ms, started_at, last_seen_at)
       values ('worker-dead', 'midtrans', 'open', $1::integer, now() - interval '1 hour',
               now() - make_interval(secs => 3.5 * $1::integer / 1000.0))`,
      [HEARTBEAT_MS],
    );
    expect(await rowOf("worker-dead")).toMatchObject({ alive: false, state: "open" });
    const { body } = await post("/rpc/reset_circuit_breaker", { name: "midtrans" }, admin.token);
    expect((body as { instances: string[] }).instances).toEqual(["worker-a", "worker-b"]);
    // Alive instances are listed first.
    const { body: all } = await post("/rpc/resilience_status", {}, poller.token);
    expect((all as StatusRow[]).map((r) => r.alive)).toEqual([true, true, false]);

    await db.query(
      "update app_private.breaker_snapshots set last_seen_at = now() - interval '25 hours' where instance_id = 'worker-dead'",
    );
    // The next report of any instance removes it.
    await until("the dead instance forgotten", async () =>
      (await db.query("select 1 from app_private.breaker_snapshots where instance_id = 'worker-dead'")).length === 0
        ? true
        : undefined,
    );
  });
});

describe("a snapshot write that fails", () => {
  const RECORD =
    "app_hidden.record_breaker_snapshot(text, timestamptz, integer, text, text, integer, integer, timestamptz, text, timestamptz, bigint, bigint, bigint)";

  test("is logged, never reaches the gateway's callers, and is written by the next heartbeat", async () => {
    const logged: string[] = [];
    const resilience = createResilienceMonitor({ instance: workerInstance("worker-d"), heartbeatMs: HEARTBEAT_MS });
    const gateway = trackedGateway(resilience, 600_000);
    await resilience.start(db.connections.worker, (level, message) => logged.push(`${level}: ${message}`));
    try {
      await rowWhere("worker-d", "reported", (r) => r.alive);
      await db.query(`revoke execute on function ${RECORD} from app_worker`);
      try {
        await setFaults(simulator, { failNext: { count: FAILURES_TO_OPEN, status: 503, path: "/v2/" } });
        const failures = [];
        for (let i = 0; i < FAILURES_TO_OPEN; i++)
          failures.push(await gateway.getPaymentStatus(`JW-resilience-d-${i}`).catch((error: unknown) => error));
        await clearFaults(simulator);
        // The callers see Midtrans' failures, nothing of the failed write.
        expect(failures.map((e) => (e as Error).name)).toEqual(Array(FAILURES_TO_OPEN).fill("MidtransTransientError"));
        expect(gateway.resilienceSnapshot().state).toBe("open");
        await until("the failed write logged", async () =>
          logged.some((l) => /^warn: could not write the midtrans breaker snapshot/.test(l)) ? true : undefined,
        );
        expect((await rowViaSql("worker-d"))!.state).toBe("closed");
      } finally {
        await db.query(`grant execute on function ${RECORD} to app_worker`);
      }
      const row = await rowWhere("worker-d", "open, written by a later beat", (r) => r.state === "open");
      expect(row.consecutive_failures).toBe(FAILURES_TO_OPEN);
    } finally {
      await resilience.stop();
    }
    expect(await rowViaSql("worker-d")).toBeUndefined();
  });
});

describe("rate limit: 100 calls per minute per user", () => {
  test("the 101st call within a minute answers 429 RATE_LIMITED with Retry-After; another admin is not affected", async () => {
    const busy = await createAdmin(api, db);
    // Both functions share one budget: 99 status calls and one reset.
    for (let i = 0; i < 99; i++) {
      const { status } = await post("/rpc/resilience_status", {}, busy.token);
      expect(status).toBe(200);
    }
    expect((await post("/rpc/reset_circuit_breaker", { name: "midtrans" }, busy.token)).status).toBe(200);

    for (const [fn, body] of [
      ["resilience_status", {}],
      ["reset_circuit_breaker", { name: "midtrans" }],
    ] as const) {
      const refused = await post(`/rpc/${fn}`, body, busy.token);
      expect([refused.status, (refused.body as { code: string }).code]).toEqual([429, "RATE_LIMITED"]);
      const retryAfter = refused.headers.get("retry-after");
      expect(retryAfter).toMatch(/^\d+$/);
      expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
      expect(Number(retryAfter)).toBeLessThanOrEqual(60);
    }
    // A refused reset was not sent or audited: one audit row per accepted reset.
    expect(
      await db.query<{ n: number }>(
        "select count(*)::int as n from api.audit_logs where resource = 'circuit_breakers' and user_id = $1",
        [busy.user.id],
      ),
    ).toEqual([{ n: 1 }]);

    expect((await post("/rpc/resilience_status", {}, admin.token)).status).toBe(200);
  });

  test("every RATE_LIMITED answer carries Retry-After: the seconds until the oldest counted call leaves the window", async () => {
    // create_project allows 20 per hour; a limit of 2 shows the same answer sooner.
    await db.query("update app_private.rate_limits set max_count = 2 where action = 'create_project'");
    try {
      const shopper = await registerClient(api);
      for (let i = 0; i < 2; i++) {
        const ok = await post("/rpc/create_project", { name: `Situs ${i}`, type: "company" }, shopper.token);
        expect(ok.status).toBe(200);
      }
      const refused = await post("/rpc/create_project", { name: "Situs 3", type: "company" }, shopper.token);
      expect([refused.status, (refused.body as { code: string }).code]).toEqual([429, "RATE_LIMITED"]);
      const retryAfter = Number(refused.headers.get("retry-after"));
      expect(retryAfter).toBeGreaterThan(3500);
      expect(retryAfter).toBeLessThanOrEqual(3600);
    } finally {
      await db.query("update app_private.rate_limits set max_count = 20 where action = 'create_project'");
    }
  });

  test("sign-up's per-address RATE_LIMITED carries Retry-After too", async () => {
    // The sign-ups of this file so far, all from this machine's address.
    const [counted] = await db.query<{ used: number }>(
      `select max(n)::int as used from (select count(*) as n from app_private.rate_limit_events
        where bucket like 'register:%' group by bucket) per_address`,
    );
    await db.query("update app_private.rate_limits set max_count = $1 where action = 'register'", [counted!.used]);
    try {
      const refused = await post("/rpc/register", {
        email: `late.${Date.now()}@example.id`,
        password: "password-123",
        name: "Terlambat",
      });
      expect([refused.status, (refused.body as { code: string }).code]).toEqual([429, "RATE_LIMITED"]);
      expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(3000);
    } finally {
      await db.query("update app_private.rate_limits set max_count = 20 where action = 'register'");
    }
  });
});
