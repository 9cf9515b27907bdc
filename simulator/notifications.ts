/**
 * HTTP notifications (webhooks), as Midtrans sends them [D-NOTIF], [D-BEST]:
 * on every status change a JSON POST with `User-Agent: Veritrans` to the
 * configured URL, or to the charge's X-Override-Notification URLs instead,
 * or to its X-Append-Notification URLs as well.
 *
 * Retries by the receiver's reply: 2xx none; 500 once; 503 four times;
 * 400/404 twice; 301/302/303 none; 307/308 followed (POST, same body, at
 * most 5 redirects); anything else, a timeout or a connection error
 * included, five times. Never more than 5 retries, after 2, 10, 30, 90 and
 * 210 minutes times the retry scale (Midtrans shifts them randomly; we do
 * not, so that tests can count on them). Every attempt is recorded.
 */
import http from "node:http";
import https from "node:https";
import { setTimeout as sleep } from "node:timers/promises";
import { MIDTRANS_RETRY_INTERVALS_MS } from "../config/simulator-settings";
import type { Faults } from "./faults";
import { notificationBody } from "./responses";
import type { Change, Transaction } from "./transactions";

export type DeliveryAttempt = {
  /** When the attempt started (ISO 8601, UTC). */
  at: string;
  url: string;
  /** 1 for the first try, 2 for the first retry, …; redirects keep their attempt's number. */
  attempt: number;
  /** 2 for the second copy when the `duplicate` fault is on. */
  copy: number;
  http_status: number | null;
  error: string | null;
  /** "sending" while the attempt runs (or if the simulator was reset or stopped during it). */
  outcome: "sending" | "delivered" | "redirected" | "retry scheduled" | "gave up";
  next_attempt_at?: string;
};

export type NotificationRecord = {
  transaction_status: string;
  status_code: string;
  created_at: string;
  /** The URLs it goes to (none when no URL is configured or given). */
  targets: string[];
  /** What a notification fault did to it: null, "dropped", "held" (out of order, not sent yet), "sent late". */
  fault: "dropped" | "held" | "sent late" | null;
  body: Record<string, unknown>;
  deliveries: DeliveryAttempt[];
};

export type NotifierSettings = {
  serverKey: string;
  notificationUrl: string | undefined;
  notificationRetryScale: number;
  notificationTimeoutMs: number;
};

type Reply = { status: number; location: string | undefined } | { error: string };

const MAX_RETRIES = 5;
const MAX_REDIRECTS = 5;

/** How many retries a reply allows [D-NOTIF], [D-BEST]. */
export function retriesAfter(reply: Reply): number {
  if ("error" in reply) return 5;
  const s = reply.status;
  if (s >= 200 && s < 300) return 0;
  if (s === 500) return 1;
  if (s === 503) return 4;
  if (s === 400 || s === 404) return 2;
  if (s === 301 || s === 302 || s === 303) return 0;
  return 5;
}

/** One POST; the reply's status (the body is read and dropped) or why there was none. */
function post(url: URL, body: string, timeoutMs: number, signal: AbortSignal): Promise<Reply> {
  return new Promise((resolve) => {
    let settled = false;
    const settle = (reply: Reply) => {
      if (settled) return;
      settled = true;
      resolve(reply);
    };
    const client = url.protocol === "https:" ? https : http;
    // agent: false, one connection per attempt, as a webhook sender has no pool to the receiver.
    const request = client.request(
      url,
      {
        method: "POST",
        agent: false,
        signal,
        headers: {
          "content-type": "application/json",
          accept: "application/json",
          "user-agent": "Veritrans",
          "content-length": Buffer.byteLength(body),
        },
      },
      (response) => {
        settle({ status: response.statusCode ?? 0, location: response.headers.location });
        response.resume();
        response.on("end", () => clearTimeout(timer));
        response.on("error", () => clearTimeout(timer));
      },
    );
    const timer = setTimeout(() => {
      settle({ error: `no reply within ${timeoutMs} ms` });
      request.destroy();
    }, timeoutMs);
    request.on("error", (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      settle({ error: error.code ?? error.message });
    });
    request.end(body);
  });
}

export class Notifier {
  private readonly records = new Map<string, NotificationRecord[]>();
  /** Pending notifications held back by the out-of-order fault, by transaction id. */
  private readonly held = new Map<string, () => void>();
  private abort = new AbortController();

  constructor(
    private readonly settings: NotifierSettings,
    private readonly faults: Faults,
  ) {}

  /** Called on every change of a transaction: records the notification and sends it. */
  notify(tx: Transaction, change: Change): void {
    const body = notificationBody(tx, this.settings.serverKey);
    const { override, append } = tx.notificationTargets;
    const targets = override.length
      ? override
      : [...new Set([...(this.settings.notificationUrl ? [this.settings.notificationUrl] : []), ...append])];
    const record: NotificationRecord = {
      transaction_status: tx.status,
      status_code: String(body.status_code),
      created_at: new Date().toISOString(),
      targets,
      fault: null,
      body,
      deliveries: [],
    };
    this.records.set(tx.transactionId, [...(this.records.get(tx.transactionId) ?? []), record]);

    const faults = this.faults.notificationFaults();
    if (faults.takeDrop()) {
      record.fault = "dropped";
      return;
    }
    const signal = this.abort.signal;
    const send = async (): Promise<void> => {
      await this.sendCopy(record, 1, faults.delayMs, signal);
      if (faults.duplicate) void this.sendCopy(record, 2, 0, signal);
    };
    const earlier = this.held.get(tx.transactionId);
    this.held.delete(tx.transactionId);
    if (faults.outOfOrder && tx.status === "pending" && change.kind === "status") {
      record.fault = "held";
      this.held.set(tx.transactionId, () => {
        record.fault = "sent late";
        void send();
      });
    } else if (earlier) {
      // The held pending notification goes out once this newer one has been sent.
      void send().then(earlier);
    } else {
      void send();
    }
  }

  /** The notifications of one transaction, oldest first, with their delivery attempts. */
  recordsOf(transactionId: string): NotificationRecord[] {
    return this.records.get(transactionId) ?? [];
  }

  /** Sends every notification the out-of-order fault still holds (when the faults are cleared). */
  releaseHeld(): void {
    const held = [...this.held.values()];
    this.held.clear();
    for (const release of held) release();
  }

  /** Stops every delivery and retry and forgets every record. */
  reset(): void {
    this.abort.abort();
    this.abort = new AbortController();
    this.records.clear();
    this.held.clear();
  }

  stop(): void {
    this.abort.abort();
    this.held.clear();
  }

  /** One copy to every target; resolves once each target's first attempt is over. */
  private sendCopy(record: NotificationRecord, copy: number, delayMs: number, signal: AbortSignal): Promise<void> {
    return Promise.all(
      record.targets.map(
        (url) =>
          new Promise<void>(
            (firstAttemptOver) => void this.deliver(record, url, copy, delayMs, signal, firstAttemptOver),
          ),
      ),
    ).then(() => undefined);
  }

  private async deliver(
    record: NotificationRecord,
    url: string,
    copy: number,
    delayMs: number,
    signal: AbortSignal,
    firstAttemptOver: () => void,
  ): Promise<void> {
    const payload = JSON.stringify(record.body);
    try {
      if (delayMs) await sleep(delayMs, undefined, { signal });
      for (let attempt = 1; ; attempt++) {
        const { entry, reply, redirectsExhausted } = await this.attempt(record, url, attempt, copy, payload, signal);
        if (attempt === 1) firstAttemptOver();
        const retriesDone = attempt - 1;
        const allowed = redirectsExhausted ? 0 : Math.min(retriesAfter(reply), MAX_RETRIES);
        if (!("error" in reply) && reply.status >= 200 && reply.status < 300) {
          entry.outcome = "delivered";
          return;
        }
        if (retriesDone >= allowed) {
          entry.outcome = "gave up";
          return;
        }
        const wait = MIDTRANS_RETRY_INTERVALS_MS[retriesDone]! * this.settings.notificationRetryScale;
        entry.outcome = "retry scheduled";
        entry.next_attempt_at = new Date(Date.now() + wait).toISOString();
        await sleep(wait, undefined, { signal });
      }
    } catch (error) {
      if (!signal.aborted) throw error;
    } finally {
      firstAttemptOver();
    }
  }

  /** One attempt, following 307/308 redirects; every hop is recorded. */
  private async attempt(
    record: NotificationRecord,
    url: string,
    attempt: number,
    copy: number,
    payload: string,
    signal: AbortSignal,
  ): Promise<{ entry: DeliveryAttempt; reply: Reply; redirectsExhausted: boolean }> {
    let target = url;
    for (let redirects = 0; ; redirects++) {
      const entry: DeliveryAttempt = {
        at: new Date().toISOString(),
        url: target,
        attempt,
        copy,
        http_status: null,
        error: null,
        outcome: "sending",
      };
      record.deliveries.push(entry);
      let reply: Reply;
      try {
        reply = await post(new URL(target), payload, this.settings.notificationTimeoutMs, signal);
      } catch {
        reply = { error: "invalid URL" };
      }
      if (signal.aborted) throw signal.reason;
      if ("error" in reply) entry.error = reply.error;
      else entry.http_status = reply.status;
      const redirect = !("error" in reply) && (reply.status === 307 || reply.status === 308) && reply.location;
      if (!redirect) return { entry, reply, redirectsExhausted: false };
      if (redirects === MAX_REDIRECTS) {
        // More than 5 redirects: not said by Midtrans; we give up without retrying, as for 301-303.
        entry.error = `more than ${MAX_REDIRECTS} redirects`;
        return { entry, reply, redirectsExhausted: true };
      }
      entry.outcome = "redirected";
      target = new URL(redirect, target).toString();
    }
  }
}
