/**
 * Writes breaker snapshots of one worker instance to the database
 * (app_hidden.record_breaker_snapshot), one write at a time.
 *
 * `record` never throws and never waits: it keeps the newest snapshot of
 * each breaker and a single loop writes what is pending, in order, on one
 * connection. The table holds only the latest snapshot, so a snapshot that
 * a newer one replaced before it was written loses nothing. A failed write
 * is logged and its snapshot kept (unless a newer one came), and the loop
 * stops: the next record (the next heartbeat at the latest) tries again.
 *
 * Each write answers with the latest reset request of that breaker (when an
 * admin last called api.reset_circuit_breaker for it), handed to
 * `onResetRequested`: the monitor applies it if it has not yet.
 */
import type { Pool } from "pg";
import type { BreakerSnapshot } from "../payments/circuit-breaker";
import type { WorkerInstance } from "./instance";

export type SnapshotWriter = {
  record(breaker: string, snapshot: BreakerSnapshot): void;
  /** Resolves when what was recorded so far has been written or has failed. */
  flush(): Promise<void>;
};

export type WriterLog = (level: "warn" | "error", message: string) => void;

/** Called after each successful write that found a reset request for the breaker. */
export type ResetRequestListener = (breaker: string, requestedAt: Date) => void;

const RECORD_SQL = `select app_hidden.record_breaker_snapshot(
  instance_id => $1, started_at => $2, heartbeat_ms => $3, breaker => $4, state => $5,
  consecutive_failures => $6, half_open_successes => $7, last_failure_at => $8, last_failure_reason => $9,
  opened_at => $10, total_calls => $11, total_failures => $12, total_rejections => $13) as reset_requested_at`;

export function createSnapshotWriter(
  pool: Pool,
  instance: WorkerInstance,
  heartbeatMs: number,
  log: WriterLog,
  onResetRequested: ResetRequestListener = () => undefined,
): SnapshotWriter {
  const pending = new Map<string, BreakerSnapshot>();
  let draining: Promise<void> | null = null;
  let failed = false;

  const write = (breaker: string, s: BreakerSnapshot) =>
    pool.query<{ reset_requested_at: Date | null }>(RECORD_SQL, [
      instance.id,
      instance.startedAt,
      heartbeatMs,
      breaker,
      s.state,
      s.consecutiveFailures,
      s.halfOpenSuccesses,
      s.lastFailureAt,
      s.lastFailureReason,
      s.openedAt,
      s.totals.calls,
      s.totals.failures,
      s.totals.rejections,
    ]);

  async function drain(): Promise<void> {
    failed = false;
    while (pending.size > 0) {
      const [breaker, snapshot] = pending.entries().next().value as [string, BreakerSnapshot];
      pending.delete(breaker);
      let requestedAt: Date | null | undefined;
      try {
        requestedAt = (await write(breaker, snapshot)).rows[0]?.reset_requested_at;
      } catch (error) {
        if (!pending.has(breaker)) pending.set(breaker, snapshot);
        failed = true;
        log("warn", `could not write the ${breaker} breaker snapshot (retried on the next beat): ${describe(error)}`);
        return;
      }
      if (requestedAt) {
        try {
          onResetRequested(breaker, requestedAt);
        } catch (error) {
          log("error", `applying the ${breaker} breaker's reset request: ${describe(error)}`);
        }
      }
    }
  }

  const start = () => {
    draining ??= drain().finally(() => {
      draining = null;
      // Something recorded between the loop's end and now is written at once.
      if (pending.size > 0 && !failed) void start();
    });
    return draining;
  };

  return {
    record(breaker, snapshot) {
      pending.set(breaker, snapshot);
      void start();
    },
    async flush() {
      while (draining) await draining;
    },
  };
}

const describe = (error: unknown): string => (error instanceof Error ? error.message : String(error));
