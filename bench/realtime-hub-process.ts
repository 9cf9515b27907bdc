/**
 * The realtime benchmark's hub process: the WebSocket hub alone, started the
 * way the worker process starts it (startRealtimeHub with app_worker's URL
 * and its default options), so that its memory and sockets are measured
 * without the load generator's. Run by bench/realtime-server-child.ts as
 * `node --expose-gc --import tsx bench/realtime-hub-process.ts` with
 *
 *   REALTIME_BENCH_HUB_DATABASE_URL   app_worker's connection string
 *   REALTIME_BENCH_HUB_JWT_SECRET     the secret PostgREST verifies tokens with
 *
 * It prints `hub ready <ws url>` once listening (on a free port of
 * 127.0.0.1). SIGUSR2 makes it collect garbage and print
 * `hub memory <json>` (process.memoryUsage() and the sockets it holds);
 * SIGTERM stops the hub (closing its sockets) and exits.
 */
import { startRealtimeHub } from "../realtime/hub";
import { MEMORY_PREFIX, READY_PREFIX } from "./realtime-server-child";

async function main(): Promise<void> {
  const connectionString = process.env.REALTIME_BENCH_HUB_DATABASE_URL;
  const jwtSecret = process.env.REALTIME_BENCH_HUB_JWT_SECRET;
  if (!connectionString || !jwtSecret)
    throw new Error("REALTIME_BENCH_HUB_DATABASE_URL and REALTIME_BENCH_HUB_JWT_SECRET are required");
  const hub = await startRealtimeHub({
    connectionString,
    port: 0,
    host: "127.0.0.1",
    jwtSecret,
    onLog: (line) => process.stderr.write(`hub: ${line}\n`),
  });

  process.on("SIGUSR2", () => {
    const collect = (globalThis as { gc?: () => void }).gc;
    // Twice: the first pass may only queue finalisers.
    collect?.();
    collect?.();
    void hub
      .health()
      .then((health) =>
        process.stdout.write(
          `${MEMORY_PREFIX}${JSON.stringify({ ...process.memoryUsage(), sockets: health.sockets, collected: !!collect })}\n`,
        ),
      );
  });
  let stopping = false;
  process.on("SIGTERM", () => {
    if (stopping) return;
    stopping = true;
    void hub.stop().finally(() => process.exit(0));
  });
  process.stdout.write(`${READY_PREFIX}${hub.url}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`hub: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
