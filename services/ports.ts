/** Port checks for the servers the stack and the tests start. */
import net from "node:net";

/** Tries to listen on the port: null if that worked (the port is released again), else why not. */
function listenError(port: number, host: string): Promise<NodeJS.ErrnoException | null> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once("error", (error: NodeJS.ErrnoException) => resolve(error));
    server.listen(port, host, () => server.close(() => resolve(null)));
  });
}

/** Whether the port can be listened on now (any refusal counts as not free). */
export async function portIsFree(port: number, host = "127.0.0.1"): Promise<boolean> {
  return (await listenError(port, host)) === null;
}

/**
 * Whether something already listens on the port: true only for EADDRINUSE.
 * Any other refusal (an address that is not this machine's, a privileged
 * port) is left for the server's own listen to report.
 */
export async function portInUse(port: number, host = "127.0.0.1"): Promise<boolean> {
  return (await listenError(port, host))?.code === "EADDRINUSE";
}

/** A port the OS says is free right now (for throw-away test and bench servers). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}
