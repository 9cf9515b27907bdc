/**
 * The realtime benchmark's "own events" scenario: every connected user gets
 * events meant for them alone. The benchmark commits
 * api.real_time_notifications rows (the `notification` source: one outbox
 * message for room user:<id> per row) at a controlled rate, spread round
 * robin over the users, in one transaction per 10 ms tick (as the superuser,
 * from a small pool); each row's commit time is kept under its id, which the
 * event's payload carries (`notification_id`). Latency is the frame's
 * arrival minus the moment the COMMIT returned (one clock: this process).
 * Every event must reach its user's socket exactly once and no other; what
 * does not is counted, not hidden.
 */
import { Pool } from "pg";
import { childrenOf, openCpuWindow } from "./cpu-usage";
import { latencyStats, type LatencyStats } from "./latency-stats";
import { watchLoopDelay, type LoopDelay } from "./loop-delay";
import type { BenchSocket } from "./realtime-clients";

export type CpuCores = {
  hub: number | undefined;
  postgres: number | undefined;
  bench: number;
  machine: number | undefined;
};

export type OwnEventsStep = {
  /** Events per second asked for. */
  targetRate: number;
  /** Events committed ÷ seconds of committing. */
  committedRate: number;
  committed: number;
  transactions: number;
  /** Transactions that failed (their events are not expected). */
  failedTransactions: number;
  /** Events that reached their user's socket (first copies). */
  delivered: number;
  /** Committed events that never reached their user's socket within the settle time. */
  missing: number;
  /** Extra copies on the right socket. */
  duplicates: number;
  /** Copies that reached another user's socket (or events nobody committed in this step). */
  foreign: number;
  /** COMMIT returned → frame arrived, ms. */
  latency: LatencyStats;
  /** COMMIT sent → frame arrived, ms. */
  latencyFromCommitSent: LatencyStats;
  /** Delivered frames ÷ seconds from the first COMMIT sent to the last frame. */
  deliveredPerSecond: number;
  cpu: CpuCores;
  /** How late the benchmark's own event loop ran (its stamps are that uncertain). */
  loopDelay: LoopDelay;
};

export type OwnEventsSettings = {
  rates: number[];
  seconds: number;
  /** How long to wait after the last commit for frames still on their way. */
  settleMs: number;
  /** Connections committing in parallel. */
  writers: number;
};

type Committed = { socket: number; sent: number; returned: number };

const TICK_MS = 10;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));

export async function runOwnEvents(
  superuserUrl: string,
  sockets: BenchSocket[],
  settings: OwnEventsSettings,
  pids: { hub: number; postmaster: number | undefined },
  log: (line: string) => void,
): Promise<OwnEventsStep[]> {
  const pool = new Pool({ connectionString: superuserUrl, max: settings.writers });
  pool.on("error", () => undefined);
  const socketOfUser = new Map(sockets.map((s, index) => [s.userId, index]));
  try {
    // Open the writers' connections before anything is timed.
    await Promise.all(Array.from({ length: settings.writers }, () => pool.query("select 1")));
    const steps: OwnEventsStep[] = [];
    let nextUser = 0;
    for (const rate of settings.rates) {
      const expected = new Map<string, Committed>();
      const arrivals = new Map<string, { socket: number; at: number }[]>();
      sockets.forEach((socket, index) => {
        socket.onEvent = (event) => {
          if (event.event !== "notification") return;
          const id = String(event.payload.notification_id);
          let list = arrivals.get(id);
          if (!list) arrivals.set(id, (list = []));
          list.push({ socket: index, at: event.at });
        };
      });
      let transactions = 0;
      let failedTransactions = 0;
      let issued = 0;
      const inFlight = new Set<Promise<void>>();
      const commitBatch = async (userIds: string[]) => {
        const client = await pool.connect();
        try {
          await client.query("begin");
          const { rows } = await client.query<{ id: string; user_id: string }>(
            `insert into api.real_time_notifications (user_id, type, title, message)
             select u, 'system_announcement', 'Bench', 'Pesan uji' from unnest($1::uuid[]) u
             returning id, user_id`,
            [userIds],
          );
          const sent = performance.now();
          await client.query("commit");
          const returned = performance.now();
          transactions += 1;
          for (const row of rows) expected.set(row.id, { socket: socketOfUser.get(row.user_id)!, sent, returned });
        } catch (error) {
          failedTransactions += 1;
          await client.query("rollback").catch(() => undefined);
          log(`own events: a transaction failed: ${(error as Error).message}`);
        } finally {
          client.release();
        }
      };

      const cpu = openCpuWindow({
        hub: () => [pids.hub],
        postgres: () => (pids.postmaster === undefined ? [] : [pids.postmaster, ...childrenOf(pids.postmaster)]),
      });
      const loop = watchLoopDelay();
      const start = performance.now();
      const durationMs = settings.seconds * 1000;
      for (let tick = 1; tick * TICK_MS <= durationMs; tick++) {
        await sleep(start + tick * TICK_MS - performance.now());
        // What is owed by now: a late tick (a busy event loop) commits a larger batch.
        const owed = Math.floor((rate * Math.min(performance.now() - start, durationMs)) / 1000) - issued;
        if (owed <= 0) continue;
        const userIds = Array.from({ length: owed }, () => sockets[nextUser++ % sockets.length]!.userId);
        issued += owed;
        const done: Promise<void> = commitBatch(userIds).finally(() => inFlight.delete(done));
        inFlight.add(done);
      }
      await Promise.all(inFlight);
      const committingSeconds = (performance.now() - start) / 1000;
      const settleUntil = performance.now() + settings.settleMs;
      const reached = () => {
        let n = 0;
        for (const [id, c] of expected) if (arrivals.get(id)?.some((a) => a.socket === c.socket)) n += 1;
        return n;
      };
      while (reached() < expected.size && performance.now() < settleUntil) await sleep(50);
      const cores = cpu.end();
      const loopDelay = loop.stop();

      const latency: number[] = [];
      const fromSent: number[] = [];
      let missing = 0;
      let duplicates = 0;
      let foreign = 0;
      let firstSent = Number.POSITIVE_INFINITY;
      let lastArrival = Number.NEGATIVE_INFINITY;
      for (const [id, c] of expected) {
        firstSent = Math.min(firstSent, c.sent);
        const list = arrivals.get(id) ?? [];
        const own = list.filter((a) => a.socket === c.socket);
        foreign += list.length - own.length;
        if (!own.length) {
          missing += 1;
          continue;
        }
        duplicates += own.length - 1;
        const at = Math.min(...own.map((a) => a.at));
        lastArrival = Math.max(lastArrival, at);
        latency.push(at - c.returned);
        fromSent.push(at - c.sent);
      }
      for (const [id, list] of arrivals) if (!expected.has(id)) foreign += list.length;
      const delivered = latency.length;
      const step: OwnEventsStep = {
        targetRate: rate,
        committedRate: expected.size / committingSeconds,
        committed: expected.size,
        transactions,
        failedTransactions,
        delivered,
        missing,
        duplicates,
        foreign,
        latency: latencyStats(latency),
        latencyFromCommitSent: latencyStats(fromSent),
        deliveredPerSecond: delivered && lastArrival > firstSent ? delivered / ((lastArrival - firstSent) / 1000) : 0,
        cpu: { hub: cores.groups.hub, postgres: cores.groups.postgres, bench: cores.bench, machine: cores.machine },
        loopDelay,
      };
      steps.push(step);
      log(
        `own events at ${rate}/s: ${delivered}/${expected.size} delivered (${missing} missing, ${duplicates} duplicated, ` +
          `${foreign} foreign), p50 ${step.latency.p50.toFixed(1)} ms, p99 ${step.latency.p99.toFixed(1)} ms, ` +
          `${step.deliveredPerSecond.toFixed(0)} delivered/s`,
      );
      for (const socket of sockets) socket.onEvent = () => undefined;
      // Let the hub write the step's delivery records and acks before the next step.
      await sleep(1_500);
    }
    return steps;
  } finally {
    await pool.end();
  }
}
