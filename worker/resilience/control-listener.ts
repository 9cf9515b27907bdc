/**
 * The worker's control channel: one dedicated LISTEN connection (pg-listen:
 * reconnects and checks the connection itself) on `worker_control`, where
 * api.reset_circuit_breaker sends {command, name, requested_by}.
 *
 * NOTIFY is not replayed: a command sent while this instance's connection
 * was down never reaches it (the admin sees the breaker still open in
 * resilience_status and sends it again).
 */
import createSubscriber from "pg-listen";

export const CONTROL_CHANNEL = "worker_control";

export type ControlCommand = { command: "reset_circuit_breaker"; name: string; requestedBy: string | null };

export type ControlListener = { close(): Promise<void> };

export type ListenerLog = (level: "info" | "warn" | "error", message: string) => void;

/** A payload of the channel as a command, or null when it is not one we know. */
export function parseControlCommand(payload: unknown): ControlCommand | null {
  if (typeof payload !== "object" || payload === null) return null;
  const p = payload as Record<string, unknown>;
  if (p.command !== "reset_circuit_breaker" || typeof p.name !== "string" || p.name === "") return null;
  return { command: p.command, name: p.name, requestedBy: typeof p.requested_by === "string" ? p.requested_by : null };
}

export async function listenForControl(
  connectionString: string,
  onCommand: (command: ControlCommand) => void,
  log: ListenerLog,
): Promise<ControlListener> {
  const subscriber = createSubscriber(
    { connectionString },
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
  return { close: () => subscriber.close() };
}
