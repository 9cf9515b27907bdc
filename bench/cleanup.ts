/**
 * What a benchmark started and must undo (child processes, servers, temp
 * directories), undone in reverse order whether the run ends normally,
 * fails, or is interrupted (Ctrl-C, SIGTERM). A second signal during the
 * clean-up exits at once; children still running then get the last-resort
 * signal of services/child-process.ts on exit.
 */
type Undo = { what: string; run: () => Promise<void> | void };

export type Cleanup = {
  /** Registers an undo step; returns a function that runs it early (once) and unregisters it. */
  add(what: string, run: () => Promise<void> | void): () => Promise<void>;
  /** Runs every registered step, newest first (errors are reported, not thrown); add() refuses from then on. */
  runAll(): Promise<void>;
};

export function createCleanup(log: (line: string) => void = (line) => process.stderr.write(`${line}\n`)): Cleanup {
  const steps: Undo[] = [];
  let closed = false;
  const runStep = async (step: Undo) => {
    try {
      await step.run();
    } catch (error) {
      log(`clean-up: ${step.what} failed: ${error instanceof Error ? error.message : String(error)}`);
    }
  };
  return {
    add(what, run) {
      // After an interruption the run must not start anything new.
      if (closed) throw new Error(`interrupted: not starting ${what}`);
      const step = { what, run };
      steps.push(step);
      return async () => {
        const index = steps.indexOf(step);
        if (index < 0) return;
        steps.splice(index, 1);
        await runStep(step);
      };
    },
    async runAll() {
      closed = true;
      while (steps.length) await runStep(steps.pop()!);
    },
  };
}

/**
 * Runs `main` with a clean-up that also runs on SIGINT/SIGTERM; sets the exit
 * code (0, 1 on failure, 130/143 on a signal).
 */
export async function runWithCleanup(main: (cleanup: Cleanup) => Promise<void>): Promise<void> {
  const cleanup = createCleanup();
  let interrupted = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (interrupted) {
      process.stderr.write(`${signal} again: exiting without waiting\n`);
      process.exit(signal === "SIGINT" ? 130 : 143);
    }
    interrupted = true;
    process.stderr.write(`${signal}: stopping what the benchmark started…\n`);
    void cleanup.runAll().finally(() => process.exit(signal === "SIGINT" ? 130 : 143));
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  try {
    await main(cleanup);
  } catch (error) {
    if (!interrupted) {
      console.error(error);
      process.exitCode = 1;
    }
  } finally {
    if (!interrupted) await cleanup.runAll();
  }
}
