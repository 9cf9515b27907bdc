/**
 * `npm run bench:realtime` on a tiny run, so that the benchmark cannot rot:
 * its accounts on a test database, the hub in a child process of its own
 * (as the benchmark runs it) and the bare ws server, real `ws` clients, each
 * scenario (own events, broadcasts, the capacity ramp, the LISTEN/NOTIFY
 * baseline) and the report. Nothing here is timed: the counts must be exact
 * and the figures present and consistent.
 */
import { Client } from "pg";
import { createCleanup } from "../../bench/cleanup";
import { measureListenNotify } from "../../bench/listen-notify-baseline";
import { fanoutTrigger, runBroadcasts, sqlBroadcast } from "../../bench/realtime-broadcast";
import { runCapacity } from "../../bench/realtime-capacity";
import { closeSockets, connectSockets, type BenchSocket } from "../../bench/realtime-clients";
import { runOwnEvents } from "../../bench/realtime-own-events";
import { formatRealtimeReport } from "../../bench/realtime-report";
import { startFanoutChild, startHubChild } from "../../bench/realtime-server-child";
import { realtimeStackOn, type RealtimeStack } from "../../bench/realtime-stack";
import { pidIsAlive } from "../../services/child-process";
import { createSeededDatabase, type TestDatabase } from "../helpers/database";
import { TEST_JWT_SECRET } from "../setup/cluster";

jest.setTimeout(180_000);

const cleanup = createCleanup();
const log = () => undefined;
let db: TestDatabase;
let stack: RealtimeStack;
let admin: Client;
const sockets: BenchSocket[] = [];

beforeAll(async () => {
  db = await createSeededDatabase();
  stack = await realtimeStackOn({ connections: db.connections, jwtSecret: TEST_JWT_SECRET });
  admin = new Client({ connectionString: db.connections.superuser });
  await admin.connect();
});

afterAll(async () => {
  await closeSockets(sockets.splice(0));
  await cleanup.runAll();
  await admin?.end();
  await db?.drop();
});

test("every scenario on 6 sockets: exact counts, every figure present, the report names them", async () => {
  const [baselineUser, ...users] = await stack.createClients(7);
  const baseline = await measureListenNotify(db.connections.superuser, baselineUser!.userId, 5);
  expect(baseline).toMatchObject({ samples: 5, lost: 0 });
  expect(baseline.fromCommitSent.count).toBe(5);
  // Sent before it returned: heard no earlier from the one than from the other.
  expect(baseline.fromCommitSent.p50).toBeGreaterThanOrEqual(baseline.fromCommitReturned.p50);

  const bare = await startFanoutChild(cleanup, log);
  const bareIdle = await bare.memory();
  sockets.push(
    ...(await connectSockets(bare.url, users, { concurrency: 3, timeoutMs: 20_000, stopAfterFailures: 1 })).sockets,
  );
  expect(sockets).toHaveLength(6);
  const bareHeld = await bare.memory();
  expect(bareHeld.sockets).toBe(6);
  const fanout = await runBroadcasts(
    fanoutTrigger(sockets),
    "fanout",
    sockets,
    { rounds: 2, pauseMs: 10, timeoutMs: 10_000 },
    log,
  );
  expect(fanout).toMatchObject({ reached: 12, expected: 12, duplicates: 0 });
  await closeSockets(sockets.splice(0));
  await bare.stop();

  const hub = await startHubChild(
    { workerDatabaseUrl: db.connections.worker, jwtSecret: TEST_JWT_SECRET },
    cleanup,
    log,
  );
  const connected = await connectSockets(hub.url, users, { concurrency: 3, timeoutMs: 20_000, stopAfterFailures: 1 });
  expect([...connected.failures]).toEqual([]);
  sockets.push(...connected.sockets);

  const [step] = await runOwnEvents(
    db.connections.superuser,
    sockets,
    { rates: [60], seconds: 1, settleMs: 10_000, writers: 2 },
    { hub: hub.pid, postmaster: undefined },
    log,
  );
  expect(step!.committed).toBeGreaterThanOrEqual(50);
  expect(step).toMatchObject({
    delivered: step!.committed,
    missing: 0,
    duplicates: 0,
    foreign: 0,
    failedTransactions: 0,
  });
  expect(step!.latency.count).toBe(step!.committed);
  expect(step!.deliveredPerSecond).toBeGreaterThan(0);
  expect(step!.cpu.hub).toBeDefined();

  const broadcast = sqlBroadcast(admin, stack.adminId, "Siaran uji");
  const broadcasts = await runBroadcasts(
    broadcast,
    "admin_broadcast",
    sockets,
    { rounds: 2, pauseMs: 10, timeoutMs: 10_000 },
    log,
  );
  expect(broadcasts).toMatchObject({ reached: 12, expected: 12, duplicates: 0 });
  expect(
    broadcasts.rounds.every((r) => r.lastMs !== undefined && r.firstMs !== undefined && r.lastMs >= r.firstMs),
  ).toBe(true);
  await closeSockets(sockets.splice(0));
  // The hub's stop closes what is left and exits.
  await hub.stop();
  expect(pidIsAlive(hub.pid)).toBe(false);

  const fresh = await startHubChild(
    { workerDatabaseUrl: db.connections.worker, jwtSecret: TEST_JWT_SECRET },
    cleanup,
    log,
  );
  const capacity = await runCapacity(
    fresh,
    broadcast,
    (count) => stack.createClients(count),
    { steps: [4, 8], concurrency: 4, broadcastTimeoutMs: 10_000 },
    sockets,
    log,
  );
  expect(capacity.stoppedBy).toBeUndefined();
  expect(capacity.mostSocketsHeld).toBe(8);
  expect(capacity.steps.map((s) => [s.target, s.hubSockets, s.broadcast.reached, s.passed])).toEqual([
    [4, 4, 4, true],
    [8, 8, 8, true],
  ]);
  expect(capacity.idle.vmRss).toBeGreaterThan(0);
  expect(capacity.openFilesLimit.hub).toBeGreaterThan(0);
  await closeSockets(sockets.splice(0));
  await fresh.stop();

  const report = formatRealtimeReport({
    at: "2026-01-01T00:00:00.000Z",
    loadAverage: { start: 1, end: 1 },
    settings: {
      clients: 6,
      rates: [60],
      seconds: 1,
      rounds: 2,
      socketSteps: [4, 8],
      connectConcurrency: 3,
      baselineSamples: 5,
    },
    baseline: { before: baseline, after: baseline },
    bare: { idle: bareIdle, held: bareHeld, sockets: 6, fanout },
    ownEvents: [step!],
    broadcasts,
    closedDuringScenarios: 0,
    capacity,
  });
  expect(report).toContain(`| ${step!.committed} / ${step!.committed} | 0 / 0 / 0 |`);
  expect(report).toContain("| broadcast to 6 sockets, 2 rounds | 12 / 12 | 0 / 0 / – |");
  expect(report).toContain("| 8 | 8 |");
  expect(report).toContain("Most sockets held by one hub process with a broadcast reaching all of them: 8");
});
