/**
 * `npm run bench:payments` on a tiny run, so that the benchmark cannot rot:
 * its stack (real PostgREST, the simulator, a real worker process started
 * as `npm run worker` runs it) around a test database, its driver paying 3
 * invoices over HTTP, and its report. Nothing here is timed: the figures
 * are only checked to be there and consistent.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { createCleanup } from "../../bench/cleanup";
import { drivePayments, observerToken, prepareInvoices } from "../../bench/payment-driver";
import { startPaymentStack, type PaymentStack } from "../../bench/payment-stack";
import { runPaymentsBenchmark } from "../../bench/payments-benchmark";
import { README_END, README_START, formatPaymentsReport, writeReadmeResults } from "../../bench/payments-report";
import { pidIsAlive } from "../../services/child-process";
import { createSeededDatabase, type TestDatabase } from "../helpers/database";
import { TEST_JWT_SECRET, TEST_MIDTRANS_SERVER_KEY } from "../setup/cluster";

jest.setTimeout(180_000);

const cleanup = createCleanup();
let db: TestDatabase;
let stack: PaymentStack;

beforeAll(async () => {
  db = await createSeededDatabase();
  stack = await startPaymentStack(
    { connections: db.connections, jwtSecret: TEST_JWT_SECRET, midtransServerKey: TEST_MIDTRANS_SERVER_KEY },
    cleanup,
  );
});

afterAll(async () => {
  await cleanup.runAll();
  await db?.drop();
});

test("3 payments through one worker process are all paid, and the report has every figure", async () => {
  const report = await runPaymentsBenchmark(stack, {
    payments: 3,
    concurrency: 3,
    workerCounts: [1],
    timeoutSeconds: 60,
    pollMs: 25,
    baselineSeconds: 1,
    baselineConnections: 2,
    gatewayCalls: 20,
  });

  expect(report.rounds).toHaveLength(1);
  const round = report.rounds[0]!;
  expect(round).toMatchObject({ workers: 1, started: 3, completed: 3, failed: 0, errors: {} });
  expect(round.paymentsPerSecond).toBeGreaterThan(0);
  for (const p of [round.payToPaid, round.payToQr, round.qrPayToPaid]) {
    expect(p.p50).toBeGreaterThan(0);
    expect(p.p95).toBeGreaterThanOrEqual(p.p50);
    expect(p.p99).toBeGreaterThanOrEqual(p.p95);
  }
  // Each payment's whole path contains both of its parts.
  expect(round.payToPaid.p99).toBeGreaterThanOrEqual(round.payToQr.p99);
  expect(round.payToPaid.p99).toBeGreaterThanOrEqual(round.qrPayToPaid.p99);
  // The payments really happened: paid invoices, confirmed by signed notifications.
  expect(await db.query("select count(*)::int as n from api.invoices where status = 'paid'")).toEqual([{ n: 3 }]);
  expect(
    await db.query(
      "select count(distinct order_id)::int as n from api.payment_notifications where transaction_status = 'settlement' and signature_valid",
    ),
  ).toEqual([{ n: 3 }]);
  // The worker process was a real one, and it is gone.
  expect(round.workerPids).toHaveLength(1);
  expect(round.workerPids[0]).not.toBe(process.pid);
  expect(pidIsAlive(round.workerPids[0]!)).toBe(false);

  // Where the CPU went: the worker process worked; the test cluster's PostgreSQL is shared, so not reported.
  expect(round.cpu.workerProcesses).toBeGreaterThan(0);
  // PostgREST's share is measured (its process was found); three payments may take it less than one clock tick.
  expect(round.cpu.postgrest).toEqual(expect.any(Number));
  expect(round.cpu.postgres).toBeUndefined();
  expect(round.cpu.bench).toBeGreaterThan(0);

  expect(report.baseline.before.requestsPerSecond).toBeGreaterThan(0);
  expect(report.baseline.after.errors).toBe(0);
  expect(report.scaling).toBeUndefined(); // one worker count only
  expect(report.gateway.calls).toBe(20);
  expect(report.gateway.ratio).toBeGreaterThan(0);

  const text = formatPaymentsReport(report, "the test machine");
  expect(text).toContain("on the test machine: 3 payments per worker count, 3 in flight");
  expect(text).toContain(
    "| worker processes | paid / started | payments/s | ÷ 1 worker | ÷ health req/s | pay→paid p50 / p95 / p99 ms | pay→QR p50 / p95 / p99 ms | QR paid→paid p50 / p95 / p99 ms |",
  );
  expect(text).toContain(`| 1 | 3 / 3 | ${round.paymentsPerSecond.toFixed(2)} | 1.00 |`);
  expect(text).toMatch(/GET \/rpc\/health.*\d+ req\/s before the payments, \d+ after/);
  expect(text).toMatch(/Gateway policy overhead.*ratio \d+\.\d\d, overhead -?\d+\.\d{3} ms per call/);
  expect(text).toMatch(/\n\| 1 \| \d+\.\d\d \| – \| \d+\.\d\d \| \d+\.\d\d \| \d+\.\d\d \|/);
  expect(text).not.toContain("Failed payments");
});

test("a payment that never gets its QR (no worker runs) is reported as failed, not waited for forever", async () => {
  const invoices = await prepareInvoices(stack.apiUrl, 1);
  const started = Date.now();
  const timings = await drivePayments({
    apiUrl: stack.apiUrl,
    simulatorUrl: stack.simulatorUrl,
    observerToken: await observerToken(stack.apiUrl, db.connections.superuser),
    invoices,
    concurrency: 1,
    timeoutMs: 1_500,
    pollMs: 25,
  });
  expect(Date.now() - started).toBeLessThan(20_000);
  expect(timings).toEqual([
    expect.objectContaining({ invoiceId: invoices[0]!.invoiceId, error: "waiting for the QR: timed out" }),
  ]);
});

test("the figures replace what is between the README's markers, and nothing else", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bench-readme-"));
  try {
    const file = path.join(dir, "README.md");
    fs.writeFileSync(
      file,
      `# Benchmarks\n\n## Payments\n\nwhy\n\n${README_START}\nold figures\n${README_END}\n\nafter\n`,
    );
    writeReadmeResults(file, "| new | figures |");
    expect(fs.readFileSync(file, "utf8")).toBe(
      `# Benchmarks\n\n## Payments\n\nwhy\n\n${README_START}\n| new | figures |\n${README_END}\n\nafter\n`,
    );
    // The real README has the block the benchmark writes into.
    const readme = fs.readFileSync(path.join(__dirname, "../../bench/README.md"), "utf8");
    expect(readme.indexOf(README_START)).toBeGreaterThan(readme.indexOf("## Payments"));
    expect(readme.indexOf(README_END)).toBeGreaterThan(readme.indexOf(README_START));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
