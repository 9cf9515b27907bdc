/**
 * The worker's bounded graceful stop (worker/shutdown.ts) with the real
 * runner, database and simulator: a charge that ends within the bound is
 * finished; one still running at the bound is released at once (not left
 * locked) and another worker charges it, once; force() does not wait for
 * the bound; the connections are closed.
 */
import { Logger } from "@graphile/logger";
import { startApi, type TestApi } from "../helpers/api";
import { registerClient, type SignedIn } from "../helpers/auth";
import { createSeededDatabase, type TestDatabase } from "../helpers/database";
import { expectMidtransAndDatabaseAgree, orderAndPay, simulatorPayments, until, waitForQr } from "../helpers/payments";
import { simulate, startTestSimulator, transactionsOf } from "../helpers/simulator";
import { TEST_MIDTRANS_SERVER_KEY } from "../setup/cluster";
import { startWorker, type WorkerRunner } from "../../worker/runner";
import type { RunningSimulator } from "../../simulator";

let db: TestDatabase;
let api: TestApi;
let simulator: RunningSimulator;
let client: SignedIn;
const workers: WorkerRunner[] = [];

const quiet = () => new Logger(() => () => undefined);
const newWorker = async () => {
  const worker = await startWorker(db.connections.worker, {
    pollInterval: 200,
    payments: simulatorPayments(simulator),
    logger: quiet(),
  });
  workers.push(worker);
  return worker;
};

beforeAll(async () => {
  db = await createSeededDatabase();
  api = await startApi(db);
  simulator = await startTestSimulator({
    serverKey: TEST_MIDTRANS_SERVER_KEY,
    notificationUrl: `${api.url}/rpc/midtrans_notification`,
  });
  client = await registerClient(api);
});

afterAll(async () => {
  await simulator?.stop();
  await api?.stop();
  await db?.drop();
});

afterEach(async () => {
  // Each test's workers are its own.
  for (const worker of workers.splice(0)) await worker.stopWithin(1_000);
  await simulate(simulator, "DELETE", "/simulate/faults");
});

type JobRow = { id: string; locked_by: string | null; attempts: number; run_in_ms: number; last_error: string | null };
const chargeJob = async (orderId: string): Promise<JobRow | undefined> =>
  (
    await db.query<JobRow>(
      `select id::text, locked_by, attempts, (extract(epoch from run_at - now()) * 1000)::int as run_in_ms, last_error
         from graphile_worker._private_jobs where key = $1`,
      [`invoices__create_qris_payment:${orderId}`],
    )
  )[0];

const workerConnections = async () =>
  (
    await db.query<{ n: number }>(
      "select count(*)::int as n from pg_stat_activity where datname = $1 and usename = 'app_worker'",
      [db.name],
    )
  )[0]!.n;

test("a charge that ends within the bound is finished, then the worker's connections are closed", async () => {
  const worker = await newWorker();
  await simulate(simulator, "POST", "/simulate/faults", { latency: { ms: 1_500, path: "/v2/charge" } });
  const { invoiceId, orderId } = await orderAndPay(api, client);
  await until("the charge job running", async () => ((await chargeJob(orderId))?.locked_by ? true : undefined));

  const started = Date.now();
  const outcome = await worker.stopWithin(15_000);
  expect(outcome).toEqual({ forced: false, releasedJobIds: [], errors: [] });
  expect(Date.now() - started).toBeLessThan(15_000);
  // The job ran to its end: the QR is on the invoice and the job is gone.
  await waitForQr(db, invoiceId, 1_000);
  expect(await chargeJob(orderId)).toBeUndefined();
  await until("no app_worker connection", async () => ((await workerConnections()) === 0 ? true : undefined));
  await expectMidtransAndDatabaseAgree(db, simulator, [invoiceId]);
});

test("a charge still running at the bound is released at once; another worker charges it, once", async () => {
  const first = await newWorker();
  // Midtrans takes 6 s to answer this charge (and then creates it).
  await simulate(simulator, "POST", "/simulate/faults", { latency: { ms: 6_000, path: "/v2/charge" } });
  const { invoiceId, orderId } = await orderAndPay(api, client);
  const running = await until("the charge job running", async () => {
    const job = await chargeJob(orderId);
    return job?.locked_by ? job : undefined;
  });

  const started = Date.now();
  const outcome = await first.stopWithin(1_000);
  const took = Date.now() - started;
  expect(outcome).toEqual({ forced: true, releasedJobIds: [running.id], errors: [] });
  expect(took).toBeGreaterThanOrEqual(1_000);
  expect(took).toBeLessThan(5_000);
  // Released, not locked for hours: unlocked, with graphile-worker's retry
  // back-off of a first attempt (e^1 s), and the reason.
  const released = await chargeJob(orderId);
  expect(released).toEqual({
    id: running.id,
    locked_by: null,
    attempts: 1,
    run_in_ms: expect.any(Number),
    last_error: "worker stopping: still running after 1000 ms",
  });
  expect(released!.run_in_ms).toBeLessThanOrEqual(2_800);
  await until("no app_worker connection", async () => ((await workerConnections()) === 0 ? true : undefined));

  await simulate(simulator, "DELETE", "/simulate/faults");
  await newWorker();
  await waitForQr(db, invoiceId);
  // The first charge reached Midtrans too (answered after 6 s): still one transaction.
  await until("the first worker's charge processed", async () => (Date.now() - started > 6_500 ? true : undefined));
  expect((await transactionsOf(simulator)).filter((t) => t.order_id === orderId)).toHaveLength(1);
  await expectMidtransAndDatabaseAgree(db, simulator, [invoiceId]);
});

test("force() (a second signal) releases running jobs without waiting for the bound", async () => {
  const first = await newWorker();
  await simulate(simulator, "POST", "/simulate/faults", { latency: { ms: 4_000, path: "/v2/charge" } });
  const { invoiceId, orderId } = await orderAndPay(api, client);
  const running = await until("the charge job running", async () => {
    const job = await chargeJob(orderId);
    return job?.locked_by ? job : undefined;
  });
  const started = Date.now();
  const stopping = first.stopWithin(60_000);
  await new Promise((r) => setTimeout(r, 200));
  const forced = await first.forceStop();
  expect(await stopping).toBe(forced);
  expect(forced).toEqual({ forced: true, releasedJobIds: [running.id], errors: [] });
  expect(Date.now() - started).toBeLessThan(4_000);
  expect((await chargeJob(orderId))?.locked_by).toBeNull();

  await simulate(simulator, "DELETE", "/simulate/faults");
  await newWorker();
  await waitForQr(db, invoiceId);
  await until("the first worker's charge processed", async () => (Date.now() - started > 4_500 ? true : undefined));
  await expectMidtransAndDatabaseAgree(db, simulator, [invoiceId]);
});
