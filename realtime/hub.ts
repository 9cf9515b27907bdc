/**
 * The WebSocket hub (README, Realtime: WebSocket hub): an HTTP server with
 * `GET /health` and WebSocket upgrades on `/realtime`, authenticated with the
 * PostgREST JWT at the upgrade; the outbox feed's messages go to the sockets
 * of their rooms, once per socket. Started by the worker process
 * (stack/worker.ts) and by `npm start`. It talks to the database as
 * app_worker through SQL functions only.
 */
import crypto from "node:crypto";
import http from "node:http";
import type { Duplex } from "node:stream";
import { WebSocketServer, type WebSocket } from "ws";
import { clientAddress, parseTrustedProxies } from "../config/client-address";
import { CLOSE_CODES } from "./close-codes";
import { parseClientFrame } from "./client-frames";
import { connectionRecords } from "./connection-records";
import { hubDatabase, type HubDatabase, type OutboxMessage } from "./database";
import { startOutboxFeed, type OutboxFeed } from "./outbox-feed";
import { RoomIndex } from "./rooms";
import { refusalOfStatus, SUBPROTOCOL, tokenOf, verifyToken, type TokenRefusal, type VerifiedToken } from "./token";

export type RealtimeHubOptions = {
  /** app_worker's connection string. */
  connectionString: string;
  port: number;
  host: string;
  /** The JWT secret PostgREST verifies tokens with. */
  jwtSecret: string;
  /** How often the outbox is read even without a NOTIFY (default 5 s). */
  safetyIntervalMs?: number;
  /** Largest frame a client may send (default 16 kB); larger ones close the socket with 1009. */
  maxPayloadBytes?: number;
  /** At most this many frames per second from one socket (default 50); more close it with 4008. */
  maxFramesPerSecond?: number;
  /** A socket whose unsent data exceeds this is closed with 4009 (default 4 MB). */
  maxBufferedBytes?: number;
  /** How often sockets are pinged; one that has not answered the previous ping is terminated (default 30 s). */
  heartbeatMs?: number;
  /** How often the connection records are written (default 1 s). */
  recordsFlushMs?: number;
  /**
   * How often the tokens of all open sockets are checked again, in one query: a socket whose
   * token was signed out, whose account's role changed or whose account was deleted since is
   * sent an error frame and closed with 4003 (default 30 s).
   */
  tokenRecheckMs?: number;
  /**
   * The proxies (addresses and CIDR ranges) whose X-Forwarded-For is believed for the recorded
   * client address: the rightmost address that is not one of them. Default none: the peer.
   */
  trustedProxies?: string | readonly string[];
  onLog?: (line: string) => void;
};

export type HealthReport = { status: "ok" | "unavailable"; database: boolean; listening: boolean; sockets: number };

export type RealtimeHub = {
  /** ws://host:port/realtime */
  url: string;
  port: number;
  health(): Promise<HealthReport>;
  stop(): Promise<void>;
};

type Session = {
  /** Its api.websocket_connections.connection_id. */
  id: string;
  socket: WebSocket;
  /** Whether it answered the last ping. */
  alive: boolean;
  token: VerifiedToken;
  rooms: Set<string>;
  expiryTimer?: NodeJS.Timeout;
  windowStart: number;
  framesInWindow: number;
  /** Ids of the events most recently sent and not yet acked (at most UNACKED_KEPT): their acks are not counted as a flood. */
  unacked: Set<number>;
};

/** How many sent-but-unacked event ids a socket remembers, so that acking them never trips the flood limit. */
const UNACKED_KEPT = 1_000;

const PROJECT_ROOM = /^project:([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/;
const STATUS_TEXT: Record<number, string> = {
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  503: "Service Unavailable",
};

/** The `last_id` query parameter: the id of the last message the client saw (taken as its ack). */
function lastIdOf(request: http.IncomingMessage): number | null {
  const value = new URL(request.url ?? "/", "http://hub").searchParams.get("last_id");
  if (value === null || !/^[1-9][0-9]{0,15}$/.test(value)) return null;
  const id = Number(value);
  return Number.isSafeInteger(id) ? id : null;
}

/** A header Node may give as several lines, as one comma-separated list. */
function headerList(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(",") : value;
}

function refuseUpgrade(socket: Duplex, status: number, code: string, message: string): void {
  const body = JSON.stringify({ code, message });
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? "Error"}\r\nContent-Type: application/json\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

export async function startRealtimeHub(options: RealtimeHubOptions): Promise<RealtimeHub> {
  const log = options.onLog ?? (() => undefined);
  const trustedProxies = parseTrustedProxies(options.trustedProxies ?? []);
  const secret = new TextEncoder().encode(options.jwtSecret);
  const maxFramesPerSecond = options.maxFramesPerSecond ?? 50;
  const maxBufferedBytes = options.maxBufferedBytes ?? 4 * 1024 * 1024;
  const database: HubDatabase = hubDatabase(options.connectionString);
  const rooms = new RoomIndex<Session>();
  const sessions = new Set<Session>();
  /** The open sessions by connection id, for the records' revival of rows the cleanup gave up on. */
  const sessionsById = new Map<string, Session>();
  const records = connectionRecords(options.connectionString, {
    flushIntervalMs: options.recordsFlushMs ?? 1_000,
    onError: (error) => log(`realtime: writing connection records failed: ${(error as Error).message}`),
    roomsOf: (connectionId) => {
      const session = sessionsById.get(connectionId);
      return session && sessions.has(session) ? [...session.rooms] : undefined;
    },
  });

  /** Whether the frame was handed to the socket. */
  const send = (session: Session, frame: unknown): boolean => {
    const { socket } = session;
    if (socket.readyState !== socket.OPEN) return false;
    if (socket.bufferedAmount > maxBufferedBytes) {
      socket.close(CLOSE_CODES.tooSlow, "too slow");
      return false;
    }
    socket.send(typeof frame === "string" ? frame : JSON.stringify(frame));
    return true;
  };
  /** Records an event handed to a socket and remembers it as awaiting its ack. */
  const sentEvent = (session: Session, messageId: number, room: string): void => {
    records.sent(session.id, messageId, room);
    session.unacked.add(messageId);
    if (session.unacked.size > UNACKED_KEPT) {
      const oldest = session.unacked.values().next();
      if (!oldest.done) session.unacked.delete(oldest.value);
    }
  };
  const sendError = (session: Session, code: string, message: string): void =>
    void send(session, { type: "error", code, message });

  const eventFrame = (message: OutboxMessage, room: string): string =>
    JSON.stringify({
      type: "event",
      id: message.id,
      event: message.event,
      room,
      payload: message.payload,
      created_at: message.created_at,
    });

  const deliver = (messages: OutboxMessage[]): void => {
    const now = Date.now();
    for (const message of messages) {
      if (Date.parse(message.expires_at) <= now) continue;
      const frames = new Map<string, string>();
      const frameFor = (room: string) => {
        let frame = frames.get(room);
        if (frame === undefined) {
          frame = eventFrame(message, room);
          frames.set(room, frame);
        }
        return frame;
      };
      for (const session of rooms.socketsOf(message.rooms)) {
        const room = message.rooms.includes("all") ? "all" : message.rooms.find((r) => session.rooms.has(r))!;
        if (send(session, frameFor(room))) sentEvent(session, message.id, room);
      }
    }
  };

  const armExpiry = (session: Session): void => {
    clearTimeout(session.expiryTimer);
    const delay = Math.min(Math.max(session.token.expiresAt - Date.now(), 0), 2 ** 31 - 1);
    session.expiryTimer = setTimeout(() => session.socket.close(CLOSE_CODES.tokenExpired, "token expired"), delay);
    session.expiryTimer.unref();
  };

  /** Signature and expiry (jose), then revocation and stale role (the database). */
  const authenticate = async (
    token: string,
  ): Promise<{ ok: true; token: VerifiedToken } | { ok: false; refusal: TokenRefusal | "unavailable" }> => {
    const verified = await verifyToken(token, secret);
    if (!verified.ok) return verified;
    let status: string;
    try {
      status = await database.tokenStatus(verified.token.userId, verified.token.jti, verified.token.role);
    } catch (error) {
      log(`realtime: checking a token failed: ${(error as Error).message}`);
      return { ok: false, refusal: "unavailable" };
    }
    const refusal = refusalOfStatus(status);
    return refusal ? { ok: false, refusal } : verified;
  };

  /**
   * The offline queue (README, Realtime: delivery): what the user has not acked, replayed to
   * a socket that just connected. The socket is in its rooms before the replay is read, so a
   * message committed meanwhile comes live, replayed, or both (clients de-duplicate by id).
   */
  const replay = async (session: Session, seenId: number | null): Promise<void> => {
    let messages: OutboxMessage[];
    try {
      messages = await database.replay(session.token.userId, seenId);
    } catch (error) {
      log(`realtime: reading the replay failed: ${(error as Error).message}`);
      return sendError(session, "REPLAY_UNAVAILABLE", "Missed messages could not be read now; reconnect to get them.");
    }
    for (const message of messages) {
      const room = message.rooms.includes("all")
        ? "all"
        : (message.rooms.find((r) => session.rooms.has(r)) ?? `user:${session.token.userId}`);
      if (send(session, eventFrame(message, room))) sentEvent(session, message.id, room);
    }
    send(session, { type: "replayed", count: messages.length });
  };

  const onJoin = async (session: Session, room: string): Promise<void> => {
    if (session.rooms.has(room)) return void send(session, { type: "joined", room });
    const project = PROJECT_ROOM.exec(room);
    if (!project)
      return sendError(
        session,
        "ROOM_FORBIDDEN",
        "Only project:<id> rooms can be joined; user and admin rooms are automatic.",
      );
    let allowed: boolean;
    try {
      allowed = await database.mayJoinProject(session.token.userId, project[1]!);
    } catch {
      return sendError(session, "UNAVAILABLE", "The room could not be checked now; try again.");
    }
    if (!allowed) return sendError(session, "ROOM_FORBIDDEN", "Only the project's owner and admins may join its room.");
    if (session.socket.readyState !== session.socket.OPEN) return;
    session.rooms.add(room);
    rooms.join(session, room);
    send(session, { type: "joined", room });
    records.joined(session.id, room);
  };

  const onLeave = (session: Session, room: string): void => {
    if (!PROJECT_ROOM.test(room))
      return sendError(
        session,
        "ROOM_NOT_LEAVABLE",
        "Only project rooms can be left; user and admin rooms are automatic.",
      );
    if (!session.rooms.has(room)) return sendError(session, "NOT_IN_ROOM", "This socket is not in that room.");
    session.rooms.delete(room);
    rooms.leave(session, room);
    send(session, { type: "left", room });
    records.left(session.id, room);
  };

  const onAuth = async (session: Session, token: string): Promise<void> => {
    const result = await authenticate(token);
    if (!result.ok) {
      if (result.refusal === "unavailable")
        return sendError(session, "UNAVAILABLE", "The token could not be checked now; try again.");
      return sendError(session, result.refusal.code, result.refusal.message);
    }
    if (result.token.userId !== session.token.userId)
      return sendError(session, "AUTH_USER_MISMATCH", "A fresh token must be for the socket's user.");
    if (result.token.role !== session.token.role)
      return sendError(session, "AUTH_ROLE_CHANGED", "The role changed: open a new socket with the new token.");
    session.token = result.token;
    armExpiry(session);
    send(session, { type: "authenticated", expires_at: new Date(result.token.expiresAt).toISOString() });
  };

  const onFrame = (session: Session, data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean): void => {
    const now = Date.now();
    records.touched(session.id);
    if (now - session.windowStart >= 1000) {
      session.windowStart = now;
      session.framesInWindow = 0;
    }
    // Past the limit the socket is closing: nothing more is read from it.
    if (session.framesInWindow > maxFramesPerSecond) return;
    const parsed = isBinary
      ? undefined
      : parseClientFrame(
          Array.isArray(data)
            ? Buffer.concat(data).toString("utf8")
            : Buffer.from(data as ArrayBuffer).toString("utf8"),
        );
    // The ack of an event this socket was sent is expected traffic, never a flood: a client
    // acking a replay of hundreds of messages must not be cut off (each id counts once).
    if (parsed?.ok && parsed.frame.type === "ack" && session.unacked.delete(parsed.frame.id)) {
      records.acked(session.id, session.token.userId, parsed.frame.id);
      return;
    }
    if (++session.framesInWindow > maxFramesPerSecond) {
      session.socket.close(CLOSE_CODES.flood, "too many frames");
      return;
    }
    if (!parsed) return sendError(session, "BAD_FRAME", "Frames must be JSON text.");
    if (!parsed.ok) return sendError(session, parsed.error.code, parsed.error.message);
    const frame = parsed.frame;
    switch (frame.type) {
      case "join":
        void onJoin(session, frame.room);
        return;
      case "leave":
        return onLeave(session, frame.room);
      case "ack":
        // An id not sent to this socket lately (or acked twice): recorded if it is the user's.
        records.acked(session.id, session.token.userId, frame.id);
        return;
      case "auth":
        void onAuth(session, frame.token);
        return;
    }
  };

  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: options.maxPayloadBytes ?? 16 * 1024,
    handleProtocols: (protocols) => (protocols.has(SUBPROTOCOL) ? SUBPROTOCOL : false),
  });

  const onConnection = (socket: WebSocket, token: VerifiedToken, request: http.IncomingMessage): void => {
    const session: Session = {
      id: crypto.randomUUID(),
      socket,
      alive: true,
      token,
      rooms: new Set(),
      windowStart: Date.now(),
      framesInWindow: 0,
      unacked: new Set(),
    };
    const ownRooms = [`user:${token.userId}`, ...(token.role === "app_admin" ? ["admin"] : [])];
    sessions.add(session);
    sessionsById.set(session.id, session);
    rooms.add(session);
    for (const room of ownRooms) {
      session.rooms.add(room);
      rooms.join(session, room);
    }
    armExpiry(session);
    const userAgent = request.headers["user-agent"];
    records.opened({
      connectionId: session.id,
      userId: token.userId,
      role: token.role === "app_admin" ? "admin" : "client",
      ip:
        clientAddress(request.socket.remoteAddress, headerList(request.headers["x-forwarded-for"]), trustedProxies) ??
        null,
      userAgent: userAgent ? userAgent.slice(0, 500) : null,
      rooms: ownRooms,
    });
    socket.on("pong", () => {
      session.alive = true;
      records.touched(session.id);
    });
    socket.on("message", (data, isBinary) => {
      try {
        onFrame(session, data, isBinary);
      } catch (error) {
        log(`realtime: a frame failed: ${(error as Error).message}`);
      }
    });
    socket.on("error", () => undefined);
    socket.on("close", () => {
      clearTimeout(session.expiryTimer);
      sessionsById.delete(session.id);
      if (!sessions.delete(session)) return;
      rooms.remove(session, session.rooms);
      records.closed(session.id);
    });
    for (const room of ownRooms) send(session, { type: "joined", room });
    void replay(session, lastIdOf(request));
  };

  const server = http.createServer((request, response) => {
    const url = new URL(request.url ?? "/", "http://hub");
    if (request.method === "GET" && url.pathname === "/health") {
      void health().then((report) => {
        response.writeHead(report.status === "ok" ? 200 : 503, { "content-type": "application/json" });
        response.end(JSON.stringify(report));
      });
      return;
    }
    response.writeHead(404, { "content-type": "application/json" });
    response.end(JSON.stringify({ code: "NOT_FOUND", message: "GET /health, or a WebSocket on /realtime." }));
  });

  server.on("upgrade", (request: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on("error", () => undefined);
    const url = new URL(request.url ?? "/", "http://hub");
    if (url.pathname !== "/realtime")
      return refuseUpgrade(socket, 404, "NOT_FOUND", "WebSockets are served on /realtime.");
    const token = tokenOf(request);
    if (!token)
      return refuseUpgrade(
        socket,
        401,
        "TOKEN_MISSING",
        "Send the token as ?token=<jwt> or as Sec-WebSocket-Protocol: jasaweb, <jwt>.",
      );
    void authenticate(token).then(
      (result) => {
        if (!result.ok) {
          if (result.refusal === "unavailable")
            return refuseUpgrade(socket, 503, "UNAVAILABLE", "The token could not be checked now; try again.");
          return refuseUpgrade(socket, result.refusal.status, result.refusal.code, result.refusal.message);
        }
        if (socket.destroyed) return;
        wss.handleUpgrade(request, socket, head, (ws) => onConnection(ws, result.token, request));
      },
      () => refuseUpgrade(socket, 503, "UNAVAILABLE", "The token could not be checked now; try again."),
    );
  });

  let feed: OutboxFeed;
  try {
    feed = await startOutboxFeed({
      connectionString: options.connectionString,
      database,
      deliver,
      safetyIntervalMs: options.safetyIntervalMs ?? 5_000,
      onError: (error) => log(`realtime: reading the outbox failed: ${(error as Error).message}`),
    });
  } catch (error) {
    await database.close().catch(() => undefined);
    await records.stop().catch(() => undefined);
    throw error;
  }

  const health = async (): Promise<HealthReport> => {
    const databaseUp = await database.reachable(2_000);
    const listening = feed.listening();
    return {
      status: databaseUp && listening ? "ok" : "unavailable",
      database: databaseUp,
      listening,
      sockets: sessions.size,
    };
  };

  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(options.port, options.host, () => {
        server.off("error", reject);
        resolve();
      });
    });
  } catch (error) {
    await feed.stop();
    await database.close().catch(() => undefined);
    await records.stop().catch(() => undefined);
    throw error;
  }
  // A socket that did not answer the previous ping is cut (and recorded as not alive).
  const heartbeat = setInterval(() => {
    for (const session of sessions) {
      if (!session.alive) {
        session.socket.terminate();
        continue;
      }
      session.alive = false;
      session.socket.ping();
    }
  }, options.heartbeatMs ?? 30_000);
  heartbeat.unref();

  /**
   * The periodic re-check (README, Realtime: WebSocket hub): every open socket's token, one
   * query for all of them. A socket whose token changed meanwhile (an auth frame) was checked
   * with its new token and is left alone; when the database cannot answer, the sockets stay.
   */
  let rechecking = false;
  const recheckTokens = async (): Promise<void> => {
    if (rechecking || !sessions.size) return;
    rechecking = true;
    try {
      const checked = [...sessions].map((session) => ({ session, token: session.token }));
      const claims = new Map(
        checked.map(({ token }) => [token.jti, { sub: token.userId, jti: token.jti, role: token.role }]),
      );
      let statuses: Map<string, string>;
      try {
        statuses = await database.tokenStatuses([...claims.values()]);
      } catch (error) {
        return log(`realtime: re-checking the open sockets' tokens failed: ${(error as Error).message}`);
      }
      for (const { session, token } of checked) {
        const status = statuses.get(token.jti);
        const refusal = status === undefined ? undefined : refusalOfStatus(status);
        if (!refusal || session.token !== token) continue;
        sendError(session, refusal.code, refusal.message);
        session.socket.close(CLOSE_CODES.tokenInvalidated, refusal.code);
      }
    } finally {
      rechecking = false;
    }
  };
  const recheck = setInterval(() => void recheckTokens(), options.tokenRecheckMs ?? 30_000);
  recheck.unref();

  const address = server.address();
  const port = typeof address === "object" && address ? address.port : options.port;

  return {
    url: `ws://${options.host}:${port}/realtime`,
    port,
    health,
    async stop() {
      clearInterval(heartbeat);
      clearInterval(recheck);
      for (const session of sessions) session.socket.close(CLOSE_CODES.goingAway, "hub stopping");
      await feed.stop();
      const closed = server.close();
      // Sockets that do not answer the close within a second are cut.
      for (let waited = 0; sessions.size && waited < 1_000; waited += 20) await new Promise((r) => setTimeout(r, 20));
      for (const session of [...sessions]) {
        session.socket.terminate();
        sessions.delete(session);
        records.closed(session.id);
      }
      closed.closeAllConnections();
      wss.close();
      await records.stop();
      await database.close().catch(() => undefined);
    },
  };
}
