/**
 * The realtime benchmark's capacity ramp, on a hub process of its own that
 * held no socket before: sockets are added step by step (one per new user)
 * up to a cap; at each step the hub's memory is read (VmRSS after a
 * garbage collection; per socket against the hub with none) and one
 * broadcast must still reach every socket. The ramp stops at the first
 * step where sockets fail to connect, a socket closes, or the broadcast
 * misses one: the most sockets held is the last step that passed.
 */
import fs from "node:fs";
import { broadcastOnce, type BroadcastRound, type BroadcastTrigger } from "./realtime-broadcast";
import { connectSockets, type BenchSocket } from "./realtime-clients";
import type { ServerChild, HubMemory } from "./realtime-server-child";
import type { BenchUser } from "./realtime-stack";

export type CapacityStep = {
  target: number;
  /** Sockets open on the clients' side after the step. */
  open: number;
  /** Sockets the hub reports holding. */
  hubSockets: number;
  /** New sockets connected per second in this step. */
  connectsPerSecond: number;
  failures: Record<string, number>;
  memory: HubMemory;
  /** (VmRSS − VmRSS with no socket) ÷ sockets, bytes. */
  rssPerSocket: number | undefined;
  /** (heap used − heap used with no socket) ÷ sockets, bytes. */
  heapPerSocket: number;
  broadcast: BroadcastRound;
  passed: boolean;
};

export type CapacityReport = {
  steps: CapacityStep[];
  /** The hub with no socket. */
  idle: HubMemory;
  mostSocketsHeld: number;
  /** Why the ramp ended before its cap (undefined: it reached the cap). */
  stoppedBy: string | undefined;
  /** Max open files (soft) of the benchmark's process and of the hub's. */
  openFilesLimit: { bench: number | undefined; hub: number | undefined };
};

export type CapacitySettings = {
  steps: number[];
  concurrency: number;
  broadcastTimeoutMs: number;
};

/** The soft "Max open files" of a process (/proc/<pid>/limits). */
export function openFilesLimit(pid: number | "self"): number | undefined {
  try {
    const match = /^Max open files\s+(\d+)/m.exec(fs.readFileSync(`/proc/${pid}/limits`, "utf8"));
    return match ? Number(match[1]) : undefined;
  } catch {
    return undefined;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function runCapacity(
  hub: ServerChild,
  broadcast: BroadcastTrigger,
  createClients: (count: number) => Promise<BenchUser[]>,
  settings: CapacitySettings,
  sockets: BenchSocket[],
  log: (line: string) => void,
): Promise<CapacityReport> {
  // Read now: with every descriptor in use, /proc cannot be opened.
  const limits = { bench: openFilesLimit("self"), hub: openFilesLimit(hub.pid) };
  const idle = await hub.memory();
  const steps: CapacityStep[] = [];
  let stoppedBy: string | undefined;
  let mostSocketsHeld = 0;
  for (const target of settings.steps) {
    const users = await createClients(target - sockets.length);
    log(`capacity: connecting ${users.length} more sockets (to ${target})…`);
    const connected = await connectSockets(hub.url, users, {
      concurrency: settings.concurrency,
      timeoutMs: 30_000,
      stopAfterFailures: 20,
    });
    sockets.push(...connected.sockets);
    // The hub writes its connection records every second: let them settle before reading memory.
    await sleep(2_000);
    if (!hub.running()) {
      stoppedBy = `the hub process exited at ${sockets.length} sockets`;
      break;
    }
    const memory = await hub.memory();
    const round = await broadcastOnce(broadcast, "admin_broadcast", sockets, settings.broadcastTimeoutMs);
    const closed = sockets.filter((s) => s.closeCode !== undefined).length;
    const failures = Object.fromEntries(connected.failures);
    const passed =
      connected.failures.size === 0 && closed === 0 && round.reached === sockets.length && !round.duplicates;
    const step: CapacityStep = {
      target,
      open: sockets.length - closed,
      hubSockets: memory.sockets,
      connectsPerSecond: connected.sockets.length / connected.seconds,
      failures,
      memory,
      rssPerSocket:
        memory.vmRss === undefined || idle.vmRss === undefined
          ? undefined
          : (memory.vmRss - idle.vmRss) / sockets.length,
      heapPerSocket: (memory.heapUsed - idle.heapUsed) / sockets.length,
      broadcast: round,
      passed,
    };
    steps.push(step);
    log(
      `capacity ${target}: ${step.open} open, hub holds ${step.hubSockets}, VmRSS ${((memory.vmRss ?? 0) / 2 ** 20).toFixed(0)} MB ` +
        `(${((step.rssPerSocket ?? 0) / 1024).toFixed(1)} kB per socket), broadcast reached ${round.reached}, ` +
        `last ${round.lastMs === undefined ? "–" : round.lastMs.toFixed(0)} ms` +
        (connected.failures.size ? `; failures: ${JSON.stringify(failures)}` : ""),
    );
    if (!passed) {
      stoppedBy =
        connected.failures.size > 0
          ? `sockets failed to connect at ${target}: ${[...connected.failures].map(([r, n]) => `${n} × ${r}`).join("; ")}`
          : closed > 0
            ? `${closed} socket(s) closed at ${target}`
            : `the broadcast reached ${round.reached} of ${sockets.length} sockets (${round.duplicates} duplicated)`;
      break;
    }
    mostSocketsHeld = sockets.length;
  }
  return {
    steps,
    idle,
    mostSocketsHeld,
    stoppedBy,
    openFilesLimit: limits,
  };
}
