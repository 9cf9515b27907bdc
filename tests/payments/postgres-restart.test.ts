/**
 * PostgreSQL restarted while payments are in flight, on a dedicated embedded
 * server (prepared by the boot sequence of npm start, db/prepare.ts) in a
 * process of its own (tests/helpers/postgres-process.ts), with PostgREST, the
 * worker and the simulator running through it. Charges are under way
 * (Midtrans slow to answer) when the server goes down (fast shutdown) and
 * comes back on the same port; later another charge is under way and the
 * server stops like a crash (immediate shutdown) while the payers pay, so
 * Midtrans' notifications meet the outage. Nothing is restarted by the test
 * but PostgreSQL: PostgREST reconnects by itself, the worker's runner is
 * started again by its supervisor when graphile-worker gives up
 * (worker/runner-supervisor.ts). What failed during the outage is retried by
 * the simulator (its retry schedule scaled down), by graphile-worker, or
 * recovered by reconciliation. Every invoice ends paid exactly once, and
 * Midtrans and the database agree.
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import { projectRoot } from "../../config/paths";
import { Logger } from "@graphile/logger";
import { Pool, type QueryResultRow } from "pg";
import { databaseUrl, withClient } from "../../db/pg";
import { prepareDatabase } from "../../db/prepare";
import { temporaryDataDir } from "../../services/embedded-postgres";
import type { RunningSimulator } from "../../simulator";
import { startWorker, type WorkerRunner } from "../../worker/runner";
import { startApi, type TestApi } from "../helpers/api";
import { registerClient, type SignedIn } from "../helpers/auth";
import { startRestartablePostgres, type RestartablePostgres } from "../helpers/restartable-postgres";
import type { TestDatabase } from "../helpers/database";
import {
  expectMidtransAndDatabaseAgree,
  invoiceRow,
  orderAndPay,
  reconcileNow,
  simulatorPayments,
  until,
  type InvoiceRow,
} from "../helpers/payments";
import { simulate, startTestSimulator } from "../helpers/simulator";
import {
  freePort,
  TEST_CREDENTIALS_KEY,
  TEST_JWT_SECRET,
  TEST_MIDTRANS_SERVER_KEY,
  TEST_PASSWORDS,
} from "../setup/cluster";

const DATABASE = "jasaweb_restart";
const SUPERUSER_PASSWORD = "restart-superuser-password";

let dataDir: string;
let port: number;
let server: RestartablePostgres | undefined;
let db: TestDatabase;
let pool: Pool;
let api: TestApi;
let simulator: RunningSimulator;
let worker: WorkerRunner;
let client: SignedIn;

/** The worker's log, kept to explain a failure. */
const workerLog: string[] = [];

/** The embedded server in a child process, same data and port each time. */
const startServer = (): Promise<RestartablePostgres> => startRestartablePostgres(dataDir, port, SUPERUSER_PASSWORD);

/** Stops the server (fast or immediate shutdown), runs `whileDown`, starts it again on the same port. */
async function restartPostgres(how: "fast" | "immediate", whileDown: () => Promise<void> = async () => undefined) {
  const stopping = server!;
  server = undefined;
  await (how === "fast" ? stopping.stop() : stopping.crash());
  await whileDown();
  server = await startServer();
}

beforeAll(async () => {
  dataDir = temporaryDataDir("jasaweb-restart-test");
  port = await freePort();
  server = await startServer();
  await withClient(server.url("postgres"), (c) => c.query(`create database ${DATABASE}`));
  const superuserUrl = databaseUrl(server.url("postgres"), DATABASE);
  const prepared = await prepareDatabase({
    superuserUrl,
    passwords: TEST_PASSWORDS,
    settings: {
      jwtSecret: TEST_JWT_SECRET,
      credentialsKey: TEST_CREDENTIALS_KEY,
      midtransServerKey: TEST_MIDTRANS_SERVER_KEY,
    },
    seed: { adminEmail: "admin@jasaweb.id", adminPassword: "admin-password-1" },
  });
  pool = new Pool({ connectionString: superuserUrl, max: 2 });
  // The restart breaks idle connections; pg drops them and connects anew.
  pool.on("error", () => undefined);
  db = {
    name: DATABASE,
    url: superuserUrl,
    connections: prepared.connections,
    pool,
    async query<R extends QueryResultRow>(sql: string, params?: unknown[]) {
      return (await pool.query<R>(sql, params)).rows;
    },
    drop: async () => undefined,
  };
  api = await startApi(db);
  simulator = await startTestSimulator({
    serverKey: TEST_MIDTRANS_SERVER_KEY,
    notificationUrl: `${api.url}/rpc/midtrans_notification`,
  });
  worker = await startWorker(prepared.connections.worker, {
    pollInterval: 200,
    payments: simulatorPayments(simulator, { MIDTRANS_CREATE_TIMEOUT_MS: "10000" }),
    logger: new Logger((scope) => (level, message) => {
      workerLog.push(
        `${new Date().toISOString()} ${level} ${String((scope as { label?: string }).label ?? "")} ${message.split("\n")[0]}`,
      );
    }),
    // Started again soon after graphile-worker gives up (production: 1 s doubling to 30 s).
    restartDelayMs: (attempt) => Math.min(2_000, 250 * 2 ** attempt),
  });
  client = await registerClient(api);
}, 120_000);

afterAll(async () => {
  await worker?.stopWithin(2_000);
  await simulator?.stop();
  await api?.stop();
  await pool?.end();
  await server?.stop();
  if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
}, 60_000);

/** Queries that fail while the server is down count as "not yet". */
const tolerant = async <T>(probe: () => Promise<T | undefined>): Promise<T | undefined> => {
  try {
    return await probe();
  } catch {
    return undefined;
  }
};

/** Waits with the worker's recent log in the error. */
async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 90_000): Promise<T> {
  try {
    return await until(what, () => tolerant(probe), timeoutMs);
  } catch (error) {
    throw new Error(`${(error as Error).message}\nworker log:\n${workerLog.slice(-40).join("\n")}`);
  }
}

/**
 * Waits until every invoice satisfies `done`; meanwhile runs what the
 * every-minute reconciliation does, every 3 s (as if its waiting times had passed).
 */
async function allOf(what: string, invoiceIds: string[], done: (row: InvoiceRow) => boolean) {
  let lastReconcile = Date.now();
  await waitFor(what, async () => {
    const rows = await Promise.all(invoiceIds.map((id) => invoiceRow(db, id)));
    if (rows.every(done)) return true;
    if (Date.now() - lastReconcile > 3_000) {
      lastReconcile = Date.now();
      await reconcileNow(db);
    }
    return undefined;
  });
}

/** A charge job of one of these invoices is running (locked by the worker). */
const chargeRunning = (invoiceIds: string[]) =>
  waitFor(
    "a charge running",
    async () => {
      const rows = await db.query(
        `select 1 from graphile_worker._private_jobs j join api.payment_attempts a on a.id::text = j.payload ->> 'attempt_id'
          where j.locked_by is not null and a.invoice_id = any($1::uuid[])`,
        [invoiceIds],
      );
      return rows.length ? true : undefined;
    },
    20_000,
  );

const MIDTRANS_SLOW = { latency: { ms: 1_500, path: "/v2/charge" } };

test("PostgreSQL restarted while payments are in flight (fast, then immediate shutdown): the worker and PostgREST recover by themselves, every invoice is paid once", async () => {
  // 1. Three charges under way (Midtrans answers after 1.5 s) when the server stops (fast shutdown).
  await simulate(simulator, "POST", "/simulate/faults", MIDTRANS_SLOW);
  const first: { invoiceId: string; orderId: string }[] = [];
  for (let i = 0; i < 3; i++) first.push(await orderAndPay(api, client));
  await chargeRunning(first.map((p) => p.invoiceId));
  let statusWhileDown = 0;
  await restartPostgres("fast", async () => {
    // PostgREST answers, but cannot serve: 503 (its connection pool is down).
    statusWhileDown = (await api.request("/invoices?select=id", { token: client.token })).status;
  });
  expect(statusWhileDown).toBe(503);
  await simulate(simulator, "DELETE", "/simulate/faults");
  await allOf(
    "every QR stored after the first restart",
    first.map((p) => p.invoiceId),
    (row) => row.qris_url !== null,
  );

  // 2. Another charge under way when the server stops like a crash (immediate
  // shutdown); the first three payers pay meanwhile, so Midtrans'
  // notifications meet the outage (its retries run out while it lasts).
  await simulate(simulator, "POST", "/simulate/faults", MIDTRANS_SLOW);
  const waiting = await orderAndPay(api, client);
  await chargeRunning([waiting.invoiceId]);
  await restartPostgres("immediate", async () => {
    for (const { orderId } of first)
      expect((await simulate(simulator, "POST", `/simulate/pay/${orderId}`)).status).toBe(200);
    // Let the simulator's (scaled down) retries meet the outage.
    await new Promise((resolve) => setTimeout(resolve, 2_000));
  });
  await simulate(simulator, "DELETE", "/simulate/faults");
  const payments = [...first, waiting];
  const invoiceIds = payments.map((p) => p.invoiceId);
  await allOf("every QR stored after the second restart", invoiceIds, (row) => row.qris_url !== null);
  expect((await simulate(simulator, "POST", `/simulate/pay/${waiting.orderId}`)).status).toBe(200);
  await allOf("every invoice paid", invoiceIds, (row) => row.status === "paid");

  // 3. Recovered by themselves: PostgREST serves, and a new payment goes
  // through the worker and Midtrans' notification alone (no reconciliation).
  const served = await waitFor("PostgREST serving again", async () => {
    const answer = await api.request("/invoices?select=id,status", { token: client.token });
    return answer.status === 200 ? (answer.body as { id: string; status: string }[]) : undefined;
  });
  expect(served.filter((i) => invoiceIds.includes(i.id)).map((i) => i.status)).toEqual([
    "paid",
    "paid",
    "paid",
    "paid",
  ]);
  const after = await orderAndPay(api, client);
  await waitFor("the new payment's QR", async () =>
    (await invoiceRow(db, after.invoiceId)).qris_url ? true : undefined,
  );
  expect((await simulate(simulator, "POST", `/simulate/pay/${after.orderId}`)).status).toBe(200);
  await waitFor("the new payment paid by its notification", async () =>
    (await invoiceRow(db, after.invoiceId)).status === "paid" ? true : undefined,
  );
  invoiceIds.push(after.invoiceId);

  // Nothing left to do for the worker, and nothing left locked.
  await waitFor("no payment job left", async () => {
    const rows = await db.query<{ n: number }>(
      `select count(*)::int as n from graphile_worker._private_jobs j join graphile_worker._private_tasks t on t.id = j.task_id
        where t.identifier in ('invoices__create_qris_payment', 'invoices__confirm_payment') or j.locked_by is not null`,
    );
    return rows[0]!.n === 0 ? true : undefined;
  });
  await expectMidtransAndDatabaseAgree(db, simulator, invoiceIds);
}, 300_000);

test("npm run worker (the process) keeps taking jobs after PostgreSQL restarts under a running charge", async () => {
  // The in-process worker leaves the jobs to the process.
  await worker.stopWithin(2_000);
  const { DATABASE_URL: _ignored, ...inherited } = process.env;
  const child = spawn(process.execPath, ["--import", "tsx", "stack/worker.ts"], {
    cwd: projectRoot,
    env: {
      ...inherited,
      WORKER_DATABASE_URL: db.connections.worker,
      MIDTRANS_SERVER_KEY: TEST_MIDTRANS_SERVER_KEY,
      MIDTRANS_BASE_URL: simulator.url,
      WORKER_SHUTDOWN_TIMEOUT_MS: "1500",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.on("exit", () => resolve()));
  try {
    await until(
      "the worker process to start",
      async () => (output.includes("worker: running as app_worker") ? true : undefined),
      30_000,
    );
    // Its charge is under way (Midtrans answers after 3 s) and cannot be
    // recorded: the server is down for longer. graphile-worker cannot write
    // the job's failure and its runner ends; the process starts it again.
    await simulate(simulator, "POST", "/simulate/faults", { latency: { ms: 3_000, path: "/v2/charge" } });
    const payment = await orderAndPay(api, client);
    await chargeRunning([payment.invoiceId]);
    await restartPostgres("fast", () => new Promise((resolve) => setTimeout(resolve, 4_000)));
    await simulate(simulator, "DELETE", "/simulate/faults");
    await until("the job runner running again", async () =>
      output.includes("the job runner is running again") ? true : undefined,
    );
    // The failed charge runs again by itself (no reconciliation), the payer
    // pays, Midtrans' notification lands.
    await waitFor("the QR after the restart", async () =>
      (await invoiceRow(db, payment.invoiceId)).qris_url ? true : undefined,
    );
    expect((await simulate(simulator, "POST", `/simulate/pay/${payment.orderId}`)).status).toBe(200);
    await waitFor("paid by its notification", async () =>
      (await invoiceRow(db, payment.invoiceId)).status === "paid" ? true : undefined,
    );
    expect(child.exitCode).toBeNull();
    await expectMidtransAndDatabaseAgree(db, simulator, [payment.invoiceId]);
  } catch (error) {
    throw new Error(`${(error as Error).message}\nworker process output:\n${output.slice(-4000)}`);
  } finally {
    child.kill("SIGTERM");
    await exited;
  }
}, 180_000);
