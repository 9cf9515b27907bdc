/**
 * Keeps graphile-worker's runner going through a database outage.
 *
 * graphile-worker 0.17.3 survives most of an outage by itself (fetching jobs,
 * the LISTEN client and the schedule retry), but not a job completion or
 * failure that meets the lost connection: its batchers' retry loop rethrows
 * on the first error (graphile/worker#636), the worker pool then calls that
 * "an inconsistent state" and shuts down, and the runner ends with that
 * error. The process would go on without taking jobs.
 *
 * So when the runner ends with an error, and we did not ask it to stop, this
 * starts it again, after 1 s and then backing off to 30 s while the database
 * is still unreachable, for as long as the process runs. Before each start
 * `restart` may release what the dead runner held (worker/runner.ts unlocks
 * its jobs, so they run again at once instead of after graphile-worker's
 * 4-hour lock expiry). A runner that ends without an error (graphile-worker
 * stops by itself on a breaking migration of its schema) is not restarted.
 */
import type { Runner } from "graphile-worker";

export type SupervisorLog = (level: "error" | "warn" | "info", message: string) => void;

export type SupervisedRunner = {
  /** The runner now alive, if any (none between a death and the next start). */
  current(): Runner | undefined;
  /** No more restarts; the live runner's graceful stop (resolves at once if none is alive). */
  stop(): Promise<void>;
  /** No more restarts; the live runner's kill. */
  kill(reason?: string): Promise<void>;
  /** Settles when stopped, or when a runner ended cleanly by itself; never rejects. */
  promise: Promise<void>;
};

export type SupervisorOptions = {
  /** Starts a new runner (after releasing what the dead one held); rejects while the database is unreachable. */
  restart(): Promise<Runner>;
  log: SupervisorLog;
  /** Wait before the n-th start attempt after a death (0-based). */
  restartDelayMs?: (attempt: number) => number;
};

export const defaultRestartDelayMs = (attempt: number): number => Math.min(30_000, 1_000 * 2 ** attempt);

const message = (error: unknown): string => (error instanceof Error ? error.message : String(error));

export function superviseRunner(first: Runner, options: SupervisorOptions): SupervisedRunner {
  const delayMs = options.restartDelayMs ?? defaultRestartDelayMs;
  let live: Runner | undefined = first;
  let stopRequested = false;
  let wake: () => void = () => undefined;
  let starting: Promise<unknown> | undefined;

  /** Waits `ms` unless a stop is requested first. */
  const pause = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });

  const lifetime = async (): Promise<void> => {
    let runner = first;
    for (;;) {
      let failure: { error: unknown } | undefined;
      await runner.promise.catch((error: unknown) => {
        failure = { error };
      });
      live = undefined;
      if (stopRequested) return;
      if (!failure) {
        options.log("warn", "the job runner ended by itself; not starting it again");
        return;
      }
      options.log("error", `the job runner stopped: ${message(failure.error)}; starting it again`);
      for (let attempt = 0; ; attempt++) {
        await pause(delayMs(attempt));
        if (stopRequested) return;
        const attemptStart = options.restart();
        starting = attemptStart.catch(() => undefined);
        try {
          runner = await attemptStart;
        } catch (error) {
          options.log("warn", `starting the job runner again failed (attempt ${attempt + 1}): ${message(error)}`);
          continue;
        } finally {
          starting = undefined;
        }
        if (stopRequested) {
          // Stopped while it was starting: stop this one too.
          await runner.stop().catch(() => undefined);
          return;
        }
        live = runner;
        options.log("info", "the job runner is running again");
        break;
      }
    }
  };
  const promise = lifetime();

  const requestStop = async (): Promise<Runner | undefined> => {
    stopRequested = true;
    wake();
    // A start under way ends first (the lifetime then stops what it started).
    if (starting) await starting;
    return live;
  };

  return {
    current: () => live,
    async stop() {
      const runner = await requestStop();
      if (runner) await runner.stop();
      await promise;
    },
    async kill(reason) {
      const runner = await requestStop();
      if (runner) await runner.kill(reason);
    },
    promise,
  };
}
