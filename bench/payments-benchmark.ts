/**
 * The payment benchmark on a running payment stack: for each worker count,
 * fresh invoices, that many worker processes, N payments driven over HTTP;
 * around them the same-run baselines (a trivial authenticated call's rate
 * before and after, the gateway's policy overhead).
 */
import os from "node:os";
import { childrenOf, cpuSecondsOf, machineCpuSeconds } from "./cpu-usage";
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

/** Cores kept busy during a round (CPU seconds ÷ wall seconds); undefined where /proc could not tell. */
export type RoundCpu = {
  workerProcesses: number | undefined;
  postgres: number | undefined;
  postgrest: number | undefined;
  /** This process: the driver, the observer and the simulator. */
  bench: number;
  machine: number | undefined;
  machineCores: number;
};

export type WorkerRound = RoundSummary & { workers: number; workerPids: number[]; cpu: RoundCpu };

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

type CpuSample = {
  at: number;
  workers: number | undefined;
  postgres: number | undefined;
  postgrest: number | undefined;
  bench: number;
  machine: { busy: number; total: number } | undefined;
};

function sampleCpu(stack: PaymentStack, workerPids: number[]): CpuSample {
  const postmaster = stack.database.postmasterPid;
  const usage = process.cpuUsage();
  return {
    at: performance.now(),
    workers: cpuSecondsOf(workerPids),
    postgres: postmaster === undefined ? undefined : cpuSecondsOf([postmaster, ...childrenOf(postmaster)]),
    postgrest: stack.postgrestPid === undefined ? undefined : cpuSecondsOf([stack.postgrestPid]),
    bench: (usage.user + usage.system) / 1e6,
    machine: machineCpuSeconds(),
  };
}

function cpuBetween(before: CpuSample, after: CpuSample): RoundCpu {
  const seconds = (after.at - before.at) / 1000;
  const cores = (a: number | undefined, b: number | undefined) =>
    a === undefined || b === undefined ? undefined : Math.max(0, b - a) / seconds;
  const machineCores = os.cpus().length;
  return {
    workerProcesses: cores(before.workers, after.workers),
    postgres: cores(before.postgres, after.postgres),
    postgrest: cores(before.postgrest, after.postgrest),
    bench: (after.bench - before.bench) / seconds,
    machine:
      before.machine && after.machine && after.machine.total > before.machine.total
        ? ((after.machine.busy - before.machine.busy) / (after.machine.total - before.machine.total)) * machineCores
        : undefined,
    machineCores,
  };
}

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
      const cpuBefore = sampleCpu(stack, processes.pids);
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
      const cpu = cpuBetween(cpuBefore, sampleCpu(stack, processes.pids));
      const round = { workers, workerPids: processes.pids, cpu, ...summarise(timings) };
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
