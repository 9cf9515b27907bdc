/**
 * The HTTP side of the simulator (node:http): the Core API subset under
 * /v2/ (with the requested faults applied), the QR code PNG, the dashboard
 * at / and the test API under /simulate/.
 *
 * The /simulate/ endpoints and the dashboard need no authentication: the
 * simulator is for development and tests only.
 */
import http from "node:http";
import { setTimeout as sleep } from "node:timers/promises";
import { z } from "zod";
import { isObject, validateCharge } from "./charge-request";
import { dashboardPage } from "./dashboard";
import { faultsSchema, type FaultAction, type Faults } from "./faults";
import type { Notifier } from "./notifications";
import { qrPng } from "./qr";
import * as responses from "./responses";
import { errors, type Reply } from "./responses";
import type { NotificationTargets, Transaction, TransactionStore } from "./transactions";

export type ServerParts = {
  store: TransactionStore;
  notifier: Notifier;
  faults: Faults;
  serverKey: string;
  /** One line per Core API call (npm run simulator prints them); none in tests. */
  log?: (line: string) => void;
};

const MAX_BODY_BYTES = 1024 * 1024;

class RequestBodyError extends Error {}

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new RequestBodyError("request body over 1 MB"));
        req.destroy();
      } else chunks.push(chunk);
    });
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

/** The JSON body, or undefined when there is none: the Node client sends no body to cancel and expire [NODE]. */
function parseJson(text: string): { ok: true; value: unknown } | { ok: false } {
  if (text.trim() === "") return { ok: true, value: undefined };
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch {
    return { ok: false };
  }
}

function sendJson(res: http.ServerResponse, status: number, body: unknown, headers: http.OutgoingHttpHeaders = {}) {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

/** HTTP Basic with the server key as the username and an empty password [D-AUTH]. */
function authorized(header: string | undefined, serverKey: string): boolean {
  const match = /^Basic\s+(\S+)\s*$/i.exec(header ?? "");
  if (!match) return false;
  const decoded = Buffer.from(match[1]!, "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  return (colon === -1 ? decoded : decoded.slice(0, colon)) === serverKey;
}

/**
 * X-Override-Notification / X-Append-Notification: at most 3 comma-separated
 * URLs each [D-NOTIF]. More than 3, or a URL that is not http(s), is refused
 * with a 400 (our choice: Midtrans does not say what it does).
 */
function notificationTargets(req: http.IncomingMessage): { targets: NotificationTargets; problems: string[] } {
  const problems: string[] = [];
  const read = (name: string): string[] => {
    const raw = req.headers[name];
    const urls = (Array.isArray(raw) ? raw.join(",") : (raw ?? ""))
      .split(",")
      .map((u) => u.trim())
      .filter(Boolean);
    if (urls.length > 3) problems.push(`${name} takes at most 3 URLs`);
    for (const url of urls) {
      if (!z.url({ protocol: /^https?$/ }).safeParse(url).success)
        problems.push(`${name}: ${url} is not an http(s) URL`);
    }
    return urls.slice(0, 3);
  };
  // When both are sent, the override wins (our choice).
  return { targets: { override: read("x-override-notification"), append: read("x-append-notification") }, problems };
}

const REFUND_KEY = /^[A-Za-z0-9\-_]+$/;

/** The refund request body [D-REFUND]: all fields optional. */
function refundRequest(body: unknown) {
  const request = isObject(body) ? body : {};
  const messages: string[] = [];
  if (body !== undefined && !isObject(body)) messages.push("the request body must be a JSON object");
  const amount = request.amount;
  if (amount !== undefined && amount !== null && typeof amount !== "number") messages.push("amount must be a number");
  const refundKey = request.refund_key;
  if (refundKey !== undefined && refundKey !== null && (typeof refundKey !== "string" || !REFUND_KEY.test(refundKey)))
    messages.push("refund_key may contain only letters, digits, - and _");
  const reason = request.reason;
  if (reason !== undefined && reason !== null && (typeof reason !== "string" || reason.length > 255))
    messages.push("reason must be a string of at most 255 characters");
  return {
    messages,
    request: {
      amount: typeof amount === "number" ? amount : undefined,
      refundKey: typeof refundKey === "string" ? refundKey : undefined,
      reason: typeof reason === "string" ? reason : undefined,
    },
  };
}

/** The bodies a failing Midtrans (or a proxy in front of it) answers with. */
function failure(status: 500 | 502 | 503 | 504): { contentType: string; text: string } {
  if (status === 500 || status === 503) {
    const message =
      status === 503
        ? "Bank/partner is experiencing connection issue." // [D-ERR]
        : "Sorry. Our system is recovering from unexpected issues. Please retry.";
    return {
      contentType: "application/json",
      text: JSON.stringify({ status_code: String(status), status_message: message }),
    };
  }
  const title = status === 502 ? "502 Bad Gateway" : "504 Gateway Time-out";
  return {
    contentType: "text/html",
    text: `<html>\r\n<head><title>${title}</title></head>\r\n<body>\r\n<center><h1>${title}</h1></center>\r\n</body>\r\n</html>\r\n`,
  };
}

type Route = { params: string[] };

/** `pattern` segments: literal, or ":" for a parameter. */
function match(segments: string[], pattern: string[]): Route | undefined {
  if (segments.length !== pattern.length) return undefined;
  const params: string[] = [];
  for (let i = 0; i < pattern.length; i++) {
    if (pattern[i] === ":") params.push(segments[i]!);
    else if (pattern[i] !== segments[i]) return undefined;
  }
  return { params };
}

export function createRequestHandler(parts: ServerParts): http.RequestListener {
  const { store, notifier, faults, serverKey } = parts;
  const log = parts.log ?? (() => {});

  const find = (id: string): Transaction | undefined => store.find(id);

  /** The Core API: a reply, the PNG of a QR code, or undefined for a path Midtrans does not have. */
  async function coreApi(
    method: string,
    segments: string[],
    req: http.IncomingMessage,
    body: string,
    baseUrl: string,
  ): Promise<{ reply: Reply } | { png: Buffer } | undefined> {
    const qr = match(segments, ["v2", "qris", ":", "qr-code"]);
    if (qr) {
      if (method !== "GET") return { reply: errors.noSuchPath(req.url ?? "", 405) };
      // Served without authentication: the URL is meant for showing the QR to the payer (e.g. in an <img>).
      const tx = find(qr.params[0]!);
      return tx ? { png: await qrPng(tx.qrString) } : { reply: errors.notFound() };
    }
    const charge = match(segments, ["v2", "charge"]);
    const status = match(segments, ["v2", ":", "status"]);
    const action = match(segments, ["v2", ":", ":"]);
    const direct = match(segments, ["v2", ":", "refund", "online", "direct"]);
    const actionName = action?.params[1];
    const known =
      charge ||
      status ||
      direct ||
      (actionName !== undefined && ["cancel", "expire", "refund", "approve", "deny"].includes(actionName));
    if (!known) return undefined;
    const expected = status ? "GET" : "POST";
    if (method !== expected) return { reply: errors.noSuchPath(req.url ?? "", 405) };
    if (!authorized(req.headers.authorization, serverKey)) return { reply: errors.unauthorized() };

    const json = parseJson(body);
    if (!json.ok) return { reply: errors.malformedBody() };

    if (charge) {
      const { targets, problems } = notificationTargets(req);
      const validated = validateCharge(json.value);
      if (!validated.ok || problems.length)
        return { reply: errors.validation([...(validated.ok ? [] : validated.messages), ...problems]) };
      const blocking = store.blockingCharge(validated.charge.orderId);
      if (blocking) return { reply: errors.duplicateOrderId(blocking) };
      return { reply: responses.chargeCreated(store.create(validated.charge, targets), baseUrl) };
    }

    const id = (status ?? direct ?? action)!.params[0]!;
    const tx = find(id);
    if (!tx) return { reply: errors.notFound() };
    if (status) return { reply: responses.transactionStatus(tx, serverKey) };
    if (direct || actionName === "refund") {
      const { messages, request } = refundRequest(json.value);
      if (messages.length) return { reply: errors.validation(messages) };
      const outcome = store.refund(tx, request, Boolean(direct));
      if (!outcome.ok) {
        const byCode = {
          "412": errors.cannotModify,
          "414": errors.invalidRefundAmount,
          "406": errors.duplicateRefundKey,
        };
        return { reply: byCode[outcome.code]() };
      }
      return { reply: responses.refunded(tx, outcome.refund, Boolean(direct)) };
    }
    if (actionName === "cancel") return { reply: store.cancel(tx) ? responses.cancelled(tx) : errors.cannotModify() };
    if (actionName === "expire") return { reply: store.expire(tx) ? responses.expired(tx) : errors.cannotModify() };
    // approve and deny are for card payments in "challenge" only [D-CYCLE]: never allowed for QRIS.
    return { reply: errors.cannotModify() };
  }

  async function handleCoreApi(req: http.IncomingMessage, res: http.ServerResponse, path: string, segments: string[]) {
    const method = req.method ?? "GET";
    const decision = faults.decide(path);
    if (decision.latencyMs) await sleep(decision.latencyMs);
    const act: FaultAction = decision.action;
    if (act.kind === "drop") {
      log(`${method} ${path} → connection dropped (fault)`);
      req.socket.destroy();
      return;
    }
    if (act.kind === "timeout" && act.answerAfterMs === undefined) {
      // Never answered; the client's timeout (or the simulator's stop) ends it.
      log(`${method} ${path} → no answer (fault)`);
      req.resume();
      return;
    }
    if (act.kind === "rate-limit") {
      log(`${method} ${path} → 429 (fault)`);
      const { http: status, body } = errors.rateLimited();
      req.resume();
      return sendJson(res, status, body);
    }
    if (act.kind === "fail") {
      log(`${method} ${path} → ${act.status} (fault)`);
      const { contentType, text } = failure(act.status);
      req.resume();
      res.writeHead(act.status, { "content-type": contentType, "content-length": Buffer.byteLength(text) });
      return res.end(text);
    }
    if (act.kind === "timeout" && act.answerAfterMs !== undefined) await sleep(act.answerAfterMs);

    const body = await readBody(req);
    const baseUrl = `http://${req.headers.host ?? "127.0.0.1"}`;
    const result = await coreApi(method, segments, req, body, baseUrl);
    if (act.kind === "accept-then-timeout") {
      log(`${method} ${path} → processed, no answer (fault)`);
      return;
    }
    if (!result) {
      const { http: status, body: notFound } = errors.noSuchPath(path);
      return sendJson(res, status, notFound);
    }
    if ("png" in result) {
      res.writeHead(200, { "content-type": "image/png", "content-length": result.png.length });
      return res.end(result.png);
    }
    const statusCode = result.reply.body.status_code;
    log(`${method} ${path} → HTTP ${result.reply.http}${statusCode ? `, status_code ${String(statusCode)}` : ""}`);
    sendJson(res, result.reply.http, result.reply.body);
  }

  /** The transaction as GET status shows it, with its notifications and their delivery attempts. */
  const view = (tx: Transaction) => ({
    ...responses.transactionStatus(tx, serverKey).body,
    qr_code_url: `/v2/qris/${tx.transactionId}/qr-code`,
    notifications: notifier.recordsOf(tx.transactionId),
  });

  async function handleSimulate(req: http.IncomingMessage, res: http.ServerResponse, segments: string[]) {
    const method = req.method ?? "GET";
    const body = await readBody(req);
    const fromForm = /^application\/x-www-form-urlencoded|^multipart\/form-data/i.test(
      req.headers["content-type"] ?? "",
    );
    const fail = (status: number, message: string) => {
      if (!fromForm) return sendJson(res, status, { error: message });
      const text = `<!doctype html><p>${message.replace(/[&<>]/g, (c) => `&#${c.charCodeAt(0)};`)}</p><p><a href="/">Back</a></p>`;
      res.writeHead(status, { "content-type": "text/html; charset=utf-8" });
      res.end(text);
    };

    if (method === "GET" && match(segments, ["simulate", "transactions"]))
      return sendJson(res, 200, { transactions: store.list().map(view) });

    const act = match(segments, ["simulate", ":", ":"]);
    if (method === "POST" && act && ["pay", "deny", "expire"].includes(act.params[0]!)) {
      const [action, id] = act.params as [string, string];
      const tx = find(id);
      if (!tx) return fail(404, `No transaction has the order_id or transaction_id ${id}.`);
      const changed = action === "pay" ? store.pay(tx) : action === "deny" ? store.deny(tx) : store.expire(tx);
      if (!changed)
        return fail(
          409,
          `Transaction ${tx.orderId} is ${tx.status}: only a pending transaction can be paid, denied or expired.`,
        );
      log(`simulate ${action} ${tx.orderId} → ${tx.status}`);
      if (fromForm) {
        res.writeHead(303, { location: "/" });
        return res.end();
      }
      return sendJson(res, 200, { transaction: view(tx) });
    }

    if (method === "POST" && match(segments, ["simulate", "reset"])) {
      store.reset();
      notifier.reset();
      faults.clear();
      return sendJson(res, 200, { reset: true });
    }

    if (match(segments, ["simulate", "faults"])) {
      if (method === "GET") return sendJson(res, 200, { faults: faults.current() });
      if (method === "DELETE") {
        faults.clear();
        notifier.releaseHeld();
        return sendJson(res, 200, { faults: faults.current() });
      }
      if (method === "POST") {
        const json = parseJson(body);
        const parsed = json.ok ? faultsSchema.safeParse(json.value ?? {}) : undefined;
        if (!parsed?.success) {
          const problems = parsed
            ? parsed.error.issues.map((i) => `${i.path.join(".") || "body"}: ${i.message}`)
            : ["the body is not JSON"];
          return sendJson(res, 400, { error: "invalid faults", problems });
        }
        faults.set(parsed.data);
        log(`faults: ${JSON.stringify(faults.current())}`);
        return sendJson(res, 200, { faults: faults.current() });
      }
    }
    return fail(404, `No such simulator endpoint: ${method} ${req.url ?? ""}`);
  }

  return (req, res) => {
    const url = new URL(req.url ?? "/", "http://simulator");
    let segments: string[];
    try {
      segments = url.pathname.split("/").filter(Boolean).map(decodeURIComponent);
    } catch {
      segments = ["\u0000"];
    }
    const handle = async () => {
      if (segments[0] === "v2") return handleCoreApi(req, res, url.pathname, segments);
      if (segments[0] === "simulate") return handleSimulate(req, res, segments);
      if (segments.length === 0 && req.method === "GET") {
        const page = dashboardPage(store.list(), serverKey);
        res.writeHead(200, { "content-type": "text/html; charset=utf-8", "content-length": Buffer.byteLength(page) });
        return res.end(page);
      }
      const { http: status, body } = errors.noSuchPath(url.pathname);
      req.resume();
      sendJson(res, status, body);
    };
    handle().catch((error: unknown) => {
      if (error instanceof RequestBodyError) return;
      log(
        `${req.method ?? ""} ${url.pathname} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
      );
      if (!res.headersSent)
        sendJson(res, 500, { status_code: "500", status_message: "Simulator error (see its log)." });
      else res.destroy();
    });
  };
}
