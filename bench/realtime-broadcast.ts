/**
 * The realtime benchmark's broadcasts: `api.admin_broadcast` committed as
 * the admin (role app_admin with the admin's JWT claims, as PostgREST runs
 * it; one outbox message for room `all`), timed from the moment its COMMIT
 * returned to each socket's frame, to the first and to the last socket.
 * Every socket must get it once.
 *
 * Why SQL and not POST /rpc/admin_broadcast: the benchmark's one process
 * also receives the frames, and an HTTP response that arrives in the same
 * burst as a thousand frames was stamped up to 26 ms late in trials (frames
 * "before" the commit); a COMMIT's reply comes back before the hub can
 * possibly have read the outbox. The broadcast's SQL is the same either way.
 *
 * The same rounds run against the bare `ws` fan-out server
 * (bench/ws-fanout-process.ts) as the baseline of the fan-out.
 */
import { Client } from "pg";
import { latencyStats, type LatencyStats } from "./latency-stats";
import { watchLoopDelay, type LoopDelay } from "./loop-delay";
import type { BenchSocket } from "./realtime-clients";

export type BroadcastRound = {
  sockets: number;
  /** Sockets that got it. */
  reached: number;
  /** Extra copies. */
  duplicates: number;
  /** COMMIT returned (or the trigger sent) → each socket's frame, ms. */
  latency: LatencyStats;
  /** COMMIT sent (or the trigger sent) → each socket's frame, ms. */
  latencyFromSent: LatencyStats;
  /** → the first socket's frame, ms. */
  firstMs: number | undefined;
  /** → the last socket's frame, ms (undefined unless every socket got it). */
  lastMs: number | undefined;
  /** Sockets reached ÷ seconds from the commit to the last frame. */
  deliveredPerSecond: number;
  /** Each reached socket's latency from COMMIT returned and from COMMIT sent, ms. */
  samples: number[];
  samplesFromSent: number[];
};

export type BroadcastSummary = {
  rounds: BroadcastRound[];
  /** Over every socket of every round. */
  latency: LatencyStats;
  latencyFromSent: LatencyStats;
  /** Of the rounds' first sockets. */
  first: LatencyStats;
  /** Of the rounds' last sockets. */
  last: LatencyStats;
  /** First socket → last socket, of each round. */
  spread: LatencyStats;
  reached: number;
  expected: number;
  duplicates: number;
  /** Median over the rounds. */
  deliveredPerSecond: number;
  /** How late the benchmark's own event loop ran during the rounds. */
  loopDelay: LoopDelay;
};

/**
 * Starts one broadcast; resolves with the id its frames carry, when its COMMIT was sent and when it
 * returned (performance.now()).
 */
export type BroadcastTrigger = () => Promise<{ id: number; sent: number; committed: number }>;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** api.admin_broadcast as the admin, on `client` (a superuser's connection), in a transaction of its own. */
export function sqlBroadcast(client: Client, adminId: string, title: string): BroadcastTrigger {
  const claims = JSON.stringify({ sub: adminId, role: "app_admin" });
  return async () => {
    await client.query("begin");
    try {
      await client.query("set local role app_admin");
      await client.query("select set_config('request.jwt.claims', $1, true)", [claims]);
      const { rows } = await client.query<{ r: { id: number } }>(
        "select api.admin_broadcast($1, 'Pesan uji untuk semua.') as r",
        [title],
      );
      const sent = performance.now();
      await client.query("commit");
      const committed = performance.now();
      return { id: rows[0]!.r.id, sent, committed };
    } catch (error) {
      await client.query("rollback").catch(() => undefined);
      throw error;
    }
  };
}

/** The bare fan-out server's broadcast: the text frame `fanout` on one socket; its frames count up from 1. */
export function fanoutTrigger(sockets: BenchSocket[]): BroadcastTrigger {
  let count = 0;
  return async () => {
    count += 1;
    const sent = performance.now();
    sockets[0]!.socket.send("fanout");
    return { id: count, sent, committed: sent };
  };
}

export async function broadcastOnce(
  trigger: BroadcastTrigger,
  event: string,
  sockets: BenchSocket[],
  timeoutMs: number,
): Promise<BroadcastRound> {
  const arrivals: { id: number; socket: number; at: number }[] = [];
  sockets.forEach((socket, index) => {
    socket.onEvent = (frame) => {
      if (frame.event === event) arrivals.push({ id: frame.id, socket: index, at: frame.at });
    };
  });
  try {
    const { id, sent, committed } = await trigger();
    const firstAt = new Map<number, number>();
    let duplicates = 0;
    let seen = 0;
    const collect = () => {
      for (; seen < arrivals.length; seen++) {
        const a = arrivals[seen]!;
        if (a.id !== id) continue;
        if (firstAt.has(a.socket)) duplicates += 1;
        else firstAt.set(a.socket, a.at);
      }
    };
    const deadline = committed + timeoutMs;
    for (collect(); firstAt.size < sockets.length && performance.now() < deadline; collect()) await sleep(5);
    // Late copies still count as duplicates.
    await sleep(100);
    collect();
    const latencies = [...firstAt.values()].map((at) => at - committed);
    const fromSent = [...firstAt.values()].map((at) => at - sent);
    const everyone = firstAt.size === sockets.length;
    const last = latencies.length ? Math.max(...latencies) : undefined;
    return {
      sockets: sockets.length,
      reached: firstAt.size,
      duplicates,
      latency: latencyStats(latencies),
      latencyFromSent: latencyStats(fromSent),
      firstMs: latencies.length ? Math.min(...latencies) : undefined,
      lastMs: everyone ? last : undefined,
      deliveredPerSecond: last && last > 0 ? firstAt.size / (last / 1000) : 0,
      samples: latencies,
      samplesFromSent: fromSent,
    };
  } finally {
    for (const socket of sockets) socket.onEvent = () => undefined;
  }
}

export async function runBroadcasts(
  trigger: BroadcastTrigger,
  event: string,
  sockets: BenchSocket[],
  options: { rounds: number; pauseMs: number; timeoutMs: number },
  log: (line: string) => void,
): Promise<BroadcastSummary> {
  const rounds: BroadcastRound[] = [];
  const loop = watchLoopDelay();
  for (let i = 1; i <= options.rounds; i++) {
    const round = await broadcastOnce(trigger, event, sockets, options.timeoutMs);
    rounds.push(round);
    log(
      `${event} ${i}/${options.rounds}: ${round.reached}/${round.sockets} sockets, first ${ms(round.firstMs)}, ` +
        `p50 ${ms(round.latency.p50)}, last ${ms(round.lastMs)}`,
    );
    await sleep(options.pauseMs);
  }
  return summarise(rounds, loop.stop());
}

const ms = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? "–" : `${v.toFixed(1)} ms`);
const defined = (values: (number | undefined)[]) => values.filter((v): v is number => v !== undefined);

function summarise(rounds: BroadcastRound[], loopDelay: LoopDelay): BroadcastSummary {
  const rates = rounds.map((r) => r.deliveredPerSecond).sort((a, b) => a - b);
  return {
    rounds,
    latency: latencyStats(rounds.flatMap((r) => r.samples)),
    latencyFromSent: latencyStats(rounds.flatMap((r) => r.samplesFromSent)),
    first: latencyStats(defined(rounds.map((r) => r.firstMs))),
    last: latencyStats(defined(rounds.map((r) => r.lastMs))),
    spread: latencyStats(
      defined(
        rounds.map((r) => (r.lastMs === undefined || r.firstMs === undefined ? undefined : r.lastMs - r.firstMs)),
      ),
    ),
    reached: rounds.reduce((n, r) => n + r.reached, 0),
    expected: rounds.reduce((n, r) => n + r.sockets, 0),
    duplicates: rounds.reduce((n, r) => n + r.duplicates, 0),
    deliveredPerSecond: rates.length ? rates[Math.floor((rates.length - 1) / 2)]! : 0,
    loopDelay,
  };
}
