/**
 * The realtime benchmark's bare fan-out server: a `ws` WebSocketServer with
 * nothing of the hub (no token, no database, no rooms, no records), in a
 * child process of its own like the hub's. It is the same-run baseline of
 * a broadcast's fan-out and of memory per socket: what Node and `ws` alone
 * cost on this machine with the same clients.
 *
 * A socket gets `{type: "replayed", count: 0}` on connect (as the hub ends
 * its replay). The text frame `fanout` from any socket makes it send one
 * event frame of a broadcast's size to every socket. It prints
 * `hub ready <ws url>`; SIGUSR2 and SIGTERM work as in
 * bench/realtime-hub-process.ts.
 */
import { WebSocketServer } from "ws";
import { MEMORY_PREFIX, READY_PREFIX } from "./realtime-server-child";

const server = new WebSocketServer({ host: "127.0.0.1", port: 0, path: "/realtime", maxPayload: 16 * 1024 });
let nextId = 0;

server.on("connection", (socket) => {
  socket.on("error", () => undefined);
  socket.send('{"type":"replayed","count":0}');
  socket.on("message", (data) => {
    if (data.toString() !== "fanout") return;
    nextId += 1;
    const frame = JSON.stringify({
      type: "event",
      id: nextId,
      event: "fanout",
      room: "all",
      payload: { title: "Siaran uji", message: "Pesan uji untuk semua.", sent_by: crypto.randomUUID() },
      created_at: new Date().toISOString(),
    });
    for (const client of server.clients) if (client.readyState === client.OPEN) client.send(frame);
  });
});

server.on("listening", () => {
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  process.stdout.write(`${READY_PREFIX}ws://127.0.0.1:${port}/realtime\n`);
});

process.on("SIGUSR2", () => {
  const collect = (globalThis as { gc?: () => void }).gc;
  collect?.();
  collect?.();
  process.stdout.write(
    `${MEMORY_PREFIX}${JSON.stringify({ ...process.memoryUsage(), sockets: server.clients.size, collected: !!collect })}\n`,
  );
});
process.on("SIGTERM", () => {
  for (const client of server.clients) client.close(1001, "stopping");
  server.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 2_000).unref();
});
