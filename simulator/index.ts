/**
 * The Midtrans simulator in-process: `startSimulator(settings)` listens and
 * returns its URL, its server key and `stop()`. `npm run simulator`
 * (stack/simulator.ts) runs it alone; tests start their own.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { StartupError } from "../config/startup-error";
import type { SimulatorSettings } from "../config/simulator-settings";
import { Faults } from "./faults";
import { Notifier } from "./notifications";
import { createRequestHandler } from "./server";
import { TransactionStore } from "./transactions";

export type RunningSimulator = {
  /** e.g. http://127.0.0.1:3900 (no trailing slash): the Core API base URL and the dashboard. */
  url: string;
  serverKey: string;
  /** Stops listening, drops open connections (also those a timeout fault holds) and every pending delivery. */
  stop(): Promise<void>;
};

export type SimulatorOptions = { log?: (line: string) => void };

export async function startSimulator(
  settings: SimulatorSettings,
  options: SimulatorOptions = {},
): Promise<RunningSimulator> {
  const faults = new Faults();
  const notifier = new Notifier(settings, faults);
  const store = new TransactionStore((tx, change) => notifier.notify(tx, change));
  const server = http.createServer(
    createRequestHandler({ store, notifier, faults, serverKey: settings.serverKey, log: options.log }),
  );

  await new Promise<void>((resolve, reject) => {
    server.once("error", (error: NodeJS.ErrnoException) => {
      if (error.code === "EADDRINUSE")
        reject(
          new StartupError(
            `Port ${settings.port} on ${settings.host} is already in use, so the Midtrans simulator cannot listen on it. ` +
              "Stop whatever holds it (another simulator?), or choose another port with SIMULATOR_PORT=<port>.",
          ),
        );
      else if (error.code === "EADDRNOTAVAIL" || error.code === "ENOTFOUND")
        reject(new StartupError(`SIMULATOR_HOST=${settings.host} is not an address of this machine.`));
      else reject(error);
    });
    server.listen(settings.port, settings.host, () => resolve());
  });

  const { port } = server.address() as AddressInfo;
  const host = settings.host.includes(":") ? `[${settings.host}]` : settings.host;
  let stopped: Promise<void> | undefined;
  return {
    url: `http://${host}:${port}`,
    serverKey: settings.serverKey,
    stop() {
      stopped ??= new Promise<void>((resolve) => {
        store.reset();
        notifier.stop();
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return stopped;
    },
  };
}
