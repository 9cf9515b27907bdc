/**
 * Faults on request (`POST /simulate/faults`), so that a client's handling
 * of a slow, failing or lost Midtrans can be tested. API faults apply to
 * Core API requests (paths under /v2/), each to the paths starting with its
 * `path` (all of them when omitted); notification faults apply to every
 * notification. A POST sets the faults it names (replacing the same kind),
 * DELETE clears them all.
 */
import { z } from "zod";

const path = z.string().startsWith("/").optional();
const count = z.number().int().min(1);
const failureStatus = z.union([z.literal(500), z.literal(502), z.literal(503), z.literal(504)]);

export const faultsSchema = z.strictObject({
  /** Every matching request waits this long before anything else happens. */
  latency: z.strictObject({ ms: z.number().int().min(0).max(600_000), path }).optional(),
  /** Each matching request fails with `status` (default 503) with this probability. */
  errorRate: z.strictObject({ rate: z.number().min(0).max(1), status: failureStatus.optional(), path }).optional(),
  /** The next `count` matching requests fail with `status` (default 503). */
  failNext: z.strictObject({ count, status: failureStatus.optional(), path }).optional(),
  /** The next `count` matching requests get their connection destroyed, unanswered. */
  dropNext: z.strictObject({ count, path }).optional(),
  /**
   * The next `count` matching requests are not processed and never answered
   * (the client's timeout ends them), or, with answerAfterMs, processed and
   * answered that much later.
   */
  timeoutNext: z
    .strictObject({ count, answerAfterMs: z.number().int().min(0).max(600_000).optional(), path })
    .optional(),
  /** The next `count` matching requests are processed (a charge IS created) but never answered. */
  acceptThenTimeoutNext: z.strictObject({ count, path }).optional(),
  /** The next `count` matching requests get HTTP 429. */
  rateLimitNext: z.strictObject({ count, path }).optional(),
  notifications: z
    .strictObject({
      /** Every notification is sent twice. */
      duplicate: z.boolean().optional(),
      /** Every notification waits this long before its first attempt. */
      delayMs: z.number().int().min(0).max(600_000).optional(),
      /** A transaction's pending notification is held until its next notification has been sent. */
      outOfOrder: z.boolean().optional(),
      /** The next N notifications are never sent (lost webhooks). */
      dropNext: z.number().int().min(0).optional(),
    })
    .optional(),
});

export type FaultSettings = z.infer<typeof faultsSchema>;

export type FaultAction =
  | { kind: "none" }
  | { kind: "rate-limit" }
  | { kind: "drop" }
  | { kind: "timeout"; answerAfterMs: number | undefined }
  | { kind: "fail"; status: 500 | 502 | 503 | 504 }
  | { kind: "accept-then-timeout" };

export type FaultDecision = { latencyMs: number; action: FaultAction };

const matches = (fault: { path?: string | undefined } | undefined, requestPath: string): boolean =>
  fault !== undefined && requestPath.startsWith(fault.path ?? "/");

export class Faults {
  private settings: FaultSettings = {};

  current(): FaultSettings {
    return structuredClone(this.settings);
  }

  set(update: FaultSettings): void {
    this.settings = { ...this.settings, ...update };
  }

  clear(): void {
    this.settings = {};
  }

  /**
   * What happens to one Core API request. At most one counted fault fires
   * per request (and is used up), checked in this order: rate limit, drop,
   * timeout, fixed failure, error rate, accept-then-timeout.
   */
  decide(requestPath: string): FaultDecision {
    const s = this.settings;
    const latencyMs = s.latency && matches(s.latency, requestPath) ? s.latency.ms : 0;
    const take = <K extends "rateLimitNext" | "dropNext" | "timeoutNext" | "failNext" | "acceptThenTimeoutNext">(
      key: K,
    ): NonNullable<FaultSettings[K]> | undefined => {
      const fault = s[key];
      if (!fault || !matches(fault, requestPath)) return undefined;
      if (fault.count <= 1) delete s[key];
      else fault.count -= 1;
      return fault as NonNullable<FaultSettings[K]>;
    };
    const action = ((): FaultAction => {
      if (take("rateLimitNext")) return { kind: "rate-limit" };
      if (take("dropNext")) return { kind: "drop" };
      const timeout = take("timeoutNext");
      if (timeout) return { kind: "timeout", answerAfterMs: timeout.answerAfterMs };
      const fail = take("failNext");
      if (fail) return { kind: "fail", status: fail.status ?? 503 };
      if (s.errorRate && matches(s.errorRate, requestPath) && Math.random() < s.errorRate.rate)
        return { kind: "fail", status: s.errorRate.status ?? 503 };
      if (take("acceptThenTimeoutNext")) return { kind: "accept-then-timeout" };
      return { kind: "none" };
    })();
    return { latencyMs, action };
  }

  /** The notification faults now; `takeDrop` uses up one of dropNext. */
  notificationFaults(): { duplicate: boolean; delayMs: number; outOfOrder: boolean; takeDrop(): boolean } {
    const n = this.settings.notifications;
    return {
      duplicate: n?.duplicate ?? false,
      delayMs: n?.delayMs ?? 0,
      outOfOrder: n?.outOfOrder ?? false,
      takeDrop: () => {
        if (!n?.dropNext) return false;
        n.dropNext -= 1;
        return true;
      },
    };
  }
}
