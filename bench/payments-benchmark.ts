/**
 * The payment benchmark on a running payment stack: for each worker count,
 * fresh invoices, that many worker processes, N payments driven over HTTP;
 * around them the same-run baselines (a trivial authenticated call's rate
 * before and after, the gateway's policy overhead).
 */
import { measureCallRate, type CallRate } from "./call-rate";
import { measureGatewayOverhead, type GatewayOverhead } from "./gateway-overhead";
import { drivePayments, observerToken, prepareInvoices, summarise, type RoundSummary } from "./payment-driver";
import type { PaymentStack } from "./payment-stack";

export type PaymentsSettings = {
  /** Invoices prepared (and paid, unless durationSeconds stops earlier) per worker count. */
  payments: number;
  concurrency: number;
  /** Stop starting payments after this many seconds; undefined: pay all. */
  durationSeconds?: number;
  workerCounts: number[];
  timeoutSeconds: number;
  pollMs: number;
  /** Seconds of the trivial-call baseline (each of the two measurements). */
  baselineSeconds: number;
  baselineConnections: number;
  /** Status calls per path of the gateway overhead measurement. */
  gatewayCalls: number;
};

export type WorkerRound = RoundSummary & { workers: number; workerPids: number[] };

export type PaymentsReport = {
  at: string;
  settings: PaymentsSettings;
  /** GET /rpc/health with a client's JWT: before the rounds, and after. */
  baseline: { before: CallRate; after: CallRate; requestsPerSecond: number };
  rounds: WorkerRound[];
  /** Payments per second with the most workers ÷ with one (undefined without both). */
  scaling: number | undefined;
  gateway: GatewayOverhead;
};

export async function runPaymentsBenchmark(
  stack: PaymentStack,
  settings: PaymentsSettings,
  log: (line: string) => void = () => undefined,
): Promise<PaymentsReport> {
  const at = new Date().toISOString();
  const observer = await observerToken(stack.apiUrl, stack.database.connections.superuser);
  const [someInvoice] = await prepareInvoices(stack.apiUrl, 1);
  const health = () =>
    measureCallRate(`${stack.apiUrl}/rpc/health`, {
      token: someInvoice!.token,
      seconds: settings.baselineSeconds,
      connections: settings.baselineConnections,
    });

  const before = await health();
  log(`baseline GET /rpc/health (client JWT): ${before.requestsPerSecond.toFixed(0)} req/s`);

  const rounds: WorkerRound[] = [];
  for (const workers of settings.workerCounts) {
    log(`${workers} worker process(es): preparing ${settings.payments} invoices…`);
    const invoices = await prepareInvoices(stack.apiUrl, settings.payments);
    const processes = await stack.startWorkers(workers);
    try {
      log(`${workers} worker process(es): paying (${settings.concurrency} in flight)…`);
      const timings = await drivePayments({
        apiUrl: stack.apiUrl,
        simulatorUrl: stack.simulatorUrl,
        observerToken: observer,
        invoices,
        concurrency: settings.concurrency,
        durationMs: settings.durationSeconds === undefined ? undefined : settings.durationSeconds * 1000,
        timeoutMs: settings.timeoutSeconds * 1000,
        pollMs: settings.pollMs,
      });
      const round = { workers, workerPids: processes.pids, ...summarise(timings) };
      rounds.push(round);
      log(
        `${workers} worker process(es): ${round.completed}/${round.started} paid, ` +
          `${round.paymentsPerSecond.toFixed(2)} payments/s, pay→paid p50 ${round.payToPaid.p50.toFixed(0)} ms`,
      );
    } finally {
      await processes.stop();
    }
  }

  const after = await health();
  log(`baseline GET /rpc/health (client JWT): ${after.requestsPerSecond.toFixed(0)} req/s`);
  log(`gateway overhead: ${settings.gatewayCalls} status calls per path…`);
  const gateway = await measureGatewayOverhead(settings.gatewayCalls);

  const one = rounds.find((r) => r.workers === 1);
  const most = rounds.reduce<WorkerRound | undefined>((m, r) => (!m || r.workers > m.workers ? r : m), undefined);
  return {
    at,
    settings,
    baseline: { before, after, requestsPerSecond: (before.requestsPerSecond + after.requestsPerSecond) / 2 },
    rounds,
    scaling:
      one && most && most !== one && one.paymentsPerSecond > 0
        ? most.paymentsPerSecond / one.paymentsPerSecond
        : undefined,
    gateway,
  };
}
