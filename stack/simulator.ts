/**
 * `npm run simulator`: the Midtrans simulator on its own (development and
 * tests only; it is not part of the image). Prints where it listens, its
 * server key and how to pay; SIGTERM or SIGINT stops it (exit 0). A bad
 * setting is one line naming it.
 */
import { readSimulatorSettings } from "../config/simulator-settings";
import { describeStartupFailure } from "../config/startup-error";
import { startSimulator } from "../simulator";

function print(line: string): void {
  process.stdout.write(`[simulator] ${line}\n`);
}

async function main(): Promise<void> {
  const settings = readSimulatorSettings();
  const simulator = await startSimulator(settings, { log: print });
  print(`Midtrans simulator (Core API v2): ${simulator.url}`);
  print(`server key:    ${simulator.serverKey}  (HTTP Basic username, empty password)`);
  print(
    `notifications: ${settings.notificationUrl ?? "none by default (set SIMULATOR_NOTIFICATION_URL, or send X-Override-Notification with a charge)"}`,
  );
  print(`pay a QRIS:    open ${simulator.url}/ and press Pay, or`);
  print(`               curl -X POST ${simulator.url}/simulate/pay/<order_id>`);
  print("development and tests only: /simulate/* and the page need no key. Ctrl-C to stop.");

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    print(`${signal}, stopping`);
    void simulator.stop().then(() => process.exit(0));
  };
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGTERM", () => stop("SIGTERM"));
}

main().catch((error: unknown) => {
  process.stderr.write(`simulator: ${describeStartupFailure(error)}\n`);
  process.exit(1);
});
