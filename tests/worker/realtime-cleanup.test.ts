/**
 * realtime__cleanup run by the real worker (startWorker as app_worker) on a
 * real database: the connection row of a hub killed with SIGKILL (the
 * stand-alone worker process, `stack/worker.ts`, with its hub) is marked not
 * alive and loses its memberships, while the row of a socket on a live hub
 * (heartbeats answered) stays alive; rows dead for longer than the retention
 * go, in batches, with their memberships; expired outbox messages are pruned.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { projectRoot } from "../../config/paths";
import type { RealtimeHub } from "../../realtime/hub";
import { startWorker, createCrontab, type WorkerRunner } from "../../worker/runner";
import { startApi, type TestApi } from "../helpers/api";
import { registerClient, type SignedIn } from "../helpers/auth";
import { createSeededDatabase, type TestDatabase } from "../helpers/database";
import { connectHub, type HubClient } from "../helpers/realtime-client";
import { freePort, TEST_JWT_SECRET } from "../setup/cluster";
import { Logger } from "graphile-worker";
import { until } from "../helpers/until";
import { startTestHub } from "../helpers/test-hub";

const STALE_AFTER_MS = 2_000;
const RETENTION_MS = 60 * 60_000;

let db: TestDatabase;
let api: TestApi;
let hub: RealtimeHub;
let worker: WorkerRunner;
let alice: SignedIn;
let bob: SignedIn;
let child: ChildProcess | undefined;
const open: HubClient[] = [];

beforeAll(async () => {
  db = await createSeededDatabase();
  api = await startApi(db);
  // A live hub: pings every 250 ms, so its sockets' last_activity moves far more often than STALE_AFTER_MS.
  hub = await startTestHub(db.connections.worker, { heartbeatMs: 250 });
  worker = await startWorker(db.connections.worker, {
    pollInterval: 200,
    logger: new Logger(() => () => undefined),
    realtimeCleanup: { staleAfterMs: STALE_AFTER_MS, deadRetentionMs: RETENTION_MS, batchSize: 2 },
  });
  [alice, bob] = [await registerClient(api), await registerClient(api)];
});
afterAll(async () => {
  if (child && child.exitCode === null) child.kill("SIGKILL");
  await Promise.all(open.map((c) => c.close().catch(() => undefined)));
  await worker?.stop();
  await hub?.stop();
  await api?.stop();
  await db?.drop();
});

type ConnectionRow = { connection_id: string; is_alive: boolean; rooms: string[]; memberships: number };

const connectionsOf = (userId: string) =>
  db.query<ConnectionRow>(
    `select c.connection_id, c.is_alive, c.rooms,
            (select count(*)::int from api.websocket_room_memberships m where m.connection_id = c.connection_id) as memberships
       from api.websocket_connections c where c.user_id = $1 order by c.connected_at`,
    [userId],
  );

/** Queues a run and waits for the worker to finish it. */
async function runCleanup(): Promise<void> {
  const job = await worker.addJob("realtime__cleanup", {});
  await until("the cleanup job to finish", async () => {
    const rows = await db.query("select 1 from graphile_worker._private_jobs where id = $1", [job.id]);
    return rows.length ? undefined : true;
  });
}

test("is scheduled every few minutes, one run at a time", () => {
  expect(createCrontab()).toContain("*/5 * * * * realtime__cleanup ?max=1&jobKey=realtime__cleanup\n");
});

test("a socket of a hub killed with SIGKILL is marked not alive and leaves its rooms; a live hub's socket stays", async () => {
  // The stand-alone worker process with its hub, as `npm run worker` runs it.
  const port = await freePort();
  const { DATABASE_URL: _ignored, ...inherited } = process.env;
  child = spawn(process.execPath, ["--import", "tsx", "stack/worker.ts"], {
    cwd: projectRoot,
    env: {
      ...inherited,
      WORKER_DATABASE_URL: db.connections.worker,
      JWT_SECRET: TEST_JWT_SECRET,
      REALTIME_PORT: String(port),
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  await until(
    "the worker process's hub",
    async () => {
      if (child!.exitCode !== null) throw new Error(`the worker process ended:\n${output}`);
      return output.includes("worker: realtime hub on") ? true : undefined;
    },
    30_000,
  );
  const onKilled = await connectHub(`ws://127.0.0.1:${port}/realtime`, alice.token);
  open.push(onKilled);
  const onLive = await connectHub(hub.url, bob.token);
  open.push(onLive);
  const [killedRow] = await until("the killed hub's socket to be recorded", async () => {
    const rows = await connectionsOf(alice.user.id);
    return rows.length ? rows : undefined;
  });
  expect(killedRow).toMatchObject({ is_alive: true, rooms: [`user:${alice.user.id}`], memberships: 1 });

  const exited = new Promise((resolve) => child!.once("exit", resolve));
  child.kill("SIGKILL");
  await exited;
  await onKilled.waitForClose();
  // Nothing marked it: the hub died without stopping.
  expect(await connectionsOf(alice.user.id)).toEqual([killedRow]);

  // A run before the row is stale leaves it alone.
  await runCleanup();
  expect(await connectionsOf(alice.user.id)).toEqual([killedRow]);

  // Once its last activity is older than the threshold (the live hub's socket keeps answering pings meanwhile).
  await until("the killed hub's row to be stale", async () => {
    const [row] = await db.query<{ stale: boolean }>(
      "select last_activity < now() - make_interval(secs => $2) as stale from api.websocket_connections where connection_id = $1",
      [killedRow!.connection_id, STALE_AFTER_MS / 1000 + 0.5],
    );
    return row?.stale ? true : undefined;
  });
  await runCleanup();
  expect(await connectionsOf(alice.user.id)).toEqual([{ ...killedRow, is_alive: false, rooms: [], memberships: 0 }]);
  expect(await connectionsOf(bob.user.id)).toEqual([
    expect.objectContaining({ is_alive: true, rooms: [`user:${bob.user.id}`], memberships: 1 }),
  ]);
  // The live socket is untouched: still connected, still in its room.
  expect(onLive.closed()).toBeUndefined();
});

test("rows dead for longer than the retention go with their memberships, in batches; recent dead and live rows stay", async () => {
  const userId = alice.user.id;
  const insert = (id: string, alive: boolean, age: string) =>
    db.query(
      `with c as (
         insert into api.websocket_connections (connection_id, user_id, role, rooms, is_alive, connected_at, last_activity)
         values ($1, $2::uuid, 'client', array['user:' || $2::uuid::text], $3, now() - $4::interval, now() - $4::interval)
         returning connection_id)
       insert into api.websocket_room_memberships (connection_id, room_id) select connection_id, 'user:' || $2::uuid::text from c`,
      [id, userId, alive, age],
    );
  // Five long-dead rows: more than two batches of two, so several statements in one run.
  for (let i = 0; i < 5; i++) await insert(`old-dead-${i}`, false, "25 hours");
  await insert("recent-dead", false, "30 minutes");
  // Alive and recently active (a hub reporting it, as far as the table tells).
  await db.query(
    `insert into api.websocket_connections (connection_id, user_id, role, rooms) values ('fresh-alive', $1, 'client', '{}')`,
    [userId],
  );

  await runCleanup();
  const left = await db.query<{ connection_id: string; is_alive: boolean }>(
    `select connection_id, is_alive from api.websocket_connections
      where user_id = $1 and connection_id in ('recent-dead', 'fresh-alive')
         or connection_id like 'old-dead-%' order by connection_id`,
    [userId],
  );
  expect(left).toEqual([
    { connection_id: "fresh-alive", is_alive: true },
    { connection_id: "recent-dead", is_alive: false },
  ]);
  const memberships = await db.query<{ connection_id: string }>(
    "select connection_id from api.websocket_room_memberships where connection_id like 'old-dead-%' or connection_id = 'recent-dead'",
  );
  expect(memberships).toEqual([{ connection_id: "recent-dead" }]);
});

test("expired outbox messages are pruned; the others stay", async () => {
  const [expired, current] = await db.query<{ id: string }>(
    `insert into app_private.realtime_messages (event, rooms, payload, created_at, expires_at)
     values ('admin_broadcast', '{all}', '{"title": "lama"}', now() - interval '2 hours', now() - interval '1 minute'),
            ('admin_broadcast', '{all}', '{"title": "baru"}', now(), now() + interval '1 hour')
     returning id`,
  );
  await runCleanup();
  const left = await db.query<{ id: string }>("select id from app_private.realtime_messages where id = any($1)", [
    [expired!.id, current!.id],
  ]);
  expect(left).toEqual([{ id: current!.id }]);
});
