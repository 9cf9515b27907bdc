/**
 * A WebSocket client of the realtime hub (the `ws` library, as a Node
 * client would use it): every frame it receives is kept, and tests wait for
 * the ones they expect with a deadline.
 */
import WebSocket from "ws";

export type ServerFrame = { type: string; [key: string]: unknown };

export type HubClient = {
  socket: WebSocket;
  frames: ServerFrame[];
  /** Set when the socket closed: the close code. */
  closed: () => number | undefined;
  /** The close frame's reason ("" when none, undefined while open). */
  closeReason: () => string | undefined;
  send(frame: unknown): void;
  /** The first received frame (old or new) matching `match`, within `ms`. */
  waitFor(match: (f: ServerFrame) => boolean, ms?: number): Promise<ServerFrame>;
  waitForClose(ms?: number): Promise<number>;
  /** The events received so far. */
  events(): ServerFrame[];
  close(): Promise<void>;
};

async function until<T>(what: string, ms: number, probe: () => T | undefined): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const found = probe();
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`${what} within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/**
 * Opens a socket; `via: "protocol"` sends the token as Sec-WebSocket-Protocol: jasaweb, <token>.
 * `options` are the ws client's (e.g. `headers`, or `localAddress` to connect from 127.0.0.2).
 */
export async function connectHub(
  url: string,
  token: string,
  via: "query" | "protocol" = "query",
  options: WebSocket.ClientOptions = {},
): Promise<HubClient> {
  const socket =
    via === "query"
      ? new WebSocket(`${url}?token=${encodeURIComponent(token)}`, options)
      : new WebSocket(url, ["jasaweb", token], options);
  const frames: ServerFrame[] = [];
  let closeCode: number | undefined;
  let reason: string | undefined;
  socket.on("message", (data) => frames.push(JSON.parse(data.toString()) as ServerFrame));
  socket.on("close", (code, why) => {
    reason = why.toString();
    closeCode = code;
  });
  await new Promise<void>((resolve, reject) => {
    socket.once("open", () => resolve());
    socket.once("error", reject);
    socket.once("unexpected-response", (_request, response) =>
      reject(new Error(`upgrade refused with ${response.statusCode}`)),
    );
  });
  const client: HubClient = {
    socket,
    frames,
    closed: () => closeCode,
    closeReason: () => reason,
    send: (frame) => socket.send(typeof frame === "string" ? frame : JSON.stringify(frame)),
    waitFor: (match, ms = 20_000) => until("the expected frame did not arrive", ms, () => frames.find(match)),
    waitForClose: (ms = 20_000) => until("the socket did not close", ms, () => closeCode),
    events: () => frames.filter((f) => f.type === "event"),
    async close() {
      if (closeCode !== undefined) return;
      socket.close();
      await until("the socket did not close", 5_000, () => closeCode);
    },
  };
  // The automatic rooms are announced first: the socket is registered.
  await client.waitFor((f) => f.type === "joined");
  return client;
}

/** The HTTP status and JSON body with which the hub refuses an upgrade. */
export async function refusedUpgrade(
  url: string,
  token: string | undefined,
  via: "query" | "protocol" = "query",
): Promise<{ status: number; body: { code: string } }> {
  const socket =
    token === undefined
      ? new WebSocket(url)
      : via === "query"
        ? new WebSocket(`${url}?token=${encodeURIComponent(token)}`)
        : new WebSocket(url, ["jasaweb", token]);
  return new Promise((resolve, reject) => {
    socket.once("open", () => {
      socket.terminate();
      reject(new Error("the upgrade was accepted"));
    });
    socket.once("error", () => undefined);
    socket.once("unexpected-response", (_request, response) => {
      let text = "";
      response.on("data", (chunk: Buffer) => (text += chunk.toString()));
      response.on("end", () =>
        resolve({ status: response.statusCode ?? 0, body: JSON.parse(text) as { code: string } }),
      );
    });
  });
}
