/**
 * PostgreSQL restarted while clients are connected to the hub, on a server of
 * this file's own (tests/helpers/restartable-postgres.ts), with PostgREST and
 * the hub as the worker process runs it (`node --import tsx stack/worker.ts`):
 * the sockets stay open over the outage, /health says what is down, the hub
 * reconnects by itself, events committed after the server is back (also
 * before the hub LISTENs again) are delivered, an ack sent during the outage
 * is recorded once the server is back, and the process does not crash.
 *
 * "Before the hub LISTENs again" is made certain, not left to a race: a login
 * event trigger of this test refuses the hub's LISTEN connection (application
 * name "jasaweb realtime listener") while the database setting
 * jasaweb_test.hold_listener is on, so the listener stays away after the
 * restart until the test lets it in.
 */
import { spawn, type ChildProcess } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import { Pool, type QueryResultRow } from "pg";
import { projectRoot } from "../../config/paths";
import { withClient } from "../../db/pg";
import { prepareDatabase } from "../../db/prepare";
import { APPLICATION_NAMES } from "../../realtime/database";
import { CLOSE_CODES } from "../../realtime/close-codes";
import { temporaryDataDir } from "../../services/embedded-postgres";
import { startApi, type TestApi } from "../helpers/api";
import { createAdmin, registerClient, type SignedIn } from "../helpers/auth";
import type { TestDatabase } from "../helpers/database";
import { connectHub, refusedUpgrade, type HubClient } from "../helpers/realtime-client";
import { startRestartablePostgres, type RestartablePostgres } from "../helpers/restartable-postgres";
import { until } from "../helpers/until";
import { freePort, TEST_CREDENTIALS_KEY, TEST_JWT_SECRET, TEST_PASSWORDS } from "../setup/cluster";

const DATABASE = "jasaweb_realtime_restart";
const SUPERUSER_PASSWORD = "realtime-restart-superuser-password";

let dataDir: string;
let pgPort: number;
let server: RestartablePostgres | undefined;
let pool: Pool;
let db: TestDatabase;
let api: TestApi;
let worker: ChildProcess | undefined;
let workerExited: Promise<number | null>;
let workerOutput = "";
let hubUrl: string;
let healthUrl: string;
let alice: SignedIn;
let admin: SignedIn;
const open: HubClient[] = [];

beforeAll(async () => {
  dataDir = temporaryDataDir("jasaweb-realtime-restart-test");
  pgPort = await freePort();
  server = await startRestartablePostgres(dataDir, pgPort, SUPERUSER_PASSWORD);
  await withClient(server.url("postgres"), (c) => c.query(`create database ${DATABASE}`));
  const superuserUrl = server.url(DATABASE);
  const prepared = await prepareDatabase({
    superuserUrl,
    passwords: TEST_PASSWORDS,
    settings: { jwtSecret: TEST_JWT_SECRET, credentialsKey: TEST_CREDENTIALS_KEY },
    seed: { adminEmail: "admin@jasaweb.id", adminPassword: "admin-password-1" },
  });
  pool = new Pool({ connectionString: superuserUrl, max: 2 });
  // A restart breaks idle connections; pg drops them and connects anew.
  pool.on("error", () => undefined);
  db = {
    name: DATABASE,
    url: superuserUrl,
    connections: prepared.connections,
    pool,
    async query<R extends QueryResultRow>(sql: string, params?: unknown[]) {
      return (await pool.query<R>(sql, params)).rows;
    },
    drop: async () => undefined,
  };
  // The test's own gate for the hub's LISTEN connection (see the top of the file).
  await db.query(`
    create function public.test_hold_realtime_listener() returns event_trigger language plpgsql as $$
    begin
      if current_setting('application_name') = '${APPLICATION_NAMES.listener}'
         and current_setting('jasaweb_test.hold_listener', true) = 'on' then
        raise exception 'the test holds the realtime listener back';
      end if;
    end $$`);
  await db.query(
    "create event trigger test_hold_realtime_listener on login execute function public.test_hold_realtime_listener()",
  );
  api = await startApi(db);

  const port = await freePort();
  const { DATABASE_URL: _ignored, ...inherited } = process.env;
  worker = spawn(process.execPath, ["--import", "tsx", "stack/worker.ts"], {
    cwd: projectRoot,
    env: {
      ...inherited,
      WORKER_DATABASE_URL: prepared.connections.worker,
      JWT_SECRET: TEST_JWT_SECRET,
      REALTIME_PORT: String(port),
      // Token re-checks run during the outage too; they must leave the sockets alone.
      REALTIME_TOKEN_RECHECK_MS: "200",
      WORKER_SHUTDOWN_TIMEOUT_MS: "1500",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  worker.stdout!.on("data", (chunk: Buffer) => (workerOutput += chunk.toString()));
  worker.stderr!.on("data", (chunk: Buffer) => (workerOutput += chunk.toString()));
  workerExited = new Promise((resolve) => worker!.on("exit", (code) => resolve(code)));
  await until("the worker's hub to start", async () => {
    if (worker!.exitCode !== null) throw new Error(`the worker exited:\n${workerOutput}`);
    return workerOutput.includes("worker: realtime hub on") ? true : undefined;
  });
  hubUrl = `ws://127.0.0.1:${port}/realtime`;
  healthUrl = `http://127.0.0.1:${port}/health`;
  alice = await registerClient(api);
  admin = await createAdmin(api, db);
}, 120_000);

afterEach(async () => {
  // A test that failed while holding the listener back must not hold it for the next one.
  if (server) await db.query(`alter database ${DATABASE} reset jasaweb_test.hold_listener`).catch(() => undefined);
});
afterAll(async () => {
  await Promise.all(open.splice(0).map((c) => c.close()));
  if (worker && worker.exitCode === null) {
    worker.kill("SIGKILL");
    await workerExited;
  }
  await api?.stop();
  await pool?.end();
  await server?.stop();
  if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
}, 60_000);

/** Waits with the worker's recent output in the error. */
async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  try {
    return await until(
      what,
      async () => {
        try {
          return await probe();
        } catch {
          return undefined; // the database is away: not yet
        }
      },
      timeoutMs,
    );
  } catch (error) {
    throw new Error(`${(error as Error).message}\nworker output:\n${workerOutput.slice(-3000)}`);
  }
}

const connect = async (who: SignedIn): Promise<HubClient> => {
  const client = await connectHub(hubUrl, who.token);
  open.push(client);
  await client.waitFor((f) => f.type === "replayed");
  return client;
};

type Health = { status: string; database: boolean; listening: boolean; sockets: number };
async function health(): Promise<{ code: number; body: Health }> {
  const response = await fetch(healthUrl);
  return { code: response.status, body: (await response.json()) as Health };
}
/** Waits until /health answers with `expected`; the last answer (or failure) is in the error. */
async function healthBecomes(what: string, expected: Partial<Health>) {
  let last: unknown;
  try {
    return await waitFor(what, async () => {
      last = await health().catch((error: Error) => `failed: ${error.message}`);
      if (typeof last === "string") return undefined;
      const answer = last as { code: number; body: Health };
      return Object.entries(expected).every(([key, value]) => answer.body[key as keyof Health] === value)
        ? answer
        : undefined;
    });
  } catch (error) {
    throw new Error(`${(error as Error).message}\nlast /health answer: ${JSON.stringify(last)}`);
  }
}

/** A notification for the user, committed by the superuser pool; resolves with its outbox message id. */
async function notify(userId: string, title: string): Promise<number> {
  const [notification] = await db.query<{ id: string }>(
    `insert into api.real_time_notifications (user_id, type, title, message)
     values ($1, 'new_feature', $2, 'Isi pemberitahuan.') returning id`,
    [userId, title],
  );
  const [row] = await db.query<{ id: string }>(
    "select id from app_private.realtime_messages where payload ->> 'notification_id' = $1",
    [notification!.id],
  );
  if (!row) throw new Error("the notification wrote no outbox message");
  return Number(row.id);
}

/**
 * The hub's LISTEN connections that are logged in (idle between notifications); a held-back
 * attempt shows in pg_stat_activity too while its login trigger runs, but never idle.
 */
const listenersLoggedIn = async (): Promise<number> => {
  const [row] = await db.query<{ n: number }>(
    `select count(*)::int as n from pg_stat_activity
      where datname = current_database() and application_name = $1 and state = 'idle'`,
    [APPLICATION_NAMES.listener],
  );
  return row!.n;
};

const hasEvent = (client: HubClient, id: number) => client.waitFor((f) => f.type === "event" && f.id === id, 60_000);

test("PostgreSQL stopped (fast shutdown) and started again: sockets stay open, /health tells, events committed before the hub LISTENs again arrive, an ack sent during the outage is recorded", async () => {
  const a = await connect(alice);
  const adm = await connect(admin);
  const before = await notify(alice.user.id, "Sebelum gangguan");
  await hasEvent(a, before);
  expect(await health()).toEqual({
    code: 200,
    body: { status: "ok", database: true, listening: true, sockets: 2 },
  });

  // The listener will be kept out after the restart (new sessions read the setting).
  await db.query(`alter database ${DATABASE} set jasaweb_test.hold_listener = 'on'`);
  await server!.stop();
  const stoppedServer = server;
  server = undefined;
  expect(stoppedServer).toBeDefined();

  // During the outage: the sockets stay open; what needs the database is refused, not fatal.
  a.send({ type: "ack", id: before });
  expect(await healthBecomes("/health to report the outage", { database: false, listening: false })).toEqual({
    code: 503,
    body: { status: "unavailable", database: false, listening: false, sockets: 2 },
  });
  expect(await refusedUpgrade(hubUrl, alice.token)).toEqual({
    status: 503,
    body: expect.objectContaining({ code: "UNAVAILABLE" }),
  });
  const room = `project:${crypto.randomUUID()}`;
  a.send({ type: "join", room });
  expect(await a.waitFor((f) => f.type === "error")).toMatchObject({ code: "UNAVAILABLE" });
  // The ack's batch has failed at least once (and is kept for the next one); a token
  // re-check has failed too, and closed nothing.
  await waitFor("a failed write of the connection records and a failed token re-check", async () =>
    workerOutput.includes("realtime: writing connection records failed") &&
    workerOutput.includes("realtime: re-checking the open sockets' tokens failed")
      ? true
      : undefined,
  );
  expect([a.closed(), adm.closed()]).toEqual([undefined, undefined]);

  server = await startRestartablePostgres(dataDir, pgPort, SUPERUSER_PASSWORD);
  // Committed at once: the listener cannot be connected yet (held back), so this one
  // can only reach the sockets through the outbox feed catching up.
  const afterRestart = await notify(alice.user.id, "Segera setelah mulai lagi");
  expect(await listenersLoggedIn()).toBe(0);
  expect(await healthBecomes("the database back, the listener still away", { database: true })).toEqual({
    code: 503,
    body: { status: "unavailable", database: true, listening: false, sockets: 2 },
  });
  // PostgREST reconnects by itself; a broadcast through it, still before the LISTEN.
  const broadcast = await waitFor("a broadcast through PostgREST", async () => {
    const answer = await api.request("/rpc/admin_broadcast", {
      method: "POST",
      body: JSON.stringify({ title: "Setelah gangguan", message: "Sudah pulih." }),
      token: admin.token,
    });
    return answer.status === 200 ? (answer.body as { id: number }).id : undefined;
  });
  expect(await listenersLoggedIn()).toBe(0);

  await db.query(`alter database ${DATABASE} reset jasaweb_test.hold_listener`);
  expect(await healthBecomes("/health ok again", { status: "ok" })).toEqual({
    code: 200,
    body: { status: "ok", database: true, listening: true, sockets: 2 },
  });
  await waitFor("the listener logged in", async () => ((await listenersLoggedIn()) === 1 ? true : undefined));
  await hasEvent(a, afterRestart);
  await hasEvent(a, broadcast);
  await hasEvent(adm, broadcast);
  // Live again through NOTIFY.
  const live = await notify(alice.user.id, "Langsung");
  await hasEvent(a, live);

  // The ack sent while the server was down was written once it was back.
  await waitFor("the ack of the outage recorded", async () => {
    const [row] = await db.query<{ delivered: boolean }>(
      "select delivered_at is not null as delivered from app_private.realtime_deliveries where user_id = $1 and message_id = $2",
      [alice.user.id, before],
    );
    return row?.delivered ? true : undefined;
  });
  expect(a.closed()).toBeUndefined();
  expect(adm.closed()).toBeUndefined();
  // Each event once per socket, nothing invented.
  expect(a.events().map((e) => e.id)).toEqual([before, afterRestart, broadcast, live].sort((x, y) => x - y));

  // Reconnecting, alice is replayed exactly what she has not acked.
  a.send({ type: "ack", id: afterRestart });
  await waitFor("the ack recorded", async () => {
    const [row] = await db.query<{ delivered: boolean }>(
      "select delivered_at is not null as delivered from app_private.realtime_deliveries where user_id = $1 and message_id = $2",
      [alice.user.id, afterRestart],
    );
    return row?.delivered ? true : undefined;
  });
  const again = await connect(alice);
  expect(
    again
      .events()
      .map((e) => e.id)
      .sort((x, y) => Number(x) - Number(y)),
  ).toEqual([broadcast, live].sort((x, y) => x - y));
}, 180_000);

test("PostgreSQL crashes (immediate shutdown) and comes back: the hub recovers by itself, the process never crashed, SIGTERM still closes cleanly", async () => {
  const a = open.find((c) => c.closed() === undefined)!;
  await server!.crash();
  server = undefined;
  await healthBecomes("/health to report the crash", { database: false, listening: false });
  server = await startRestartablePostgres(dataDir, pgPort, SUPERUSER_PASSWORD);
  const afterCrash = await notify(alice.user.id, "Setelah crash");
  await hasEvent(a, afterCrash);
  await healthBecomes("/health ok after the crash", { status: "ok" });
  expect(a.closed()).toBeUndefined();

  expect(worker!.exitCode).toBeNull();
  expect(workerOutput).not.toMatch(/unhandled|uncaught/i);
  worker!.kill("SIGTERM");
  expect(await a.waitForClose()).toBe(CLOSE_CODES.goingAway);
  expect(await workerExited).toBe(0);
}, 120_000);
