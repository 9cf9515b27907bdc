/**
 * The API edge: the reverse proxy every API request passes on its way to
 * PostgREST, in `npm start`, in the tests (tests/helpers/api.ts) and in
 * docker-compose.yml (behind nginx). Built on fastify with
 * @fastify/reply-from (the forwarding, over undici) and @fastify/cors.
 *
 * What it does, in order (README "The API edge"):
 *   1. CORS: only CORS_ALLOWED_ORIGINS get Access-Control-Allow-Origin;
 *      preflights are answered here, PostgREST's own CORS headers dropped.
 *   2. A request target that is not a path, or whose %-escapes are malformed
 *      or not UTF-8: 400 (edge/request-checks.ts).
 *   3. A body over API_MAX_BODY_BYTES: 413 before it is read (Content-Length),
 *      or as soon as a chunked body passes the limit. Bodies within it are
 *      read, then forwarded with their length.
 *   4. A JSON array as a function's body: 400.
 *   5. X-Forwarded-For for PostgREST: the client's address from the TCP peer
 *      and, from trusted proxies only, their X-Forwarded-For
 *      (config/client-address.ts); Forwarded and X-Real-IP are dropped.
 *   6. Error answers that expose internals are rewritten
 *      (edge/upstream-errors.ts). Answers up to 64 kB are read whole (errors
 *      to be rewritten, the rest to go out in one write); longer ones
 *      stream through as they come.
 */
import cors from "@fastify/cors";
import replyFrom from "@fastify/reply-from";
import Fastify, { type FastifyError, type FastifyReply, type FastifyRequest } from "fastify";
import { STATUS_CODES, type IncomingHttpHeaders } from "node:http";
import type { Duplex } from "node:stream";
import { PassThrough, type Readable } from "node:stream";
import { clientAddress, parseTrustedProxies } from "../config/client-address";
import { EDGE_ERRORS, edgeErrorBody, type EdgeErrorCode } from "./errors";
import { checkRequestTarget, isArrayBodyToFunction, pathOf } from "./request-checks";
import { rewriteUpstreamError, SERVICE_BUSY_RETRY_AFTER_SECONDS } from "./upstream-errors";

export type EdgeOptions = {
  /** PostgREST's base URL, e.g. http://127.0.0.1:41234. */
  upstream: string;
  /** 0: any free port (the URL has the real one). */
  port: number;
  host?: string;
  /** Addresses and CIDR ranges whose X-Forwarded-For is believed; empty: nobody's. */
  trustedProxies: readonly string[];
  maxBodyBytes: number;
  /** "*" or the exact origins allowed to call from a browser. */
  corsAllowedOrigins: "*" | readonly string[];
  /** How long stop() lets requests in flight finish before it closes their connections. */
  stopGraceMs?: number;
  /** One line per failure of the edge itself (PostgREST unreachable, a bug); nothing per request. */
  onLog?: (line: string) => void;
};

export type EdgeServer = {
  url: string;
  stop(): Promise<void>;
};

/** Methods forwarded to PostgREST; OPTIONS is CORS's (preflights are answered here). */
const FORWARDED_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"] as const;

/** Request headers PostgREST reads from a browser's cross-origin call. */
const CORS_ALLOWED_HEADERS = [
  "Authorization",
  "Content-Type",
  "Accept",
  "Accept-Profile",
  "Content-Profile",
  "Prefer",
  "Range",
  "Range-Unit",
];
/** Response headers a browser script may read. */
const CORS_EXPOSED_HEADERS = [
  "Content-Location",
  "Content-Range",
  "Location",
  "Preference-Applied",
  "Range-Unit",
  "Retry-After",
];

/** Client-supplied headers that could pose as the client's address downstream. */
const ADDRESS_HEADERS = ["forwarded", "x-forwarded-for", "x-real-ip", "x-client-ip", "true-client-ip"];

/** Answers up to this size are read whole before they are sent (error answers: to be rewritten); longer ones stream. */
const SMALL_BODY_BYTES = 64 * 1024;

function sendError(reply: FastifyReply, code: EdgeErrorCode, details: string | null = null): FastifyReply {
  return reply
    .code(EDGE_ERRORS[code].status)
    .header("content-type", "application/json; charset=utf-8")
    .send(JSON.stringify(edgeErrorBody(code, details)));
}

/**
 * Reads a stream until it ends or passes `max` bytes: the bytes read and, if
 * it is longer, the stream itself, paused where reading stopped.
 */
function readUpTo(stream: Readable, max: number): Promise<{ head: Buffer; rest: Readable | undefined }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let length = 0;
    const detach = () => {
      stream.off("data", onData);
      stream.off("end", onEnd);
      stream.off("error", onError);
    };
    const onData = (chunk: Buffer | string) => {
      const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk);
      chunks.push(buffer);
      length += buffer.length;
      if (length > max) {
        detach();
        stream.pause();
        resolve({ head: Buffer.concat(chunks), rest: stream });
      }
    };
    const onEnd = () => {
      detach();
      resolve({ head: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks), rest: undefined });
    };
    const onError = (error: Error) => {
      detach();
      reject(error);
    };
    stream.on("data", onData);
    stream.on("end", onEnd);
    stream.on("error", onError);
  });
}

function dropUpstreamHeaders(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  const kept: IncomingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    // CORS is the edge's (PostgREST allows every origin).
    if (!name.startsWith("access-control-")) kept[name] = value;
  }
  return kept;
}

/**
 * Sends PostgREST's answer on. Up to SMALL_BODY_BYTES are read first: a body
 * that ends within them goes out in one write with its length (most answers;
 * streaming them costs a write per piece), a longer one streams on after them
 * (a 50 MB listing is never held). An error's body is parsed and maybe
 * rewritten.
 */
async function relay(reply: FastifyReply, status: number, stream: Readable) {
  const { head, rest } = await readUpTo(stream, SMALL_BODY_BYTES);
  if (rest) {
    const whole = new PassThrough();
    whole.write(head);
    rest.pipe(whole);
    return reply.send(whole);
  }
  if (status < 400) return reply.send(head);
  let parsed: unknown;
  try {
    parsed = JSON.parse(head.toString("utf8"));
  } catch {
    parsed = undefined;
  }
  const rewritten = rewriteUpstreamError(status, parsed);
  if (!rewritten) return reply.send(head);
  reply.removeHeader("content-length");
  return reply
    .code(rewritten.status)
    .headers(rewritten.headers)
    .header("content-type", "application/json; charset=utf-8")
    .send(JSON.stringify(rewritten.body));
}

/**
 * Answers a request Node's HTTP parser refused before fastify saw it (fastify's
 * own answer has no `code`): request line and headers over Node's 16 kB
 * (431 HEADERS_TOO_LARGE), a request not received in time (408), anything
 * else unparsable (400 MALFORMED_REQUEST).
 */
function answerClientError(error: Error & { code?: string }, socket: Duplex): void {
  if (error.code === "ECONNRESET" || socket.destroyed) return;
  const code: EdgeErrorCode =
    error.code === "HPE_HEADER_OVERFLOW"
      ? "HEADERS_TOO_LARGE"
      : error.code === "ERR_HTTP_REQUEST_TIMEOUT"
        ? "REQUEST_TIMEOUT"
        : "MALFORMED_REQUEST";
  const body = JSON.stringify(edgeErrorBody(code));
  if (socket.writable) {
    const { status } = EDGE_ERRORS[code];
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy();
}

/** Maps fastify's own errors (body limits, framing, routing) to the edge's codes. */
function codeOfFrameworkError(error: FastifyError): EdgeErrorCode {
  switch (error.code) {
    case "FST_ERR_CTP_BODY_TOO_LARGE":
      return "BODY_TOO_LARGE";
    case "FST_ERR_CTP_INVALID_MEDIA_TYPE":
      return "UNSUPPORTED_MEDIA_TYPE";
    case "FST_ERR_BAD_URL":
      return "INVALID_URL_ENCODING";
  }
  return error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500
    ? "MALFORMED_REQUEST"
    : "INTERNAL_ERROR";
}

export async function startEdge(options: EdgeOptions): Promise<EdgeServer> {
  const trusted = parseTrustedProxies(options.trustedProxies);
  const onLog = options.onLog ?? (() => undefined);
  const host = options.host ?? "127.0.0.1";
  // One line when PostgREST stops answering and one when it is back, not one per request.
  let down = false;
  const upstream = {
    reachable() {
      if (down) onLog("PostgREST answers again");
      down = false;
    },
    unreachable(error: Error) {
      const cause = error.cause instanceof Error ? `: ${error.cause.message}` : "";
      if (!down) onLog(`PostgREST cannot be reached (answering 503 API_UNAVAILABLE): ${error.message}${cause}`);
      down = true;
    },
  };

  const app = Fastify({
    logger: false,
    clientErrorHandler: answerClientError,
    bodyLimit: options.maxBodyBytes,
    exposeHeadRoutes: false,
    // The wildcard route's one parameter is the whole path.
    routerOptions: { maxParamLength: 64 * 1024 },
    // Errors found before the hooks run (a path the router cannot decode):
    // CORS's hook has not run either, so its one header is set here.
    frameworkErrors: (error, request, reply) => {
      const origin = request.headers.origin;
      const allowed = options.corsAllowedOrigins === "*" ? "*" : options.corsAllowedOrigins.find((o) => o === origin);
      if (origin && allowed) void reply.header("access-control-allow-origin", allowed).header("vary", "Origin");
      void sendError(reply, codeOfFrameworkError(error));
    },
  });

  app.setErrorHandler((error: FastifyError, _request, reply) => {
    const code = codeOfFrameworkError(error);
    if (code === "INTERNAL_ERROR") onLog(`edge error: ${error.stack ?? String(error)}`);
    const details = code === "BODY_TOO_LARGE" ? `at most ${options.maxBodyBytes} bytes` : null;
    return sendError(reply, code, details);
  });

  await app.register(cors, {
    origin: options.corsAllowedOrigins === "*" ? "*" : [...options.corsAllowedOrigins],
    methods: [...FORWARDED_METHODS],
    allowedHeaders: CORS_ALLOWED_HEADERS,
    exposedHeaders: CORS_EXPOSED_HEADERS,
    maxAge: 86_400,
    // An OPTIONS without Origin is answered like a preflight, not with plain text.
    strictPreflight: false,
  });
  await app.register(replyFrom, {
    base: options.upstream,
    undici: { connections: 128, pipelining: 1, keepAliveTimeout: 4_000 },
    disableRequestLogging: true,
  });

  // Bodies are read as bytes, never parsed: PostgREST parses them.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("*", { parseAs: "buffer" }, (_request, body, done) => done(null, body));

  app.addHook("onRequest", async (request, reply) => {
    const problem = checkRequestTarget(request.raw.url ?? "");
    if (problem) return sendError(reply, problem);
    const declared = Number(request.headers["content-length"]);
    if (declared > options.maxBodyBytes)
      return sendError(reply, "BODY_TOO_LARGE", `at most ${options.maxBodyBytes} bytes`);
  });

  const forward = async (request: FastifyRequest, reply: FastifyReply) => {
    const target = request.raw.url!;
    const body = Buffer.isBuffer(request.body) ? request.body : undefined;
    const contentType = request.headers["content-type"];
    if (isArrayBodyToFunction(request.method, pathOf(target), contentType, body))
      return sendError(reply, "ARRAY_BODY_NOT_ALLOWED");
    const forwardedFor = request.headers["x-forwarded-for"];
    const client = clientAddress(
      request.raw.socket.remoteAddress,
      Array.isArray(forwardedFor) ? forwardedFor.join(",") : forwardedFor,
      trusted,
    );
    return reply.from(pathOf(target), {
      // No retries: PostgREST's answer, or the edge's 503, goes to the client.
      retryDelay: () => null,
      ...(body ? { body, contentType: contentType ?? "application/octet-stream" } : {}),
      rewriteRequestHeaders: (_request, headers) => {
        // The client's Host, not PostgREST's own: its OpenAPI document names the host it was asked at.
        if (request.headers.host) headers.host = request.headers.host;
        for (const name of ADDRESS_HEADERS) delete headers[name];
        if (client) headers["x-forwarded-for"] = client;
        if (!body) {
          // GET and HEAD bodies are not read, so none is forwarded.
          delete headers["content-length"];
          delete headers["transfer-encoding"];
        } else {
          delete headers["transfer-encoding"];
          if (contentType === undefined) delete headers["content-type"];
        }
        return headers;
      },
      rewriteHeaders: (headers) => dropUpstreamHeaders(headers),
      onResponse: (_request, _reply, response) => {
        upstream.reachable();
        // A HEAD answer has no body: its headers go on as PostgREST sent them.
        if (request.method === "HEAD") return void reply.send(response.stream);
        void relay(reply, response.statusCode, response.stream).catch((error: unknown) => {
          onLog(`edge error relaying an answer: ${(error as Error).stack ?? String(error)}`);
          if (!reply.sent) void sendError(reply, "INTERNAL_ERROR");
          else reply.raw.destroy();
        });
      },
      onError: (_reply, { error }) => {
        upstream.unreachable(error);
        void sendError(reply.header("retry-after", String(SERVICE_BUSY_RETRY_AFTER_SECONDS)), "API_UNAVAILABLE");
      },
    });
  };
  app.route({ method: [...FORWARDED_METHODS], url: "/*", handler: forward });

  await app.listen({ port: options.port, host });
  const address = app.server.address();
  const port = typeof address === "object" && address ? address.port : options.port;
  const stopGraceMs = options.stopGraceMs ?? 5_000;
  let stopped: Promise<void> | undefined;
  return {
    url: `http://${host.includes(":") ? `[${host}]` : host}:${port}`,
    stop() {
      stopped ??= (async () => {
        // fastify's close waits for requests in flight; past the grace
        // period their connections are closed.
        const timer = setTimeout(() => app.server.closeAllConnections(), stopGraceMs);
        try {
          await app.close();
        } finally {
          clearTimeout(timer);
        }
      })();
      return stopped;
    },
  };
}
