/**
 * The payment benchmark's report: a Markdown block (printed, written to
 * bench/results/payments.md, and put between the markers of the "Payments"
 * part of bench/README.md).
 */
import fs from "node:fs";
import os from "node:os";
import type { PaymentsReport } from "./payments-benchmark";
import type { Percentiles } from "./payment-driver";

export const README_START = "<!-- bench:payments:start -->";
export const README_END = "<!-- bench:payments:end -->";

const ms = (p: Percentiles) => `${p.p50.toFixed(0)} / ${p.p95.toFixed(0)} / ${p.p99.toFixed(0)}`;

export function describeMachine(): string {
  const cpus = os.cpus();
  return `${cpus.length} cores (${cpus[0]?.model.trim() ?? "unknown"}), Node ${process.version}`;
}

export function formatPaymentsReport(report: PaymentsReport, machine = describeMachine()): string {
  const s = report.settings;
  const base = report.baseline.requestsPerSecond;
  const lines = [
    `Run ${report.at} on ${machine}: ${s.payments} payments per worker count` +
      `${s.durationSeconds === undefined ? "" : ` (started during at most ${s.durationSeconds} s)`}, ` +
      `${s.concurrency} in flight, observer poll ${s.pollMs} ms.`,
    "",
    "| worker processes | paid / started | payments/s | ÷ 1 worker | ÷ health req/s | pay→paid p50 / p95 / p99 ms | pay→QR p50 / p95 / p99 ms | QR paid→paid p50 / p95 / p99 ms |",
    "|---|---|---|---|---|---|---|---|",
  ];
  const one = report.rounds.find((r) => r.workers === 1);
  for (const r of report.rounds) {
    lines.push(
      `| ${r.workers} | ${r.completed} / ${r.started} | ${r.paymentsPerSecond.toFixed(2)} | ` +
        `${one && one.paymentsPerSecond > 0 ? (r.paymentsPerSecond / one.paymentsPerSecond).toFixed(2) : "–"} | ` +
        `${base > 0 ? (r.paymentsPerSecond / base).toFixed(4) : "–"} | ${ms(r.payToPaid)} | ${ms(r.payToQr)} | ${ms(r.qrPayToPaid)} |`,
    );
  }
  const cores = (n: number | undefined) => (n === undefined ? "–" : n.toFixed(2));
  lines.push(
    "",
    `Cores busy during each round (CPU seconds ÷ wall seconds; the machine has ${report.rounds[0]?.cpu.machineCores ?? "?"}):`,
    "",
    "| worker processes | worker processes' CPU | PostgreSQL | PostgREST | bench process (driver, observer, simulator) | whole machine (other users included) |",
    "|---|---|---|---|---|---|",
    ...report.rounds.map(
      (r) =>
        `| ${r.workers} | ${cores(r.cpu.workerProcesses)} | ${cores(r.cpu.postgres)} | ${cores(r.cpu.postgrest)} | ` +
        `${cores(r.cpu.bench)} | ${cores(r.cpu.machine)} |`,
    ),
  );
  const g = report.gateway;
  const { before, after } = report.baseline;
  lines.push(
    "",
    `- Baseline, same run: \`GET /rpc/health\` with a client JWT, ${s.baselineConnections} connections × ${s.baselineSeconds} s: ` +
      `${before.requestsPerSecond.toFixed(0)} req/s before the payments, ${after.requestsPerSecond.toFixed(0)} after ` +
      `(p50 ${before.p50Ms} / ${after.p50Ms} ms).`,
    `- 2 workers ÷ 1 worker: ${report.scaling === undefined ? "–" : report.scaling.toFixed(2)}.`,
    `- Gateway policy overhead (${g.calls} sequential status calls per path against the simulator): ` +
      `bare ${g.bareMsPerCall.toFixed(3)} ms/call, gateway ${g.gatewayMsPerCall.toFixed(3)} ms/call, ` +
      `ratio ${g.ratio.toFixed(2)}, overhead ${g.overheadMsPerCall.toFixed(3)} ms per call.`,
  );
  const failures = report.rounds.flatMap((r) =>
    Object.entries(r.errors).map(([reason, n]) => `- ${r.workers} worker(s): ${n} × ${reason}`),
  );
  if (failures.length) lines.push("", "Failed payments:", ...failures);
  return lines.join("\n");
}

/** Puts `block` between the markers of `readmePath` (which must have them). */
export function writeReadmeResults(readmePath: string, block: string): void {
  const text = fs.readFileSync(readmePath, "utf8");
  const start = text.indexOf(README_START);
  const end = text.indexOf(README_END);
  if (start < 0 || end < start) throw new Error(`${readmePath} has no ${README_START} … ${README_END} block`);
  fs.writeFileSync(readmePath, `${text.slice(0, start + README_START.length)}\n${block}\n${text.slice(end)}`);
}
