/**
 * The realtime benchmark's servers, each in a child process of its own so
 * that its memory and sockets are its alone: the hub
 * (bench/realtime-hub-process.ts) and the bare `ws` fan-out server of the
 * baseline (bench/ws-fanout-process.ts). Started, asked for their memory
 * (VmRSS from /proc after a garbage collection they are told to run), and
 * stopped (SIGTERM: they close their sockets; SIGKILL after 10 s), also by
 * the run's clean-up.
 */
import fs from "node:fs";
import { projectRoot } from "../config/paths";
import { spawnManaged } from "../services/child-process";
import type { Cleanup } from "./cleanup";

export const READY_PREFIX = "hub ready ";
export const MEMORY_PREFIX = "hub memory ";

export type HubMemory = {
  /** VmRSS of the hub process (/proc/<pid>/status), bytes; undefined where /proc cannot tell. */
  vmRss: number | undefined;
  /** V8's heap in use after the collection, bytes. */
  heapUsed: number;
  /** Memory outside V8's heap held by JavaScript objects (buffers), bytes. */
  external: number;
  /** The sockets the server holds (the hub's /health count). */
  sockets: number;
};

export type ServerChild = {
  pid: number;
  /** ws://127.0.0.1:<port>/realtime */
  url: string;
  memory(): Promise<HubMemory>;
  /** Whether the process still runs. */
  running(): boolean;
  stop(): Promise<void>;
};

const START_TIMEOUT_MS = 60_000;
const MEMORY_TIMEOUT_MS = 15_000;

/** VmRSS of a process in bytes, from /proc (Linux). */
export function vmRssOf(pid: number): number | undefined {
  try {
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"));
    return match ? Number(match[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** The hub, started as the worker starts it, logged in as app_worker. */
export function startHubChild(
  env: { workerDatabaseUrl: string; jwtSecret: string },
  cleanup: Cleanup,
  log: (line: string) => void,
): Promise<ServerChild> {
  return startServerChild(
    "the hub process",
    "bench/realtime-hub-process.ts",
    { REALTIME_BENCH_HUB_DATABASE_URL: env.workerDatabaseUrl, REALTIME_BENCH_HUB_JWT_SECRET: env.jwtSecret },
    cleanup,
    log,
  );
}

/** The bare `ws` fan-out server of the baseline. */
export function startFanoutChild(cleanup: Cleanup, log: (line: string) => void): Promise<ServerChild> {
  return startServerChild("the bare fan-out server", "bench/ws-fanout-process.ts", {}, cleanup, log);
}

async function startServerChild(
  name: string,
  script: string,
  env: Record<string, string>,
  cleanup: Cleanup,
  log: (line: string) => void,
): Promise<ServerChild> {
  let pending = "";
  let url: string | undefined;
  let memoryWaiter: ((memory: Omit<HubMemory, "vmRss">) => void) | undefined;
  const onLine = (line: string) => {
    if (line.startsWith(READY_PREFIX)) url = line.slice(READY_PREFIX.length).trim();
    else if (line.startsWith(MEMORY_PREFIX)) {
      const reported = JSON.parse(line.slice(MEMORY_PREFIX.length)) as Omit<HubMemory, "vmRss">;
      memoryWaiter?.(reported);
    } else if (line.trim()) log(`${name}: ${line}`);
  };
  const managed = spawnManaged(
    process.execPath,
    ["--expose-gc", "--import", "tsx", script],
    { cwd: projectRoot, env: { ...process.env, ...env } },
    {
      onLog: (text) => {
        pending += text;
        const lines = pending.split("\n");
        pending = lines.pop() ?? "";
        lines.forEach(onLine);
      },
      stopSignal: "SIGTERM",
      escalateTo: "SIGKILL",
      graceMs: 10_000,
      exitSignal: "SIGKILL",
    },
  );
  const stop = cleanup.add(name, () => managed.stop());
  const exited = () => managed.child.exitCode !== null || managed.child.signalCode !== null;
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (url === undefined) {
    if (exited() || Date.now() > deadline) {
      await stop();
      throw new Error(`${name} did not start:\n${managed.recentOutput()}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const pid = managed.child.pid!;
  return {
    pid,
    url,
    running: () => !exited(),
    memory: () =>
      new Promise<HubMemory>((resolve, reject) => {
        const timer = setTimeout(() => {
          memoryWaiter = undefined;
          reject(new Error(`${name} did not report its memory within ${MEMORY_TIMEOUT_MS / 1000} s`));
        }, MEMORY_TIMEOUT_MS);
        memoryWaiter = (reported) => {
          clearTimeout(timer);
          memoryWaiter = undefined;
          // Read right after the collection the process just reported.
          const { heapUsed, external, sockets } = reported;
          resolve({ vmRss: vmRssOf(pid), heapUsed, external, sockets });
        };
        process.kill(pid, "SIGUSR2");
      }),
    stop,
  };
}
