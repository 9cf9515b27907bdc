/**
 * `npm run bench:payments`: end-to-end payments through the Midtrans
 * simulator (pay_invoice → charge → QR → pay → notification → confirmation
 * → paid) with 1, then 2 worker processes: payments per second and the
 * pay→paid latency, reported against baselines measured in the same run
 * (the machine is shared and noisy; only ratios compare across runs).
 *
 *   BENCH_PAYMENTS=200               invoices paid per worker count
 *   BENCH_PAYMENTS_CONCURRENCY=50    payments in flight at once
 *   BENCH_PAYMENTS_DURATION=         stop starting payments after this many seconds (unset: pay all)
 *   BENCH_PAYMENTS_WORKERS=1,2       worker process counts, one round each
 *   BENCH_PAYMENTS_TIMEOUT=60        seconds after which an unpaid payment counts as failed
 *   BENCH_PAYMENTS_POLL_MS=25        the observer's poll interval
 *   BENCH_PAYMENTS_BASELINE_SECONDS=5  each of the two GET /rpc/health measurements
 *   BENCH_GATEWAY_CALLS=1000         status calls per path for the gateway overhead
 *   BENCH_PAYMENTS_README=true       put the figures into bench/README.md (only if every payment completed)
 *
 * It boots its own stack (embedded PostgreSQL in a temporary directory, the
 * real PostgREST, the simulator in this process, worker processes as
 * `npm run worker` runs them) and removes all of it at the end, on failure
 * and on Ctrl-C too.
 */
import crypto from "node:crypto";
import { setMaxListeners } from "node:events";
import fs from "node:fs";
import path from "node:path";
import { databaseUrl, withClient } from "../db/pg";
import { prepareDatabase } from "../db/prepare";
import { startEmbeddedPostgres, temporaryDataDir } from "../services/embedded-postgres";
import { freePort } from "../services/ports";
import { runWithCleanup } from "./cleanup";
import { startPaymentStack } from "./payment-stack";
import { runPaymentsBenchmark, type PaymentsSettings } from "./payments-benchmark";
import { formatPaymentsReport, writeReadmeResults } from "./payments-report";

function whole(name: string, fallback: number, min = 1): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min) throw new Error(`${name} must be a whole number ≥ ${min} (got ${raw})`);
  return value;
}

function readSettings(): PaymentsSettings {
  const workers = (process.env.BENCH_PAYMENTS_WORKERS || "1,2").split(",").map((w) => Number(w.trim()));
  if (workers.some((w) => !Number.isInteger(w) || w < 1 || w > 8))
    throw new Error(
      `BENCH_PAYMENTS_WORKERS must list worker counts from 1 to 8 (got ${process.env.BENCH_PAYMENTS_WORKERS})`,
    );
  return {
    payments: whole("BENCH_PAYMENTS", 200),
    concurrency: whole("BENCH_PAYMENTS_CONCURRENCY", 50),
    durationSeconds: process.env.BENCH_PAYMENTS_DURATION ? whole("BENCH_PAYMENTS_DURATION", 0) : undefined,
    workerCounts: workers,
    timeoutSeconds: whole("BENCH_PAYMENTS_TIMEOUT", 60),
    pollMs: whole("BENCH_PAYMENTS_POLL_MS", 25),
    baselineSeconds: whole("BENCH_PAYMENTS_BASELINE_SECONDS", 5),
    baselineConnections: 10,
    gatewayCalls: whole("BENCH_GATEWAY_CALLS", 1000, 10),
  };
}

void runWithCleanup(async (cleanup) => {
  const settings = readSettings();
  const log = (line: string) => console.log(`[bench:payments] ${line}`);
  // The simulator's deliveries in flight share one AbortSignal (its stop);
  // dozens at once are expected here, not a listener leak.
  setMaxListeners(1000);

  const dataDir = temporaryDataDir("jasaweb-bench-payments");
  cleanup.add("the temporary data directory", () => fs.rmSync(path.dirname(dataDir), { recursive: true, force: true }));
  const server = await startEmbeddedPostgres({
    dataDir,
    port: await freePort(),
    superuserPassword: crypto.randomBytes(16).toString("base64url"),
    settings: { max_connections: "200" },
  });
  cleanup.add("PostgreSQL", () => server.stop());
  await withClient(server.url("postgres"), (client) => client.query("create database jasaweb_bench"));

  const secret = () => crypto.randomBytes(32).toString("base64url");
  const jwtSecret = secret();
  const midtransServerKey = `SB-Mid-server-${secret()}`;
  log("migrating…");
  const { connections } = await prepareDatabase({
    superuserUrl: databaseUrl(server.url("postgres"), "jasaweb_bench"),
    passwords: { owner: secret(), authenticator: secret(), worker: secret() },
    settings: { jwtSecret, credentialsKey: secret(), midtransServerKey },
    // The pricing plans that create_project prices invoices with come with the demo content.
    seed: { adminEmail: "admin@bench.jasaweb.id", adminPassword: secret(), demoContent: true },
  });
  const postmasterPid = Number(fs.readFileSync(path.join(dataDir, "postmaster.pid"), "utf8").split("\n")[0]);
  const stack = await startPaymentStack({ connections, jwtSecret, midtransServerKey, postmasterPid }, cleanup);
  log(`PostgREST ${stack.apiUrl}, simulator ${stack.simulatorUrl}`);

  const report = await runPaymentsBenchmark(stack, settings, log);
  const block = formatPaymentsReport(report);
  fs.mkdirSync(path.join(__dirname, "results"), { recursive: true });
  fs.writeFileSync(path.join(__dirname, "results", "payments.md"), `${block}\n`);
  console.log(`\n${block}\n\nwritten to bench/results/payments.md`);
  const failed = report.rounds.reduce((n, r) => n + r.failed, 0);
  if (failed) {
    console.log(`${failed} payment(s) failed: bench/README.md left as it was`);
    process.exitCode = 1;
  } else if (process.env.BENCH_PAYMENTS_README !== "false") {
    writeReadmeResults(path.join(__dirname, "README.md"), block);
    console.log("and to the Payments part of bench/README.md");
  }
});
