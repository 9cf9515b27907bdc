/**
 * A bounded graceful stop of the graphile-worker runner.
 *
 * First the runner's own graceful stop (`runner.stop()`): no new jobs are
 * taken, the schedule stops, running jobs may finish. graphile-worker 0.17
 * puts no bound on that wait, and its `runner.kill()` cannot force a stop
 * that is already graceful (it only forces an active pool). So at the bound,
 * or on `force()` (a second signal), this calls the worker pool's own
 * `forcefulShutdown()`: the jobs still running are "failed" by
 * graphile-worker's failJobs, which unlocks them at once with its retry
 * back-off (run_at + e^attempts seconds: 2.7 s after a first attempt), so
 * another worker takes them within seconds instead of waiting hours for the
 * lock to expire. The payment tasks are idempotent (the order id is recorded
 * before the charge), so running one again is safe.
 *
 * Then the worker's connection pool is closed; a task still running in this
 * process can no longer write (its job is already released).
 */
import type { Runner, WorkerPool } from "graphile-worker";
import type { Pool } from "pg";

export type ShutdownOutcome = {
  /** Jobs were still running at the bound (or on force()) and were released. */
  forced: boolean;
  /** The ids of the jobs released to other workers. */
  releasedJobIds: string[];
  /** Problems met on the way (the stop still completed). */
  errors: string[];
};

export type ShutdownParts = {
  runner: Pick<Runner, "stop">;
  /** The runner's worker pool (captured from graphile-worker's `pool:create` event). */
  workerPool: () => WorkerPool | undefined;
  /** The connection pool the runner was given; closed last. */
  pgPool: Pool;
};

export type WorkerShutdown = {
  /** Starts the stop (once; later calls return the same promise). */
  stop(timeoutMs: number): Promise<ShutdownOutcome>;
  /** Releases running jobs now instead of waiting for the bound (starts the stop if needed). */
  force(): Promise<ShutdownOutcome>;
};

const message = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/** Waits for `promise` at most `ms`; never rejects. */
const settledWithin = (promise: Promise<unknown>, ms: number): Promise<void> =>
  new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    void promise.then(
      () => {
        clearTimeout(timer);
        resolve();
      },
      () => {
        clearTimeout(timer);
        resolve();
      },
    );
  });

/** How long the forced part may take (graphile-worker's own forceful timeout is 5 s). */
const FORCE_GRACE_MS = 6_000;

export function createWorkerShutdown(parts: ShutdownParts): WorkerShutdown {
  let stopping: Promise<ShutdownOutcome> | undefined;
  let requestForce: () => void = () => undefined;
  const forceRequested = new Promise<"force">((resolve) => {
    requestForce = () => resolve("force");
  });

  const run = async (timeoutMs: number): Promise<ShutdownOutcome> => {
    const errors: string[] = [];
    const graceful = parts.runner.stop().then(
      () => "stopped" as const,
      (error: unknown) => {
        // "Runner is already stopped": it ended by itself (e.g. a fatal error).
        errors.push(`graceful stop: ${message(error)}`);
        return "stopped" as const;
      },
    );
    let timer: NodeJS.Timeout | undefined;
    const bound = new Promise<"bound">((resolve) => {
      timer = setTimeout(() => resolve("bound"), timeoutMs);
    });
    const first = await Promise.race([graceful, bound, forceRequested]);
    clearTimeout(timer);

    let releasedJobIds: string[] = [];
    let forced = false;
    const workerPool = parts.workerPool();
    if (first !== "stopped" && workerPool) {
      forced = true;
      try {
        const result = await workerPool.forcefulShutdown(
          first === "bound" ? `worker stopping: still running after ${timeoutMs} ms` : "worker stopping: forced",
        );
        releasedJobIds = result.forceFailedJobs.map((job) => job.id);
      } catch (error) {
        errors.push(`forced stop: ${message(error)}`);
      }
      // The graceful stop ends (with an error graphile-worker logs) once the
      // forced one has; it does not release the connections then.
      await settledWithin(graceful, FORCE_GRACE_MS);
    }
    // A client still checked out by an abandoned task would hold end() up.
    await settledWithin(
      parts.pgPool.end().catch((error: unknown) => {
        // end() twice ("Called end on pool more than once") changes nothing.
        if (!/more than once/.test(message(error))) errors.push(`closing connections: ${message(error)}`);
      }),
      FORCE_GRACE_MS,
    );
    return { forced, releasedJobIds, errors };
  };

  return {
    stop(timeoutMs) {
      stopping ??= run(timeoutMs);
      return stopping;
    },
    force() {
      requestForce();
      stopping ??= run(0);
      return stopping;
    },
  };
}
