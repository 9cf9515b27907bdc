/**
 * Where the CPU went during a round: CPU time of given processes (and of a
 * parent's children, e.g. PostgreSQL's backends) and of the whole machine,
 * read from /proc. Linux only; elsewhere every figure is undefined. A
 * process that ended during the round is not counted (the stack's
 * connections are pooled, so its processes live through a round).
 */
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";

let ticksPerSecond: number | undefined;
function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync("getconf", ["CLK_TCK"]).toString().trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

type Stat = { ppid: number; comm: string; cpuSeconds: number };

function readStat(pid: number): Stat | undefined {
  try {
    const text = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    const close = text.lastIndexOf(")");
    const comm = text.slice(text.indexOf("(") + 1, close);
    // Fields after the name: state ppid … utime (14th field overall) stime (15th).
    const fields = text.slice(close + 2).split(" ");
    return { ppid: Number(fields[1]), comm, cpuSeconds: (Number(fields[11]) + Number(fields[12])) / clockTicks() };
  } catch {
    return undefined;
  }
}

function allPids(): number[] {
  try {
    return fs
      .readdirSync("/proc")
      .filter((name) => /^\d+$/.test(name))
      .map(Number);
  } catch {
    return [];
  }
}

/** The children of `ppid` (optionally only those whose name is `comm`). */
export function childrenOf(ppid: number, comm?: string): number[] {
  return allPids().filter((pid) => {
    const stat = readStat(pid);
    return stat !== undefined && stat.ppid === ppid && (comm === undefined || stat.comm === comm);
  });
}

/** CPU seconds (user + system) of these processes so far; undefined when /proc cannot tell. */
export function cpuSecondsOf(pids: number[]): number | undefined {
  let total = 0;
  for (const pid of pids) {
    const stat = readStat(pid);
    if (!stat) return undefined;
    total += stat.cpuSeconds;
  }
  return pids.length ? total : undefined;
}

/** The whole machine: busy and total CPU seconds over all cores so far. */
export function machineCpuSeconds(): { busy: number; total: number } | undefined {
  try {
    const first = fs.readFileSync("/proc/stat", "utf8").split("\n")[0]!;
    const ticks = first.trim().split(/\s+/).slice(1).map(Number);
    const total = ticks.reduce((a, b) => a + b, 0);
    const idle = (ticks[3] ?? 0) + (ticks[4] ?? 0); // idle + iowait
    return { busy: (total - idle) / clockTicks(), total: total / clockTicks() };
  } catch {
    return undefined;
  }
}

export type CpuWindow = {
  /** Cores each group kept busy since the window opened (CPU seconds ÷ wall seconds); undefined where /proc could not tell. */
  end(): {
    groups: Record<string, number | undefined>;
    bench: number;
    machine: number | undefined;
    machineCores: number;
  };
};

/** CPU seconds so far of each of these processes that /proc knows. */
function cpuByPid(pids: number[]): Map<number, number> {
  const found = new Map<number, number>();
  for (const pid of pids) {
    const stat = readStat(pid);
    if (stat) found.set(pid, stat.cpuSeconds);
  }
  return found;
}

/**
 * Opens a window over which the CPU of process groups (each given as a
 * function returning its pids, read at both ends), this process and the
 * whole machine is measured. A process that appears during the window
 * counts whole; one that ends during it is not counted (pooled connections
 * make both rare).
 */
export function openCpuWindow(groups: Record<string, () => number[]>): CpuWindow {
  const sample = () => {
    const usage = process.cpuUsage();
    return {
      at: performance.now(),
      groups: Object.fromEntries(Object.entries(groups).map(([name, pids]) => [name, cpuByPid(pids())])),
      bench: (usage.user + usage.system) / 1e6,
      machine: machineCpuSeconds(),
    };
  };
  const before = sample();
  return {
    end() {
      const after = sample();
      const seconds = (after.at - before.at) / 1000;
      const machineCores = os.cpus().length;
      const groupCores: Record<string, number | undefined> = {};
      for (const name of Object.keys(groups)) {
        const start = before.groups[name]!;
        const end = after.groups[name]!;
        let busy = 0;
        for (const [pid, cpu] of end) busy += Math.max(0, cpu - (start.get(pid) ?? 0));
        groupCores[name] = end.size ? busy / seconds : undefined;
      }
      return {
        groups: groupCores,
        bench: (after.bench - before.bench) / seconds,
        machine:
          before.machine && after.machine && after.machine.total > before.machine.total
            ? ((after.machine.busy - before.machine.busy) / (after.machine.total - before.machine.total)) * machineCores
            : undefined,
        machineCores,
      };
    },
  };
}
