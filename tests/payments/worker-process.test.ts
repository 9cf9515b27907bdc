/**
 * The stand-alone worker process (`node --import tsx stack/worker.ts`, what
 * `npm run worker` runs) killed and stopped while a Midtrans charge is in
 * flight, with the real database, PostgREST and the simulator:
 *   - SIGKILL while a charge that Midtrans accepted is unanswered (the
 *     simulator's acceptThenTimeoutNext), then a new process: the dead worker's job stays
 *     locked, reconciliation queues the charge again, the same order id keeps
 *     it to one Midtrans transaction, the QR is stored, the payment lands once;
 *   - SIGTERM mid-charge: the process exits within WORKER_SHUTDOWN_TIMEOUT_MS
 *     (plus start-up margin), the job is released, and another worker
 *     process completes it.
 * Each ends with the simulator and the database agreeing.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { projectRoot } from "../../config/paths";
import { withClient } from "../../db/pg";
import type { RunningSimulator } from "../../simulator";
import { startApi, type TestApi } from "../helpers/api";
import { registerClient, type SignedIn } from "../helpers/auth";
import { createSeededDatabase, type TestDatabase } from "../helpers/database";
import {
  expectMidtransAndDatabaseAgree,
  invoiceRow,
  orderAndPay,
  until,
  waitForQr,
  waitForStatus,
} from "../helpers/payments";
import { simulate, startTestSimulator, transactionsOf } from "../helpers/simulator";
import { TEST_MIDTRANS_SERVER_KEY } from "../setup/cluster";

let db: TestDatabase;
let api: TestApi;
let simulator: RunningSimulator;
let client: SignedIn;

type WorkerProcess = { child: ChildProcess; output: () => string; exited: Promise<number | null> };
const processes: WorkerProcess[] = [];

/** A worker process as `npm run worker` starts it; resolves once it says it runs. */
async function startWorkerProcess(env: Record<string, string> = {}): Promise<WorkerProcess> {
  const { DATABASE_URL: _ignored, ...inherited } = process.env;
  const child = spawn(process.execPath, ["--import", "tsx", "stack/worker.ts"], {
    cwd: projectRoot,
    env: {
      ...inherited,
      WORKER_DATABASE_URL: db.connections.worker,
      MIDTRANS_SERVER_KEY: TEST_MIDTRANS_SERVER_KEY,
      MIDTRANS_BASE_URL: simulator.url,
      WORKER_SHUTDOWN_TIMEOUT_MS: "1500",
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  const worker = { child, output: () => output, exited };
  processes.push(worker);
  await until(
    "the worker process to start",
    async () => {
      if (child.exitCode !== null) throw new Error(`the worker exited at start:\n${output}`);
      return output.includes("worker: running as app_worker") ? true : undefined;
    },
    30_000,
  );
  return worker;
}

beforeAll(async () => {
  db = await createSeededDatabase();
  api = await startApi(db);
  simulator = await startTestSimulator({
    serverKey: TEST_MIDTRANS_SERVER_KEY,
    notificationUrl: `${api.url}/rpc/midtrans_notification`,
  });
  client = await registerClient(api);
}, 60_000);

afterEach(async () => {
  for (const worker of processes.splice(0)) {
    if (worker.child.exitCode === null && worker.child.signalCode === null) worker.child.kill("SIGKILL");
    await worker.exited;
  }
  await simulate(simulator, "DELETE", "/simulate/faults");
});

afterAll(async () => {
  await simulator?.stop();
  await api?.stop();
  await db?.drop();
});

type JobRow = { id: string; locked_by: string | null };
const chargeJobs = (orderId: string) =>
  db.query<JobRow>(
    `select j.id::text, j.locked_by from graphile_worker._private_jobs j
       join graphile_worker._private_tasks t on t.id = j.task_id
      where t.identifier = 'invoices__create_qris_payment' and j.payload ->> 'attempt_id' =
            (select id::text from api.payment_attempts where order_id = $1)`,
    [orderId],
  );

const runningCharge = (orderId: string) =>
  until("the charge job running", async () => {
    const jobs = await chargeJobs(orderId);
    return jobs.find((j) => j.locked_by) ?? undefined;
  });

/** The payer pays; Midtrans notifies; the worker confirms. */
async function payAndWait(invoiceId: string, orderId: string): Promise<void> {
  expect((await simulate(simulator, "POST", `/simulate/pay/${orderId}`)).status).toBe(200);
  await waitForStatus(db, invoiceId, "paid");
}

test("a worker SIGKILLed mid-charge: a new worker and reconciliation charge it once; the payment lands once", async () => {
  const killed = await startWorkerProcess();
  // Midtrans creates the charge but never answers: the worker waits for its timeout (15 s).
  await simulate(simulator, "POST", "/simulate/faults", { acceptThenTimeoutNext: { count: 1, path: "/v2/charge" } });
  const { invoiceId, orderId } = await orderAndPay(api, client);
  const job = await runningCharge(orderId);
  await until("Midtrans to have created the charge", async () =>
    (await transactionsOf(simulator)).some((t) => t.order_id === orderId) ? true : undefined,
  );
  killed.child.kill("SIGKILL");
  await killed.exited;

  const successor = await startWorkerProcess();
  // The dead worker's job stays locked: nothing takes it, no QR.
  await new Promise((r) => setTimeout(r, 3_000));
  expect(await chargeJobs(orderId)).toEqual([{ id: job.id, locked_by: job.locked_by }]);
  expect((await invoiceRow(db, invoiceId)).qris_url).toBeNull();

  await simulate(simulator, "DELETE", "/simulate/faults");
  // What the every-minute schedule does after a minute without a recorded charge.
  const queued = await withClient(db.connections.worker, async (w) => {
    const { rows } = await w.query<{ n: number }>(
      "select app_hidden.queue_payment_reconciliation(interval '0', interval '0') as n",
    );
    return rows[0]!.n;
  });
  expect(queued).toBe(1);
  await waitForQr(db, invoiceId);
  // The retry met Midtrans' duplicate order id and took the existing transaction.
  expect((await transactionsOf(simulator)).filter((t) => t.order_id === orderId)).toHaveLength(1);

  await payAndWait(invoiceId, orderId);
  await expectMidtransAndDatabaseAgree(db, simulator, [invoiceId]);
  expect(successor.output()).toContain(`charged ${orderId} by QRIS`);
});

test("SIGTERM mid-charge: the process exits within the bound, the job is released and another worker completes it", async () => {
  const stopped = await startWorkerProcess();
  await simulate(simulator, "POST", "/simulate/faults", { latency: { ms: 8_000, path: "/v2/charge" } });
  const { invoiceId, orderId } = await orderAndPay(api, client);
  const job = await runningCharge(orderId);

  const signalled = Date.now();
  stopped.child.kill("SIGTERM");
  const code = await stopped.exited;
  const took = Date.now() - signalled;
  expect(code).toBe(0);
  // WORKER_SHUTDOWN_TIMEOUT_MS=1500, then the release and closing (a generous margin for a loaded machine).
  expect(took).toBeGreaterThanOrEqual(1_500);
  expect(took).toBeLessThan(1_500 + 5_000);
  expect(stopped.output()).toContain("worker: SIGTERM, stopping (running jobs may finish within 1500 ms)");
  expect(stopped.output()).toContain(`worker: released 1 running job(s) to other workers (${job.id})`);
  expect(await chargeJobs(orderId)).toEqual([{ id: job.id, locked_by: null }]);

  await simulate(simulator, "DELETE", "/simulate/faults");
  // The successor's QR codes stay payable for 45 minutes (custom_expiry from its configuration).
  await startWorkerProcess({ MIDTRANS_QRIS_EXPIRY_MINUTES: "45" });
  await waitForQr(db, invoiceId);
  const expiresIn = Number(
    (
      await db.query<{ ms: string }>(
        "select extract(epoch from qris_expires_at - now()) * 1000 as ms from api.invoices where id = $1",
        [invoiceId],
      )
    )[0]!.ms,
  );
  expect(expiresIn).toBeGreaterThan(44 * 60_000);
  expect(expiresIn).toBeLessThanOrEqual(45 * 60_000);
  await payAndWait(invoiceId, orderId);
  // The stopped worker's charge reaches Midtrans after its 8 s: a duplicate, refused.
  await until("the first charge's 8 s to pass", async () => (Date.now() - signalled > 8_500 ? true : undefined));
  expect((await transactionsOf(simulator)).filter((t) => t.order_id === orderId)).toHaveLength(1);
  await expectMidtransAndDatabaseAgree(db, simulator, [invoiceId]);
});
