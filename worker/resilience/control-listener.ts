/**
 * The worker's control channel: one dedicated LISTEN connection (pg-listen:
 * reconnects and checks the connection itself) on `worker_control`, where
 * api.reset_circuit_breaker sends {command, name, requested_by, requested_at}.
 *
 * NOTIFY is not replayed: a command sent while this instance's connection
 * was down never reaches it here. The request is also recorded in the
 * database, and the monitor finds it on its next heartbeat, or at once when
 * this connection is back (`onReconnected`, after LISTEN is issued again).
 * The connection carries an application_name naming the instance, so it can
 * be told apart in pg_stat_activity.
 */
import createSubscriber from "pg-listen";

export const CONTROL_CHANNEL = "worker_control";

export type ControlCommand = {
  command: "reset_circuit_breaker";
  name: string;
  requestedBy: string | null;
  /** The request's time, which identifies it (null from a database before requests were recorded). */
  requestedAt: Date | null;
};

export type ControlListener = { close(): Promise<void> };

export type ListenerLog = (level: "info" | "warn" | "error", message: string) => void;

/** A payload of the channel as a command, or null when it is not one we know. */
export function parseControlCommand(payload: unknown): ControlCommand | null {
  if (typeof payload !== "object" || payload === null) return null;
  const p = payload as Record<string, unknown>;
  if (p.command !== "reset_circuit_breaker" || typeof p.name !== "string" || p.name === "") return null;
  const requestedAt = typeof p.requested_at === "string" ? new Date(p.requested_at) : null;
  return {
    command: p.command,
    name: p.name,
    requestedBy: typeof p.requested_by === "string" ? p.requested_by : null,
    requestedAt: requestedAt && !Number.isNaN(requestedAt.getTime()) ? requestedAt : null,
  };
}

/** The control connection's application_name (PostgreSQL keeps 63 bytes). */
export function controlApplicationName(instanceId: string): string {
  return `worker-control:${instanceId}`.slice(0, 63);
}

export async function listenForControl(
  connectionString: string,
  onCommand: (command: ControlCommand) => void,
  log: ListenerLog,
  options: { applicationName?: string; onReconnected?: () => void } = {},
): Promise<ControlListener> {
  const subscriber = createSubscriber(
    { connectionString, ...(options.applicationName ? { application_name: options.applicationName } : {}) },
    {
      paranoidChecking: 10_000,
      // Keep trying for as long as the worker runs, backing off to 5 s.
      retryInterval: (attempt) => Math.min(5_000, 250 * 2 ** attempt),
      retryTimeout: 0,
    },
  );
  // Without an error listener an EventEmitter error would crash the worker.
  subscriber.events.on("error", (error) => log("error", `control channel: ${error.message}`));
  subscriber.events.on("reconnect", (attempt) => log("warn", `control channel: reconnecting (attempt ${attempt})`));
  subscriber.notifications.on(CONTROL_CHANNEL, (payload: unknown) => {
    const command = parseControlCommand(payload);
    if (!command) {
      log("warn", `control channel: ignored an unknown command ${JSON.stringify(payload)}`);
      return;
    }
    onCommand(command);
  });
  await subscriber.connect();
  try {
    await subscriber.listenTo(CONTROL_CHANNEL);
  } catch (error) {
    await subscriber.close().catch(() => undefined);
    throw error;
  }
  // pg-listen emits "connected" again after a reconnection, once LISTEN has
  // been issued again: what was sent while it was down may have been missed.
  subscriber.events.on("connected", () => {
    log("info", "control channel: reconnected");
    options.onReconnected?.();
  });
  return { close: () => subscriber.close() };
}
