/**
 * The servers the stack runs as child processes (PostgreSQL, PostgREST):
 * their recent output kept for error messages, a stop that escalates if the
 * child does not exit, and a last-resort signal if this process exits while
 * a child still runs (e.g. a signal arrived during start-up).
 */
import { spawn, type ChildProcess, type SpawnOptions } from "node:child_process";

export type ManagedChild = {
  child: ChildProcess;
  /** The last lines the child printed. */
  recentOutput(): string;
  /** Sends `signal`, waits for the exit, escalates to `escalateTo` after `graceMs`. */
  stop(): Promise<void>;
};

type ManageOptions = {
  onLog?: (text: string) => void;
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
  const child = spawn(command, args, { ...spawnOptions, stdio: ["ignore", "pipe", "pipe"] });
  live.set(child, options.exitSignal);
  child.once("exit", () => live.delete(child));
  const log: string[] = [];
  const onData = (chunk: Buffer) => {
    const text = chunk.toString("utf8");
    log.push(text);
    if (log.length > 50) log.shift();
    options.onLog?.(text);
  };
  child.stdout?.on("data", onData);
  child.stderr?.on("data", onData);

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
