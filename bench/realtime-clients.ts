/**
 * The realtime benchmark's clients: real `ws` sockets in the benchmark's
 * process, one per user, connected as a browser would
 * (`/realtime?token=<jwt>`), each acking every event as a client should.
 * An event frame is stamped with performance.now() the moment it arrives,
 * before it is parsed (see handleArrivals); scenarios read the frames
 * through `onEvent`.
 */
import crypto from "node:crypto";
import { SignJWT } from "jose";
import WebSocket from "ws";

export type ArrivedEvent = {
  /** The outbox message id. */
  id: number;
  event: string;
  payload: Record<string, unknown>;
  /** performance.now() when the frame arrived. */
  at: number;
};

export type BenchSocket = {
  userId: string;
  socket: WebSocket;
  /** Set by a scenario: called for every event frame. */
  onEvent: (event: ArrivedEvent) => void;
  /** The close code, once closed. */
  closeCode: number | undefined;
  /** Error frames received (code → count). */
  errors: Map<string, number>;
};

export type ConnectResult = {
  sockets: BenchSocket[];
  /** Sockets that could not connect: the reason of each distinct failure, with its count. */
  failures: Map<string, number>;
  seconds: number;
};

/** A client token as PostgREST issues it (HS256, sub, role, jti, exp), signed with the run's secret. */
export function clientToken(secret: Uint8Array, userId: string, role: "app_client" | "app_admin"): Promise<string> {
  return new SignJWT({ role, jti: crypto.randomUUID() })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setSubject(userId)
    .setIssuedAt()
    .setExpirationTime("3h")
    .sign(secret);
}

const ignore = () => undefined;

type Arrival = {
  bench: BenchSocket;
  data: WebSocket.RawData;
  at: number;
  onReplayed: () => void;
  onFail: (reason: string) => void;
};

/**
 * Frames are stamped on arrival and handled (parsed, acked, handed to the
 * scenario) in the next check phase, after every socket that was readable
 * in the same poll has been stamped: a burst of frames (a broadcast to
 * every socket) would otherwise stamp its last frames late by the time it
 * takes to handle the first ones, and the committer's own reply too.
 */
const arrivals: Arrival[] = [];
let scheduled = false;

function handleArrivals(): void {
  scheduled = false;
  const batch = arrivals.splice(0);
  for (const { bench, data, at, onReplayed, onFail } of batch) {
    const frame = JSON.parse(data.toString()) as { type: string; [key: string]: unknown };
    if (frame.type === "event") {
      const id = frame.id as number;
      if (bench.socket.readyState === WebSocket.OPEN) bench.socket.send(`{"type":"ack","id":${id}}`);
      bench.onEvent({ id, event: frame.event as string, payload: frame.payload as Record<string, unknown>, at });
    } else if (frame.type === "replayed") {
      onReplayed();
    } else if (frame.type === "error") {
      const code = String(frame.code);
      bench.errors.set(code, (bench.errors.get(code) ?? 0) + 1);
      if (code === "REPLAY_UNAVAILABLE") onFail("REPLAY_UNAVAILABLE");
    }
  }
}

/**
 * Opens one socket and waits for the end of its replay (`replayed`), after
 * which it is in its rooms and has had what it missed.
 */
function connectOne(url: string, userId: string, token: string, timeoutMs: number): Promise<BenchSocket> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(`${url}?token=${encodeURIComponent(token)}`);
    const bench: BenchSocket = { userId, socket, onEvent: ignore, closeCode: undefined, errors: new Map() };
    let settled = false;
    const fail = (reason: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.terminate();
      reject(new Error(reason));
    };
    const onReplayed = () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(bench);
    };
    const timer = setTimeout(() => fail(`no 'replayed' frame within ${timeoutMs / 1000} s`), timeoutMs);
    socket.on("message", (data) => {
      arrivals.push({ bench, data, at: performance.now(), onReplayed, onFail: fail });
      if (!scheduled) {
        scheduled = true;
        setImmediate(handleArrivals);
      }
    });
    socket.on("close", (code) => {
      bench.closeCode = code;
      fail(`closed with ${code} while connecting`);
    });
    socket.on("error", (error) => fail(error.message));
    socket.on("unexpected-response", (_request, response) => fail(`upgrade refused with ${response.statusCode}`));
  });
}

/**
 * Connects a socket per user, `concurrency` at a time. Stops starting new
 * ones after `stopAfterFailures` failures (the hub or the machine is at a
 * limit); the sockets that did connect are returned with the failures.
 */
export async function connectSockets(
  url: string,
  users: { userId: string; token: string }[],
  options: { concurrency: number; timeoutMs: number; stopAfterFailures: number },
): Promise<ConnectResult> {
  const started = performance.now();
  const sockets: BenchSocket[] = [];
  const failures = new Map<string, number>();
  let failed = 0;
  let next = 0;
  const lane = async () => {
    while (next < users.length && failed < options.stopAfterFailures) {
      const user = users[next++]!;
      try {
        sockets.push(await connectOne(url, user.userId, user.token, options.timeoutMs));
      } catch (error) {
        failed += 1;
        const reason = error instanceof Error ? error.message : String(error);
        failures.set(reason, (failures.get(reason) ?? 0) + 1);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(options.concurrency, users.length) }, lane));
  return { sockets, failures, seconds: (performance.now() - started) / 1000 };
}

/** Closes the sockets (a normal close, then terminate what has not closed within `ms`). */
export async function closeSockets(sockets: BenchSocket[], ms = 5_000): Promise<void> {
  const open = sockets.filter((s) => s.socket.readyState !== WebSocket.CLOSED);
  await Promise.all(
    open.map(
      (s) =>
        new Promise<void>((resolve) => {
          const timer = setTimeout(() => {
            s.socket.terminate();
            resolve();
          }, ms);
          s.socket.once("close", () => {
            clearTimeout(timer);
            resolve();
          });
          s.socket.close();
        }),
    ),
  );
}
