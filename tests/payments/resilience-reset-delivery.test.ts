/**
 * A breaker reset that no worker instance misses, with every real part:
 * worker instances (graphile-worker runners with their resilience monitors,
 * Midtrans gateways and LISTEN connections, as app_worker), PostgREST, and
 * the Midtrans simulator failing on request to open the breakers.
 *
 * An instance's control connection is cut for real: its backend is ended
 * with pg_terminate_backend, and a PostgreSQL login event trigger refuses
 * that connection's reconnection (it carries the instance's
 * application_name) for as long as a test needs it down. The NOTIFY of a
 * reset sent then is lost for that instance, as after a network blip.
 */
import type { Runner } from "graphile-worker";
import { Logger } from "@graphile/logger";
import { startApi, type TestApi } from "../helpers/api";
import { createAdmin, type SignedIn } from "../helpers/auth";
import { createSeededDatabase, type TestDatabase } from "../helpers/database";
import { setFaults, clearFaults } from "../helpers/gateway";
import { until } from "../helpers/payments";
import { startTestSimulator } from "../helpers/simulator";
import { TEST_MIDTRANS_SERVER_KEY } from "../setup/cluster";
import { readConfig } from "../../config/settings";
import { createMidtransGateway, type MidtransGateway } from "../../worker/payments/midtrans-gateway";
import { controlApplicationName } from "../../worker/resilience/control-listener";
import { workerInstance } from "../../worker/resilience/instance";
import { createResilienceMonitor } from "../../worker/resilience/monitor";
import { startWorker } from "../../worker/runner";
import type { RunningSimulator } from "../../simulator";

jest.setTimeout(120_000);

const FAILURES_TO_OPEN = 3;

let db: TestDatabase;
let api: TestApi;
let simulator: RunningSimulator;
let admin: SignedIn;
const runners: Runner[] = [];

type Instance = { id: string; runner: Runner; gateway: MidtransGateway; logs: string[] };

/**
 * A worker instance as stack/worker.ts builds one, its breaker open for 10
 * minutes once opened, its resilience log kept. `beforeStart` runs between
 * building the gateway and starting the runner (and so the monitor).
 */
async function startInstance(
  id: string,
  heartbeatMs: number,
  beforeStart?: (gateway: MidtransGateway) => Promise<void>,
): Promise<Instance> {
  const logs: string[] = [];
  const logger = new Logger((scope) => (level, message) => {
    if ((scope as { label?: string }).label === "resilience") logs.push(`${level}: ${message}`);
  });
  const resilience = createResilienceMonitor({ instance: workerInstance(id), heartbeatMs });
  const settings = readConfig({
    MIDTRANS_BASE_URL: simulator.url,
    MIDTRANS_STATUS_ATTEMPTS: "1",
    MIDTRANS_STATUS_TIMEOUT_MS: "5000",
    MIDTRANS_BREAKER_FAILURES: String(FAILURES_TO_OPEN),
    MIDTRANS_BREAKER_HALF_OPEN_AFTER_MS: "600000",
  }).midtrans;
  const gateway = resilience.track("midtrans", (onStateChange) =>
    createMidtransGateway({ serverKey: TEST_MIDTRANS_SERVER_KEY, settings, onStateChange }),
  );
  await beforeStart?.(gateway);
  const runner = await startWorker(db.connections.worker, { pollInterval: 500, resilience, logger });
  runners.push(runner);
  return { id, runner, gateway, logs };
}

async function stopInstance(instance: Instance): Promise<void> {
  await instance.runner.stop();
  runners.splice(runners.indexOf(instance.runner), 1);
}

/** Opens the breaker: `FAILURES_TO_OPEN` status calls that Midtrans (the simulator) answers with 503. */
async function openBreaker(gateway: MidtransGateway): Promise<void> {
  await setFaults(simulator, { failNext: { count: FAILURES_TO_OPEN, status: 503, path: "/v2/" } });
  for (let i = 0; i < FAILURES_TO_OPEN; i++) await gateway.getPaymentStatus(`JW-reset-${i}`).catch(() => undefined);
  await clearFaults(simulator);
  expect(gateway.resilienceSnapshot().state).toBe("open");
}

type Row = { state: string; opened_at: string | null; updated_at: string; last_seen_at: string };
/** The instance's snapshot row as the database holds it (read directly: polling must not spend the admin's rate limit). */
async function rowOf(id: string): Promise<Row | undefined> {
  const [row] = await db.query<Row>(
    `select state, opened_at::text, updated_at::text, last_seen_at::text
       from app_private.breaker_snapshots where instance_id = $1 and breaker = 'midtrans'`,
    [id],
  );
  return row;
}

/** POST /rpc/reset_circuit_breaker {name: midtrans} as the admin, through PostgREST. */
async function requestReset(): Promise<{ requested_at: string; instances: string[] }> {
  const { status, body } = await api.request("/rpc/reset_circuit_breaker", {
    method: "POST",
    body: JSON.stringify({ name: "midtrans" }),
    token: admin.token,
  });
  if (status !== 200) throw new Error(`reset_circuit_breaker answered ${status} ${JSON.stringify(body)}`);
  return body as { requested_at: string; instances: string[] };
}

const controlBackends = async (id: string) =>
  (
    await db.query<{ n: number }>(
      "select count(*)::int as n from pg_stat_activity where datname = current_database() and application_name = $1",
      [controlApplicationName(id)],
    )
  )[0]!.n;

/**
 * Cuts the instance's control connection and keeps it from coming back
 * until the returned function is called: a login event trigger refuses
 * connections with its application_name, then its backend is terminated.
 * Resolves once pg-listen has tried to reconnect and been refused.
 */
async function cutControlConnection(instance: Instance): Promise<() => Promise<void>> {
  await db.query(`create function public.refuse_control_login() returns event_trigger language plpgsql as $$
    begin
      if current_setting('application_name') = ${`'${controlApplicationName(instance.id)}'`} then
        raise exception 'control connection refused by the test';
      end if;
    end $$`);
  // Every login runs it (function EXECUTE is not granted to PUBLIC by default here).
  await db.query("grant execute on function public.refuse_control_login() to public");
  await db.query("create event trigger refuse_control_login on login execute function public.refuse_control_login()");
  const restore = async () => {
    await db.query("drop event trigger if exists refuse_control_login");
    await db.query("drop function if exists public.refuse_control_login()");
  };
  try {
    const listening = await db.query<{ pid: number }>(
      "select pid from pg_stat_activity where datname = current_database() and application_name = $1",
      [controlApplicationName(instance.id)],
    );
    expect(listening).toHaveLength(1);
    await db.query("select pg_terminate_backend($1)", [listening[0]!.pid]);
    // pg-listen says when it tries again; a second attempt means the first was refused.
    await until("the control channel's reconnection refused", async () =>
      instance.logs.includes("warning: control channel: reconnecting (attempt 2)") ? true : undefined,
    );
    expect(await controlBackends(instance.id)).toBe(0);
  } catch (error) {
    await restore();
    throw error;
  }
  return restore;
}

const resetLines = (instance: Instance) => instance.logs.filter((l) => /reset the midtrans breaker/.test(l));

let base: Instance;

beforeAll(async () => {
  db = await createSeededDatabase();
  api = await startApi(db);
  simulator = await startTestSimulator({ serverKey: TEST_MIDTRANS_SERVER_KEY });
  admin = await createAdmin(api, db);
  // An instance running throughout, so that the breaker is known to the API.
  base = await startInstance("worker-base", 1_000);
  await until("worker-base reported", async () => (await rowOf("worker-base")) ?? undefined);
});

afterAll(async () => {
  for (const runner of [...runners]) await runner.stop().catch(() => undefined);
  await db?.query("drop event trigger if exists refuse_control_login").catch(() => undefined);
  await simulator?.stop();
  await api?.stop();
  await db?.drop();
});

describe("a reset sent while an instance's control connection is down", () => {
  test("is applied on the instance's next heartbeat, from the recorded request, and only once", async () => {
    const HEARTBEAT_MS = 1_000;
    const e = await startInstance("worker-e", HEARTBEAT_MS);
    try {
      await openBreaker(e.gateway);
      await until("worker-e open in the database", async () =>
        (await rowOf("worker-e"))?.state === "open" ? true : undefined,
      );
      const restore = await cutControlConnection(e);
      try {
        const sent = Date.now();
        const reset = await requestReset();
        // The API counts it reached (the instance is alive: it keeps beating on its other connection).
        expect(reset.instances).toContain("worker-e");
        await until("worker-e closed", async () =>
          e.gateway.resilienceSnapshot().state === "closed" && (await rowOf("worker-e"))?.state === "closed"
            ? true
            : undefined,
        );
        // About one heartbeat after the request (generous: the machine is shared).
        expect(Date.now() - sent).toBeLessThan(2 * HEARTBEAT_MS + 3_000);
        // Its listener was still down: the request came from the database, not a NOTIFY.
        expect(await controlBackends("worker-e")).toBe(0);
        expect(resetLines(e)).toEqual([
          `info: reset the midtrans breaker as requested at ${new Date(reset.requested_at).toISOString()} (found on a snapshot write)`,
        ]);
        expect((await rowOf("worker-e"))!.opened_at).toBeNull();
      } finally {
        await restore();
      }
      // Back: the reconnection's check and later beats find the same request, already applied.
      await until("worker-e's control channel reconnected", async () =>
        (await controlBackends("worker-e")) === 1 && e.logs.includes("info: control channel: reconnected")
          ? true
          : undefined,
      );
      const seen = (await rowOf("worker-e"))!.last_seen_at;
      await until("two more beats of worker-e", async () => {
        const row = await rowOf("worker-e");
        return row && new Date(row.last_seen_at).getTime() >= new Date(seen).getTime() + 2 * HEARTBEAT_MS
          ? true
          : undefined;
      });
      expect(resetLines(e)).toHaveLength(1);
    } finally {
      await stopInstance(e);
    }
  });

  test("is applied as soon as the control connection is back, without waiting for the heartbeat", async () => {
    // A beat of a minute: only the reconnection can bring the request in time.
    const f = await startInstance("worker-f", 60_000);
    try {
      await openBreaker(f.gateway);
      await until("worker-f open in the database", async () =>
        (await rowOf("worker-f"))?.state === "open" ? true : undefined,
      );
      const restore = await cutControlConnection(f);
      let restored = false;
      try {
        const reset = await requestReset();
        expect(reset.instances).toContain("worker-f");
        // Nothing has brought it the request yet.
        expect(f.gateway.resilienceSnapshot().state).toBe("open");
        const back = Date.now();
        await restore();
        restored = true;
        await until("worker-f closed", async () =>
          f.gateway.resilienceSnapshot().state === "closed" && (await rowOf("worker-f"))?.state === "closed"
            ? true
            : undefined,
        );
        // pg-listen retries every 5 s at most; the beat would have taken a minute.
        expect(Date.now() - back).toBeLessThan(20_000);
        const reconnected = f.logs.indexOf("info: control channel: reconnected");
        const applied = f.logs.findIndex((l) => /reset the midtrans breaker/.test(l));
        expect(reconnected).toBeGreaterThanOrEqual(0);
        expect(applied).toBeGreaterThan(reconnected);
        expect(resetLines(f)).toEqual([
          `info: reset the midtrans breaker as requested at ${new Date(reset.requested_at).toISOString()} (found on a snapshot write)`,
        ]);
      } finally {
        if (!restored) await restore();
      }
    } finally {
      await stopInstance(f);
    }
  });
});

describe("which requests an instance applies", () => {
  test("a request older than the instance does not reset it", async () => {
    const reset = await requestReset();
    const [recorded] = await db.query<{ requested_at: string }>(
      "select to_json(requested_at) #>> '{}' as requested_at from app_private.breaker_reset_requests where breaker = 'midtrans'",
    );
    expect(new Date(recorded!.requested_at).getTime()).toBe(new Date(reset.requested_at).getTime());
    // The breaker opens before the instance's monitor starts, so its very first
    // snapshot write (which answers with the request) could close it.
    const HEARTBEAT_MS = 400;
    const g = await startInstance("worker-g", HEARTBEAT_MS, openBreaker);
    try {
      const first = await until("worker-g reported open", async () => {
        const row = await rowOf("worker-g");
        return row?.state === "open" ? row : undefined;
      });
      await until("three beats of worker-g", async () => {
        const row = await rowOf("worker-g");
        return row && new Date(row.last_seen_at).getTime() >= new Date(first.last_seen_at).getTime() + 3 * HEARTBEAT_MS
          ? true
          : undefined;
      });
      expect(g.gateway.resilienceSnapshot().state).toBe("open");
      expect(await rowOf("worker-g")).toMatchObject({ state: "open", opened_at: first.opened_at });
      expect(resetLines(g)).toEqual([]);
    } finally {
      await stopInstance(g);
    }
  });

  test("a request is applied once: a breaker that opens again after it stays open through later beats", async () => {
    const HEARTBEAT_MS = 400;
    const h = await startInstance("worker-h", HEARTBEAT_MS);
    try {
      await openBreaker(h.gateway);
      const reset = await requestReset();
      await until("worker-h closed by the NOTIFY", async () =>
        (await rowOf("worker-h"))?.state === "closed" ? true : undefined,
      );
      expect(resetLines(h)).toEqual([
        `info: reset the midtrans breaker as requested by ${admin.user.id} at ${new Date(reset.requested_at).toISOString()} (notified)`,
      ]);
      // New failures open it again; every beat's write answers with the same request.
      await openBreaker(h.gateway);
      const reopened = await until("worker-h open again", async () => {
        const row = await rowOf("worker-h");
        return row?.state === "open" ? row : undefined;
      });
      await until("three beats of worker-h", async () => {
        const row = await rowOf("worker-h");
        return row &&
          new Date(row.last_seen_at).getTime() >= new Date(reopened.last_seen_at).getTime() + 3 * HEARTBEAT_MS
          ? true
          : undefined;
      });
      expect(h.gateway.resilienceSnapshot().state).toBe("open");
      // No snapshot churn: the beats changed no figure.
      expect(await rowOf("worker-h")).toMatchObject({
        state: "open",
        opened_at: reopened.opened_at,
        updated_at: reopened.updated_at,
      });
      expect(resetLines(h)).toHaveLength(1);
      // The base instance, listening all along, applied each request once too.
      expect(resetLines(base).filter((l) => l.includes(new Date(reset.requested_at).toISOString()))).toHaveLength(1);
    } finally {
      await stopInstance(h);
    }
  });
});
