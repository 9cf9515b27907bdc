/**
 * The worker as deployments run it: `node --import tsx stack/worker.ts`
 * (what `npm run worker` runs), one OS process per worker, logged in as
 * app_worker with the Midtrans settings in its environment. Started in a
 * process group of their own (services/child-process.ts), stopped with
 * SIGTERM (running jobs finish), SIGKILL after 10 s.
 */
import { projectRoot } from "../config/paths";
import { spawnManaged, type ManagedChild } from "../services/child-process";
import type { Cleanup } from "./cleanup";

export type WorkerEnvironment = {
  /** postgres://app_worker:…@host/db */
  workerDatabaseUrl: string;
  midtransServerKey: string;
  /** The simulator's URL. */
  midtransBaseUrl: string;
};

export type WorkerProcesses = {
  pids: number[];
  /** Stops every process and waits for their exit. */
  stop(): Promise<void>;
};

const READY = /worker: running as app_worker/;
const START_TIMEOUT_MS = 60_000;

/** The caller's environment without any setting of ours, so that only the given ones apply. */
function cleanEnvironment(): NodeJS.ProcessEnv {
  return Object.fromEntries(
    Object.entries(process.env).filter(
      ([name]) =>
        !/^(PGRST|MIDTRANS|SIMULATOR|BENCH)_/.test(name) &&
        !["DATABASE_URL", "WORKER_DATABASE_URL", "WORKER_PASSWORD", "PGPASSWORD"].includes(name),
    ),
  );
}

async function startOne(env: WorkerEnvironment): Promise<ManagedChild> {
  let output = "";
  const worker = spawnManaged(
    process.execPath,
    ["--import", "tsx", "stack/worker.ts"],
    {
      cwd: projectRoot,
      env: {
        ...cleanEnvironment(),
        WORKER_DATABASE_URL: env.workerDatabaseUrl,
        MIDTRANS_SERVER_KEY: env.midtransServerKey,
        MIDTRANS_BASE_URL: env.midtransBaseUrl,
      },
    },
    {
      // Only the start-up lines are kept; the per-job log lines are read and dropped.
      onLog: (text) => {
        if (output.length < 10_000) output += text;
      },
      stopSignal: "SIGTERM",
      escalateTo: "SIGKILL",
      graceMs: 10_000,
      exitSignal: "SIGKILL",
    },
  );
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (!READY.test(output)) {
    if (worker.child.exitCode !== null || worker.child.signalCode !== null) {
      throw new Error(`a worker process exited during start-up:\n${worker.recentOutput()}`);
    }
    if (Date.now() > deadline) {
      await worker.stop();
      throw new Error(`a worker process did not start within ${START_TIMEOUT_MS / 1000} s:\n${worker.recentOutput()}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return worker;
}

/** Starts `count` worker processes (in parallel) and waits until each says it runs. */
export async function startWorkerProcesses(
  count: number,
  env: WorkerEnvironment,
  cleanup: Cleanup,
): Promise<WorkerProcesses> {
  const started: ManagedChild[] = [];
  const stopAll = cleanup.add(`${count} worker process(es)`, async () => {
    await Promise.all(started.map((w) => w.stop()));
  });
  const results = await Promise.allSettled(
    Array.from({ length: count }, async () => {
      const worker = await startOne(env);
      started.push(worker);
    }),
  );
  const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failed) {
    await stopAll();
    throw failed.reason;
  }
  return { pids: started.map((w) => w.child.pid!), stop: stopAll };
}
