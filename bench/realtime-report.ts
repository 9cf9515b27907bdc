/**
 * The realtime benchmark's report: a Markdown block (printed and written to
 * bench/results/realtime-latest.md) with the latency scenarios against the
 * same-run LISTEN/NOTIFY baseline, the blueprint's "sub-50 ms" promise,
 * throughput and the capacity ramp.
 */
import type { LatencyStats } from "./latency-stats";
import type { LoopDelay } from "./loop-delay";
import type { ListenNotifyBaseline } from "./listen-notify-baseline";
import type { BroadcastSummary } from "./realtime-broadcast";
import type { CapacityReport } from "./realtime-capacity";
import type { CpuCores, OwnEventsStep } from "./realtime-own-events";
import type { HubMemory } from "./realtime-server-child";
import { describeMachine } from "./payments-report";

export type RealtimeSettings = {
  clients: number;
  rates: number[];
  seconds: number;
  rounds: number;
  socketSteps: number[];
  connectConcurrency: number;
  baselineSamples: number;
};

export type RealtimeReport = {
  at: string;
  /** The machine's 1-minute load average when the run started and when it ended (other users included). */
  loadAverage: { start: number; end: number };
  settings: RealtimeSettings;
  baseline: { before: ListenNotifyBaseline; after: ListenNotifyBaseline };
  /** The bare ws fan-out server: its memory idle and holding `sockets`, and its fan-out rounds. */
  bare: { idle: HubMemory; held: HubMemory; sockets: number; fanout: BroadcastSummary };
  ownEvents: OwnEventsStep[];
  broadcasts: BroadcastSummary;
  /** Sockets of the latency scenarios that closed before the end. */
  closedDuringScenarios: number;
  capacity: CapacityReport;
};

/** The blueprint's promise: events reach clients in under 50 ms. */
export const PROMISE_MS = 50;

const n1 = (v: number | undefined) => (v !== undefined && Number.isFinite(v) ? v.toFixed(1) : "–");
const pct = (s: LatencyStats) => `${n1(s.p50)} / ${n1(s.p95)} / ${n1(s.p99)} / ${n1(s.max)}`;
const pct3 = (s: LatencyStats) => `${n1(s.p50)} / ${n1(s.p95)} / ${n1(s.p99)}`;
const late = (d: LoopDelay) => `${n1(d.p99Ms)} / ${n1(d.maxMs)}`;
const cores = (v: number | undefined) => (v === undefined ? "–" : v.toFixed(2));
const cpu = (c: CpuCores) => `${cores(c.hub)} / ${cores(c.postgres)} / ${cores(c.bench)} / ${cores(c.machine)}`;
const mb = (bytes: number | undefined) => (bytes === undefined ? "–" : (bytes / 2 ** 20).toFixed(0));
const kb = (bytes: number | undefined) => (bytes === undefined ? "–" : (bytes / 1024).toFixed(1));

/** p50 of the baseline's two measurements (before and after), COMMIT sent → heard. */
export function baselineP50(report: RealtimeReport): number {
  return (report.baseline.before.fromCommitSent.p50 + report.baseline.after.fromCommitSent.p50) / 2;
}

/** Whether latencies keep the blueprint's "sub-50 ms": at p99, only at p95, or not. */
export function promiseHolds(s: LatencyStats): "holds at p99" | "holds at p95 only" | "does not hold" {
  if (s.count && s.p99 < PROMISE_MS) return "holds at p99";
  if (s.count && s.p95 < PROMISE_MS) return "holds at p95 only";
  return "does not hold";
}

export function formatRealtimeReport(report: RealtimeReport, machine = describeMachine()): string {
  const s = report.settings;
  const base = baselineP50(report);
  const ratio = (v: number) => (base > 0 && Number.isFinite(v) ? (v / base).toFixed(1) : "–");
  const b = report.broadcasts;
  const lines = [
    `Run ${report.at} on ${machine}; ${s.clients} sockets (one per client user) for the latency scenarios, ` +
      `own events for ${s.seconds} s per rate, ${s.rounds} broadcast rounds; load average ` +
      `${report.loadAverage.start.toFixed(1)} at the start, ${report.loadAverage.end.toFixed(1)} at the end.`,
    "",
    'Commit → client, ms ("COMMIT returned" = the moment the committing connection got the COMMIT\'s reply; ' +
      'the baseline\'s "frame" is the raw LISTENer hearing the NOTIFY):',
    "",
    "| scenario | delivered / expected | missing / duplicated / to another user | COMMIT returned → frame: p50 / p95 / p99 / max | COMMIT sent → frame: p50 / p95 / p99 | p50 from sent ÷ baseline | delivered/s | sub-50 ms (from returned) | bench loop late: p99 / max | cores: hub / PostgreSQL / bench / machine |",
    "|---|---|---|---|---|---|---|---|---|---|",
  ];
  for (const [label, bl] of [
    ["before", report.baseline.before],
    ["after", report.baseline.after],
  ] as const) {
    lines.push(
      `| baseline: LISTEN/NOTIFY of the same commit (${label}) | ${bl.samples - bl.lost} / ${bl.samples} | ${bl.lost} / – / – | ` +
        `${pct(bl.fromCommitReturned)} | ${pct3(bl.fromCommitSent)} | ${ratio(bl.fromCommitSent.p50)} | – | – | – | – |`,
    );
  }
  for (const step of report.ownEvents) {
    lines.push(
      `| own events: ${step.targetRate}/s asked, ${step.committedRate.toFixed(0)}/s committed in ${step.transactions} transactions | ` +
        `${step.delivered} / ${step.committed} | ${step.missing} / ${step.duplicates} / ${step.foreign} | ${pct(step.latency)} | ` +
        `${pct3(step.latencyFromCommitSent)} | ${ratio(step.latencyFromCommitSent.p50)} | ` +
        `${step.deliveredPerSecond.toFixed(0)} | ${promiseHolds(step.latency)} | ${late(step.loopDelay)} | ${cpu(step.cpu)} |`,
    );
  }
  lines.push(
    `| broadcast to ${s.clients} sockets, ${b.rounds.length} rounds | ${b.reached} / ${b.expected} | ` +
      `${b.expected - b.reached} / ${b.duplicates} / – | ${pct(b.latency)} | ${pct3(b.latencyFromSent)} | ` +
      `${ratio(b.latencyFromSent.p50)} | ${b.deliveredPerSecond.toFixed(0)} | ${promiseHolds(b.latency)} | ${late(b.loopDelay)} | – |`,
  );

  const f = report.bare.fanout;
  const spreadRatio = f.spread.p50 > 0 ? (b.spread.p50 / f.spread.p50).toFixed(1) : "–";
  lines.push(
    "",
    `Broadcast fan-out to ${s.clients} sockets, ms per round (median / max over ${s.rounds} rounds), against a bare \`ws\` server ` +
      "(no auth, no database, no records) with the same clients:",
    "",
    "| server | reached | to the first socket | to the last socket | first → last (fan-out) | sockets ÷ time to the last (median) |",
    "|---|---|---|---|---|---|",
    `| bare ws server (from the trigger frame sent) | ${f.reached} / ${f.expected} | ${n1(f.first.p50)} / ${n1(f.first.max)} | ` +
      `${n1(f.last.p50)} / ${n1(f.last.max)} | ${n1(f.spread.p50)} / ${n1(f.spread.max)} | ${f.deliveredPerSecond.toFixed(0)}/s |`,
    `| hub (from COMMIT returned) | ${b.reached} / ${b.expected} | ${n1(b.first.p50)} / ${n1(b.first.max)} | ` +
      `${n1(b.last.p50)} / ${n1(b.last.max)} | ${n1(b.spread.p50)} / ${n1(b.spread.max)} | ${b.deliveredPerSecond.toFixed(0)}/s |`,
    "",
    `- Fan-out, hub ÷ bare ws server (median first → last): ${spreadRatio}.`,
    `- Own events' delivered/s = frames received by their users ÷ seconds from the first COMMIT to the last frame.`,
    `- Sockets of the latency scenarios that closed before the end: ${report.closedDuringScenarios}.`,
  );

  const c = report.capacity;
  const bare = report.bare;
  const barePerSocket =
    bare.held.vmRss === undefined || bare.idle.vmRss === undefined
      ? undefined
      : (bare.held.vmRss - bare.idle.vmRss) / bare.sockets;
  const hubAtBare = c.steps.find((st) => st.target === bare.sockets);
  lines.push(
    "",
    `Capacity: a fresh hub process (idle: VmRSS ${mb(c.idle.vmRss)} MB, V8 heap ${mb(c.idle.heapUsed)} MB), ` +
      `sockets added step by step, one broadcast per step; max open files: bench ${c.openFilesLimit.bench ?? "?"}, ` +
      `hub ${c.openFilesLimit.hub ?? "?"}:`,
    "",
    "| sockets | hub holds | connects/s | hub VmRSS MB | VmRSS per socket kB | V8 heap per socket kB | broadcast reached | broadcast p50 / p99 / last ms | passed |",
    "|---|---|---|---|---|---|---|---|---|",
    ...c.steps.map(
      (st) =>
        `| ${st.target} | ${st.hubSockets} | ${st.connectsPerSecond.toFixed(0)} | ${mb(st.memory.vmRss)} | ${kb(st.rssPerSocket)} | ` +
        `${kb(st.heapPerSocket)} | ${st.broadcast.reached} / ${st.broadcast.sockets} | ` +
        `${n1(st.broadcast.latency.p50)} / ${n1(st.broadcast.latency.p99)} / ${n1(st.broadcast.lastMs)} | ` +
        `${st.passed ? "yes" : "no"} |`,
    ),
    "",
    `- Baseline: the bare ws server holding ${bare.sockets} sockets: ${kb(barePerSocket)} kB VmRSS per socket, ` +
      `${kb((bare.held.heapUsed - bare.idle.heapUsed) / bare.sockets)} kB V8 heap per socket` +
      (hubAtBare?.rssPerSocket !== undefined && barePerSocket
        ? ` (hub ÷ bare at ${bare.sockets} sockets: ${(hubAtBare.rssPerSocket / barePerSocket).toFixed(1)}).`
        : "."),
    `- Most sockets held by one hub process with a broadcast reaching all of them: ${c.mostSocketsHeld}` +
      (c.stoppedBy ? ` (the ramp stopped: ${c.stoppedBy}).` : " (the cap of this run; nothing failed)."),
  );
  return lines.join("\n");
}
