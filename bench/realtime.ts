/**
 * `npm run bench:realtime`: the WebSocket hub's commit-to-client latency,
 * throughput and capacity (issue 9), against baselines measured in the same
 * run (the machine is shared and noisy): PostgreSQL's own LISTEN/NOTIFY of
 * the same commit, and a bare `ws` server's fan-out and memory per socket.
 *
 *   REALTIME_BENCH_CLIENTS=1000              sockets (one per client user) of the latency scenarios
 *   REALTIME_BENCH_RATES=200,1000,3000       own events: events per second committed, one step each
 *   REALTIME_BENCH_SECONDS=5                 own events: seconds of committing per step
 *   REALTIME_BENCH_ROUNDS=10                 broadcast rounds (hub, and the bare server's)
 *   REALTIME_BENCH_SOCKET_STEPS=1000,2000,5000,10000   capacity ramp (clipped to the cap)
 *   REALTIME_BENCH_MAX_SOCKETS=15000         capacity ramp: the cap, always its last step
 *   REALTIME_BENCH_CONNECT_CONCURRENCY=100   sockets connecting at once
 *   REALTIME_BENCH_BASELINE_SAMPLES=200      LISTEN/NOTIFY round trips, before and after the scenarios
 *
 * Order: LISTEN/NOTIFY baseline; the bare server (memory, fan-out); a hub
 * process with one socket per client: own events at each rate, broadcasts;
 * a fresh hub process for the capacity ramp; the LISTEN/NOTIFY baseline
 * again. It boots its own stack (bench/realtime-stack.ts: embedded
 * PostgreSQL in a temporary directory; the servers in child processes of
 * their own, bench/realtime-server-child.ts), prints a Markdown report and
 * writes it to bench/results/realtime-latest.md; everything it started is
 * stopped and the directory removed at the end, on failure and on Ctrl-C
 * too. It exits with 1 when an event was lost, duplicated or delivered to
 * another user, or a socket of the latency scenarios closed.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Client } from "pg";
import { runWithCleanup } from "./cleanup";
import { measureListenNotify } from "./listen-notify-baseline";
import { fanoutTrigger, runBroadcasts, sqlBroadcast } from "./realtime-broadcast";
import { runCapacity } from "./realtime-capacity";
import { closeSockets, connectSockets, type BenchSocket } from "./realtime-clients";
import { formatRealtimeReport, type RealtimeSettings } from "./realtime-report";
import { startFanoutChild, startHubChild } from "./realtime-server-child";
import { runOwnEvents } from "./realtime-own-events";
import { startRealtimeStack, type BenchUser } from "./realtime-stack";

function whole(name: string, fallback: number, min = 1): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min) throw new Error(`${name} must be a whole number ≥ ${min} (got ${raw})`);
  return value;
}

function wholeList(name: string, fallback: number[]): number[] {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const values = raw.split(",").map((v) => Number(v.trim()));
  if (!values.length || values.some((v) => !Number.isInteger(v) || v < 1))
    throw new Error(`${name} must list whole numbers ≥ 1, separated by commas (got ${raw})`);
  return values;
}

function readSettings(): RealtimeSettings {
  const maxSockets = whole("REALTIME_BENCH_MAX_SOCKETS", 15_000);
  const steps = wholeList("REALTIME_BENCH_SOCKET_STEPS", [1_000, 2_000, 5_000, 10_000]).filter((n) => n < maxSockets);
  return {
    clients: whole("REALTIME_BENCH_CLIENTS", 1_000),
    rates: wholeList("REALTIME_BENCH_RATES", [200, 1_000, 3_000]),
    seconds: whole("REALTIME_BENCH_SECONDS", 5),
    rounds: whole("REALTIME_BENCH_ROUNDS", 10),
    socketSteps: [...new Set([...steps, maxSockets])].sort((a, b) => a - b),
    connectConcurrency: whole("REALTIME_BENCH_CONNECT_CONCURRENCY", 100),
    baselineSamples: whole("REALTIME_BENCH_BASELINE_SAMPLES", 200),
  };
}

/** Connects a socket per user, or fails the run (the latency scenarios need every one). */
async function connectAll(url: string, users: BenchUser[], concurrency: number): Promise<BenchSocket[]> {
  const connected = await connectSockets(url, users, { concurrency, timeoutMs: 30_000, stopAfterFailures: 1 });
  if (connected.failures.size) {
    await closeSockets(connected.sockets);
    throw new Error(`sockets failed to connect: ${[...connected.failures].map(([r, n]) => `${n} × ${r}`).join("; ")}`);
  }
  return connected.sockets;
}

void runWithCleanup(async (cleanup) => {
  const settings = readSettings();
  const at = new Date().toISOString();
  const loadAtStart = os.loadavg()[0]!;
  const log = (line: string) => console.log(`[bench:realtime] ${line}`);
  const stack = await startRealtimeStack(cleanup, log);
  const hubEnv = { workerDatabaseUrl: stack.connections.worker, jwtSecret: stack.jwtSecret };
  const admin = new Client({ connectionString: stack.connections.superuser });
  await admin.connect();
  cleanup.add("the admin's connection", () => admin.end());
  const broadcast = sqlBroadcast(admin, stack.adminId, "Siaran uji");
  const [baselineUser] = await stack.createClients(1);
  const users = await stack.createClients(settings.clients);
  const sockets: BenchSocket[] = [];
  cleanup.add("the sockets", () => closeSockets(sockets.splice(0)));

  log(`baseline: ${settings.baselineSamples} LISTEN/NOTIFY round trips…`);
  const baselineBefore = await measureListenNotify(
    stack.connections.superuser,
    baselineUser!.userId,
    settings.baselineSamples,
  );

  // Baseline of the fan-out and of memory per socket: a bare ws server, the same clients.
  const bare = await startFanoutChild(cleanup, log);
  const bareIdle = await bare.memory();
  sockets.push(...(await connectAll(bare.url, users, settings.connectConcurrency)));
  const bareHeld = await bare.memory();
  const fanout = await runBroadcasts(
    fanoutTrigger(sockets),
    "fanout",
    sockets,
    { rounds: settings.rounds, pauseMs: 300, timeoutMs: 15_000 },
    log,
  );
  await closeSockets(sockets.splice(0));
  await bare.stop();

  // The latency scenarios: one hub process, one socket per client user.
  let hub = await startHubChild(hubEnv, cleanup, log);
  log(`connecting ${users.length} sockets to the hub…`);
  sockets.push(...(await connectAll(hub.url, users, settings.connectConcurrency)));
  const ownEvents = await runOwnEvents(
    stack.connections.superuser,
    sockets,
    { rates: settings.rates, seconds: settings.seconds, settleMs: 10_000, writers: 8 },
    { hub: hub.pid, postmaster: stack.postmasterPid },
    log,
  );
  const broadcasts = await runBroadcasts(
    broadcast,
    "admin_broadcast",
    sockets,
    { rounds: settings.rounds, pauseMs: 300, timeoutMs: 15_000 },
    log,
  );
  const closedDuringScenarios = sockets.filter((s) => s.closeCode !== undefined).length;
  await closeSockets(sockets.splice(0));
  await hub.stop();

  // The capacity ramp: a fresh hub process, so that its memory before the sockets is an idle hub's.
  hub = await startHubChild(hubEnv, cleanup, log);
  const capacity = await runCapacity(
    hub,
    broadcast,
    (count) => stack.createClients(count),
    { steps: settings.socketSteps, concurrency: settings.connectConcurrency, broadcastTimeoutMs: 30_000 },
    sockets,
    log,
  );
  await closeSockets(sockets.splice(0));
  await hub.stop();

  log(`baseline: ${settings.baselineSamples} LISTEN/NOTIFY round trips again…`);
  const baselineAfter = await measureListenNotify(
    stack.connections.superuser,
    baselineUser!.userId,
    settings.baselineSamples,
  );

  const block = formatRealtimeReport({
    at,
    loadAverage: { start: loadAtStart, end: os.loadavg()[0]! },
    settings,
    baseline: { before: baselineBefore, after: baselineAfter },
    bare: { idle: bareIdle, held: bareHeld, sockets: users.length, fanout },
    ownEvents,
    broadcasts,
    closedDuringScenarios,
    capacity,
  });
  fs.mkdirSync(path.join(__dirname, "results"), { recursive: true });
  fs.writeFileSync(path.join(__dirname, "results", "realtime-latest.md"), `${block}\n`);
  console.log(`\n${block}\n\nwritten to bench/results/realtime-latest.md`);
  const lost =
    ownEvents.some((s) => s.missing || s.duplicates || s.foreign || s.failedTransactions) ||
    broadcasts.reached < broadcasts.expected ||
    broadcasts.duplicates > 0 ||
    closedDuringScenarios > 0;
  if (lost) {
    console.log("some events were lost, duplicated or misdelivered, or sockets closed: see the report");
    process.exitCode = 1;
  }
});
