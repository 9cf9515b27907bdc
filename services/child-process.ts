/**
 * The servers the stack runs as child processes (PostgreSQL, PostgREST):
 * their recent output kept for error messages, a stop that escalates if the
 * child does not exit, and a last-resort signal if this process exits while
 * a child still runs (e.g. a signal arrived during start-up).
 *
 * Each child runs in a process group of its own, so the Ctrl-C a terminal
 * sends to its foreground group reaches only the stack, which then stops
 * the children in order. (When PostgreSQL got the Ctrl-C too, it shut down
 * under the running worker, which logged a burst of "terminating connection"
 * errors, and a stop could end before PostgreSQL's.)
 */
import { spawn, type ChildProcess, type SpawnOptions } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

export type ManagedChild = {
  child: ChildProcess;
  /** The last lines the child printed. */
  recentOutput(): string;
  /** Sends `signal`, waits for the exit, escalates to `escalateTo` after `graceMs`. */
  stop(): Promise<void>;
};

/** A child's output as it comes, with the stream it came on (lines of the two may interleave). */
export type OutputSink = (text: string, stream: "stdout" | "stderr") => void;

type ManageOptions = {
  onLog?: OutputSink;
  stopSignal: NodeJS.Signals;
  escalateTo: NodeJS.Signals;
  graceMs: number;
  /** Sent to a child still running when this process exits. */
  exitSignal: NodeJS.Signals;
};

const live = new Map<ChildProcess, NodeJS.Signals>();
process.on("exit", () => {
  for (const [child, signal] of live) child.kill(signal);
});

export function spawnManaged(
  command: string,
  args: string[],
  spawnOptions: SpawnOptions,
  options: ManageOptions,
): ManagedChild {
  const child = spawn(command, args, { ...spawnOptions, detached: true, stdio: ["ignore", "pipe", "pipe"] });
  live.set(child, options.exitSignal);
  child.once("exit", () => live.delete(child));
  const log: string[] = [];
  const onData = (stream: "stdout" | "stderr") => (chunk: Buffer) => {
    const text = chunk.toString("utf8");
    log.push(text);
    if (log.length > 50) log.shift();
    options.onLog?.(text, stream);
  };
  child.stdout?.on("data", onData("stdout"));
  child.stderr?.on("data", onData("stderr"));

  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      const escalate = setTimeout(() => child.kill(options.escalateTo), options.graceMs);
      child.once("exit", () => {
        clearTimeout(escalate);
        resolve();
      });
      child.kill(options.stopSignal);
    });
    return stopping;
  };
  return { child, recentOutput: () => log.join("").slice(-2000), stop };
}

export function pidIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

export async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (pidIsAlive(pid)) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 100));
  }
  return true;
}

/**
 * A server whose parent is no longer a Node process was left behind by a
 * stack that was killed (SIGKILL, a crash) before it could stop it: nobody
 * runs it any more. Linux only (/proc); elsewhere every live server counts
 * as someone else's.
 */
export function isLeftOver(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    const parent = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    if (parent === 1) return true;
    const executable = fs.readFileSync(`/proc/${parent}/cmdline`, "utf8").split("\0")[0] ?? "";
    return !path.basename(executable).startsWith("node");
  } catch {
    return false;
  }
}

/**
 * Stops the process recorded in `pidFile` if a killed stack left it running
 * (see isLeftOver); returns its pid when it did. A live process that a
 * running stack still owns is left alone.
 */
export async function stopLeftOver(pidFile: string, signal: NodeJS.Signals): Promise<number | undefined> {
  if (!fs.existsSync(pidFile)) return undefined;
  const pid = Number(fs.readFileSync(pidFile, "utf8").split("\n")[0]);
  if (!Number.isInteger(pid) || pid <= 0 || !pidIsAlive(pid) || !isLeftOver(pid)) return undefined;
  process.kill(pid, signal);
  await waitForExit(pid, 30_000);
  return pid;
}
