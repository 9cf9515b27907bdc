/**
 * The resilience monitor of one worker instance: it writes the snapshot of
 * each breaker it tracks to the database on every state change (the
 * gateway's onStateChange) and on every heartbeat (with the totals and
 * last_seen_at, which tell admins the instance is alive), and resets a
 * breaker when api.reset_circuit_breaker asks on the control channel.
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
import { listenForControl, type ControlCommand, type ControlListener } from "./control-listener";
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

  const onCommand = (command: ControlCommand) => {
    const breaker = breakers.get(command.name);
    if (!breaker) return; // a breaker another kind of instance has
    breaker.resetBreaker();
    // A reset of a closed breaker changes no state, so report it here.
    running?.writer.record(command.name, breaker.resilienceSnapshot());
    running?.log(
      "info",
      `reset the ${command.name} breaker as requested by ${command.requestedBy ?? "an unknown user"}`,
    );
  };

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
      const writer = createSnapshotWriter(pool, instance, heartbeatMs, log);
      const beat = setInterval(reportAll, heartbeatMs);
      beat.unref();
      running = { pool, writer, listener: null, beat, log };
      reportAll();
      try {
        running.listener = await listenForControl(connectionString, onCommand, log);
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
