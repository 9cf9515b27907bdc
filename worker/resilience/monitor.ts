/**
 * The resilience monitor of one worker instance: it writes the snapshot of
 * each breaker it tracks to the database on every state change (the
 * gateway's onStateChange) and on every heartbeat (with the totals and
 * last_seen_at, which tell admins the instance is alive), and resets a
 * breaker when api.reset_circuit_breaker asks.
 *
 * A reset request reaches it two ways: NOTIFY on the control channel (at
 * once), and the answer of every snapshot write (the latest request's
 * time), so a request sent while the listening connection was down is
 * applied on the next heartbeat, or as soon as the connection is back (a
 * reconnection reports every breaker at once). The instance remembers, per
 * breaker, the time of the last request it applied, starting at its start
 * on the database's clock (the clock the request times come from): a
 * request is applied once, whichever way it comes first, and one older than
 * the instance is ignored (its breakers were born closed after it).
 *
 *   const monitor = createResilienceMonitor({ instance: workerInstance(), heartbeatMs: 15_000 });
 *   const gateway = monitor.track("midtrans", (onStateChange) => createMidtransGateway({ ..., onStateChange }));
 *   await monitor.start(workerConnectionString);  // startWorker does this when given the monitor
 *   ...
 *   await monitor.stop();                         // removes this instance's rows
 *
 * Nothing here throws into the gateway: a failed write is logged and the
 * next heartbeat writes the snapshot again.
 */
import { Pool } from "pg";
import type { BreakerSnapshot, BreakerState } from "../payments/circuit-breaker";
import {
  controlApplicationName,
  listenForControl,
  type ControlCommand,
  type ControlListener,
} from "./control-listener";
import type { WorkerInstance } from "./instance";
import { createSnapshotWriter, type SnapshotWriter } from "./snapshot-writer";

/** What the monitor needs of a breaker's owner (the Midtrans gateway has both). */
export type MonitoredBreaker = { resilienceSnapshot(): BreakerSnapshot; resetBreaker(): void };

export type StateChangeListener = (state: BreakerState, snapshot: BreakerSnapshot) => void;

export type MonitorLog = (level: "info" | "warn" | "error", message: string) => void;

export type ResilienceMonitor = {
  readonly instance: WorkerInstance;
  readonly heartbeatMs: number;
  /** Creates the breaker's owner with the listener that reports its changes, and tracks it under `name`. */
  track<T extends MonitoredBreaker>(name: string, create: (onStateChange: StateChangeListener) => T): T;
  /** Connects (as app_worker), writes every snapshot, starts the heartbeat and the control listener. */
  start(connectionString: string, log?: MonitorLog): Promise<void>;
  /** Stops beating and listening, writes what is pending, then removes this instance's rows. */
  stop(): Promise<void>;
};

const stderrLog: MonitorLog = (level, message) => process.stderr.write(`[resilience] ${level}: ${message}\n`);

export function createResilienceMonitor(options: { instance: WorkerInstance; heartbeatMs: number }): ResilienceMonitor {
  const { instance, heartbeatMs } = options;
  const breakers = new Map<string, MonitoredBreaker>();
  /** Per breaker, the time of the last reset request applied (ms since the epoch). */
  const lastAppliedReset = new Map<string, number>();
  /** The instance's start on the database's clock; until it is read, its own. */
  let startedAtMs = instance.startedAt.getTime();
  let running:
    | { pool: Pool; writer: SnapshotWriter; listener: ControlListener | null; beat: NodeJS.Timeout; log: MonitorLog }
    | undefined;
  let stopping: Promise<void> | undefined;

  const reportAll = () => {
    for (const [name, breaker] of breakers) {
      // resilienceSnapshot() also moves an open breaker whose delay passed to
      // half-open (reported through onStateChange as well).
      running?.writer.record(name, breaker.resilienceSnapshot());
    }
  };

  /** Resets the breaker unless this request (identified by its time) was applied already or predates the instance. */
  const applyReset = (name: string, requestedAt: Date | null, how: string, requestedBy?: string | null) => {
    const breaker = breakers.get(name);
    if (!breaker || !running) return; // a breaker another kind of instance has
    if (requestedAt) {
      const at = requestedAt.getTime();
      if (at <= (lastAppliedReset.get(name) ?? startedAtMs)) return;
      lastAppliedReset.set(name, at);
    }
    breaker.resetBreaker();
    // A reset of a closed breaker changes no state, so report it here.
    running.writer.record(name, breaker.resilienceSnapshot());
    const by = requestedBy === undefined ? "" : ` by ${requestedBy ?? "an unknown user"}`;
    running.log(
      "info",
      `reset the ${name} breaker as requested${by} at ${requestedAt?.toISOString() ?? "an unknown time"} (${how})`,
    );
  };

  const onCommand = (command: ControlCommand) =>
    applyReset(command.name, command.requestedAt, "notified", command.requestedBy);

  function stop(): Promise<void> {
    stopping ??= (async () => {
      const r = running;
      if (!r) return;
      // From here on changes are no longer recorded, so none lands after the rows are removed.
      running = undefined;
      clearInterval(r.beat);
      await r.listener
        ?.close()
        .catch((error: unknown) => r.log("warn", `closing the control channel: ${describe(error)}`));
      await r.writer.flush();
      try {
        await r.pool.query("select app_hidden.forget_worker_instance($1)", [instance.id]);
      } catch (error) {
        r.log("warn", `could not remove this instance's breaker rows: ${describe(error)}`);
      }
      await r.pool.end();
    })();
    return stopping;
  }

  return {
    instance,
    heartbeatMs,
    track(name, create) {
      if (breakers.has(name)) throw new Error(`a breaker named ${name} is already tracked`);
      const owner = create((_state, snapshot) => {
        try {
          running?.writer.record(name, snapshot);
        } catch {
          // never into the gateway; the heartbeat writes it again
        }
      });
      breakers.set(name, owner);
      return owner;
    },
    async start(connectionString, log = stderrLog) {
      if (running || stopping) throw new Error("a resilience monitor starts once");
      const pool = new Pool({ connectionString, max: 1 });
      pool.on("error", (error) => log("warn", `snapshot connection: ${error.message}`));
      try {
        const { rows } = await pool.query<{ now: Date }>("select now()");
        startedAtMs = rows[0]!.now.getTime();
      } catch (error) {
        await pool.end().catch(() => undefined);
        throw error;
      }
      const writer = createSnapshotWriter(pool, instance, heartbeatMs, log, (name, requestedAt) =>
        applyReset(name, requestedAt, "found on a snapshot write"),
      );
      const beat = setInterval(reportAll, heartbeatMs);
      beat.unref();
      running = { pool, writer, listener: null, beat, log };
      reportAll();
      try {
        running.listener = await listenForControl(connectionString, onCommand, log, {
          applicationName: controlApplicationName(instance.id),
          // A request may have been missed while the connection was down:
          // the snapshot writes answer with the latest one.
          onReconnected: reportAll,
        });
      } catch (error) {
        await stop();
        throw error;
      }
      await writer.flush();
    },
    stop,
  };
}

const describe = (error: unknown): string => (error instanceof Error ? error.message : String(error));
