/**
 * The worker's gateway to Midtrans' Core API for QRIS payments: create,
 * status, cancel, expire, refund, each behind the resilience policies.
 *
 * Policies, from the outside in (README "Midtrans gateway"):
 *   breaker   ONE ConsecutiveCircuitBreaker for all operations (circuit-breaker.ts):
 *             N failed operations in a row open it; while open it rejects at once
 *             (MidtransUnavailableError); it half-opens after a delay and closes after
 *             M successful trials in a row.
 *   retry     cockatiel: per operation `attempts` TOTAL calls, exponential backoff (×2 from
 *             the base delay, capped, ±jitter), only for transient failures.
 *   timeout   cockatiel, aggressive: EACH call has its own timeout (the retry is outside it),
 *             and the call's axios request is aborted (withSignal) so no socket lingers.
 * Retry and timeout are composed with cockatiel's `wrap`; the breaker is our own
 * policy (cockatiel's closes on the first half-open success) and executes that
 * composition, so the breaker sees an operation once, after its retries.
 *
 * Transient (retried, and a breaker failure): no answer at all (connection
 * refused/reset, DNS, socket hang up: MidtransError with httpStatusCode null),
 * HTTP 5xx, HTTP 429, and our timeout. Never retried: a Midtrans 4xx answer (HTTP
 * 4xx or a body status_code 4xx), except the codes that mean success for the
 * operation (404 on status: unknown order; 407 on expire; 406 on create: see
 * createQrisPayment).
 */
import { ExponentialBackoff, handleWhen, retry, TaskCancelledError, timeout, TimeoutStrategy, wrap } from "cockatiel";
import type { GeneratorFn, IPolicy } from "cockatiel";
import type { MidtransOperation, MidtransSettings } from "../../config/settings";
import {
  CircuitOpenError,
  ConsecutiveCircuitBreaker,
  type BreakerSnapshot,
  type BreakerState,
} from "./circuit-breaker";
import {
  createCoreApi,
  isMidtransError,
  PRODUCTION_BASE_URL,
  SANDBOX_BASE_URL,
  withSignal,
  type CoreApi,
  type MidtransBody,
} from "./midtrans-client";

// ---------------------------------------------------------------- errors

/** Base of every error the gateway throws, naming the operation. */
export class MidtransGatewayError extends Error {
  constructor(
    readonly operation: MidtransOperation,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Midtrans answered and refused (a 4xx): retrying the same request cannot help. */
export class MidtransRejectedError extends MidtransGatewayError {
  override name = "MidtransRejectedError";
  constructor(
    operation: MidtransOperation,
    /** The HTTP status or the body's status_code, as a string ("400", "401", "412", …). */
    readonly code: string,
    /** The parsed answer (null when it was not JSON). */
    readonly body: MidtransBody | null,
    cause?: unknown,
  ) {
    super(operation, `Midtrans refused ${operation}: ${code} ${String(body?.status_message ?? "")}`.trim(), {
      cause,
    });
  }
}

/** The circuit is open: no call was made. Try again after `retryAfter`. */
export class MidtransUnavailableError extends MidtransGatewayError {
  override name = "MidtransUnavailableError";
  constructor(
    operation: MidtransOperation,
    readonly retryAfter: Date | null,
    cause: CircuitOpenError,
  ) {
    super(operation, `Midtrans is unavailable (circuit open); ${operation} was not attempted`, { cause });
  }
}

/** Every attempt failed transiently (connection, 5xx, 429); `cause` is the last failure. */
export class MidtransTransientError extends MidtransGatewayError {
  override name = "MidtransTransientError";
  constructor(
    operation: MidtransOperation,
    readonly attempts: number,
    cause: unknown,
  ) {
    super(operation, `Midtrans ${operation} failed after ${attempts} attempt(s): ${describe(cause)}`, { cause });
  }
}

/** The attempt budget is spent and the last attempt timed out; `cause` is cockatiel's TaskCancelledError. */
export class MidtransTimeoutError extends MidtransTransientError {
  override name = "MidtransTimeoutError";
}

/** A request the gateway refuses to send (e.g. a non-integer amount). */
export class MidtransRequestError extends MidtransGatewayError {
  override name = "MidtransRequestError";
}

const describe = (error: unknown): string =>
  error instanceof Error ? `${error.name}: ${error.message}` : String(error);

// ---------------------------------------------------------------- classification

/** The code Midtrans answered with (HTTP status or body status_code), or null when nothing was answered. */
function answeredCode(error: unknown): string | null {
  if (!isMidtransError(error) || error.httpStatusCode === null || error.httpStatusCode === undefined) return null;
  return String(error.httpStatusCode);
}

/** Worth another attempt: Midtrans (or the way to it) failed, not our request. */
export function isTransient(error: unknown): boolean {
  if (error instanceof TaskCancelledError) return true;
  if (!isMidtransError(error)) return false;
  const code = answeredCode(error);
  if (code === null) return true; // ECONNRESET, ECONNREFUSED, ETIMEDOUT, ENOTFOUND, EAI_AGAIN, socket hang up
  const n = Number(code);
  return n === 429 || n >= 500;
}

// ---------------------------------------------------------------- types

export type QrisPaymentRequest = {
  orderId: string;
  /** Whole rupiah. */
  grossAmount: number;
  expiryMinutes: number;
  customer?: { firstName?: string; lastName?: string; email?: string; phone?: string };
};

export type QrisPayment = {
  transactionId: string;
  orderId: string;
  status: string;
  /** The raw QRIS payload; null when the payment was an existing one found by status (status has none). */
  qrString: string | null;
  /** The generate-qr-code action: a GET that serves the QR code as a PNG. */
  qrisUrl: string;
  expiresAt: Date;
  /** True when Midtrans already had this order (406 duplicate) and the existing transaction is returned. */
  existing: boolean;
};

export type PaymentStatus = {
  orderId: string;
  transactionId: string;
  /** transaction_status: pending, settlement, expire, cancel, deny, refund, partial_refund. */
  status: string;
  fraudStatus: string | undefined;
  /** As Midtrans sends it, e.g. "275000.00". */
  grossAmount: string;
  settlementTime?: Date;
  /** Total refunded so far, as Midtrans sends it. */
  refundAmount?: string;
  expiresAt?: Date;
};

export type PaymentChange = { orderId: string; transactionId: string; status: string };

export type RefundRequest = {
  /** Whole rupiah. */
  amount: number;
  reason: string;
  /** Names the refund: a retry with the same key never refunds twice (docs/midtrans.md §4). */
  refundKey: string;
};

export type RefundResult = PaymentChange & { refundAmount: string; refundKey: string; refundChargebackId: unknown };

export type ResilienceSnapshot = BreakerSnapshot;

export type MidtransGatewayOptions = {
  serverKey: string;
  settings: MidtransSettings;
  /** Called whenever the breaker changes state (e.g. to write a snapshot to the database). */
  onStateChange?: (state: BreakerState, snapshot: ResilienceSnapshot) => void;
};

export type MidtransGateway = {
  createQrisPayment(request: QrisPaymentRequest): Promise<QrisPayment>;
  /** null when Midtrans does not know the order (404). */
  getPaymentStatus(orderId: string): Promise<PaymentStatus | null>;
  cancelPayment(orderId: string): Promise<PaymentChange>;
  expirePayment(orderId: string): Promise<PaymentChange>;
  refundPayment(orderId: string, refund: RefundRequest): Promise<RefundResult>;
  resilienceSnapshot(): ResilienceSnapshot;
  resetBreaker(): void;
};

// ---------------------------------------------------------------- helpers

/** Midtrans times are "YYYY-MM-DD HH:mm:ss" in Jakarta time (GMT+7) without a zone (docs/midtrans.md §2). */
export function parseMidtransTime(value: unknown): Date | undefined {
  if (typeof value !== "string") return undefined;
  const m = /^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2})$/.exec(value);
  if (!m) return undefined;
  const date = new Date(`${m[1]}T${m[2]}+07:00`);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

const str = (body: MidtransBody, field: string): string => {
  const value = body[field];
  if (typeof value !== "string") throw new Error(`Midtrans answer without ${field}: ${JSON.stringify(body)}`);
  return value;
};

const optionalStr = (body: MidtransBody, field: string): string | undefined =>
  typeof body[field] === "string" ? (body[field] as string) : undefined;

/**
 * Midtrans rejects decimals in amounts (docs/midtrans.md §2); a fraction here is
 * a bug of ours, refused before any call. Range checks (0, the QRIS limits) are
 * Midtrans' to answer (400).
 */
function requireWholeRupiah(operation: MidtransOperation, what: string, amount: number): void {
  if (!Number.isSafeInteger(amount))
    throw new MidtransRequestError(operation, `${what} must be a whole number of rupiah, got ${amount}`);
}

/** ±jitter around min(max, base × 2^attempt), never above max. */
const jitteredExponential =
  (jitter: number): GeneratorFn<number> =>
  (attempt = 0, options) => {
    const delay = Math.min(options.maxDelay, options.initialDelay * 2 ** attempt);
    const shifted = delay * (1 + jitter * (2 * Math.random() - 1));
    return [Math.min(options.maxDelay, Math.max(0, shifted)), attempt + 1];
  };

// ---------------------------------------------------------------- the gateway

export function createMidtransGateway(options: MidtransGatewayOptions): MidtransGateway {
  const { settings } = options;
  const core: CoreApi = createCoreApi({
    serverKey: options.serverKey,
    isProduction: settings.isProduction,
    baseUrl: settings.baseUrl,
  });
  const baseUrl = settings.baseUrl ?? (settings.isProduction ? PRODUCTION_BASE_URL : SANDBOX_BASE_URL);

  const breaker = new ConsecutiveCircuitBreaker({
    ...settings.breaker,
    isFailure: isTransient,
    onStateChange: options.onStateChange,
  });

  const backoff = new ExponentialBackoff({
    initialDelay: settings.retry.baseDelayMs,
    maxDelay: settings.retry.maxDelayMs,
    exponent: 2,
    generator: jitteredExponential(settings.retry.jitter),
  });

  // One retry ∘ timeout composition per operation (its own attempt budget and timeout).
  const policies = Object.fromEntries(
    (Object.keys(settings.operations) as MidtransOperation[]).map((operation) => {
      const { attempts, timeoutMs } = settings.operations[operation];
      const policy: IPolicy = wrap(
        retry(handleWhen(isTransient), { maxAttempts: attempts - 1, backoff }),
        timeout(timeoutMs, TimeoutStrategy.Aggressive),
      );
      return [operation, policy];
    }),
  ) as Record<MidtransOperation, IPolicy>;

  /**
   * Runs one operation through breaker → retry → timeout and turns what
   * escapes into the gateway's errors.
   */
  async function run<T>(operation: MidtransOperation, call: () => Promise<T>): Promise<T> {
    let attempts = 0;
    try {
      return await breaker.execute(() =>
        policies[operation].execute(({ signal }) => {
          attempts += 1;
          return withSignal(signal, call);
        }),
      );
    } catch (error) {
      if (error instanceof CircuitOpenError) throw new MidtransUnavailableError(operation, error.retryAfter, error);
      if (error instanceof TaskCancelledError) throw new MidtransTimeoutError(operation, attempts, error);
      if (isTransient(error)) throw new MidtransTransientError(operation, attempts, error);
      const code = answeredCode(error);
      if (code !== null && isMidtransError(error)) {
        const body =
          error.ApiResponse && typeof error.ApiResponse === "object" ? (error.ApiResponse as MidtransBody) : null;
        throw new MidtransRejectedError(operation, code, body, error);
      }
      throw error;
    }
  }

  const toStatus = (body: MidtransBody): PaymentStatus => {
    const settlementTime = parseMidtransTime(body.settlement_time);
    const refundAmount = optionalStr(body, "refund_amount");
    const expiresAt = parseMidtransTime(body.expiry_time ?? body.expire_time);
    return {
      orderId: str(body, "order_id"),
      transactionId: str(body, "transaction_id"),
      status: str(body, "transaction_status"),
      fraudStatus: optionalStr(body, "fraud_status"),
      grossAmount: str(body, "gross_amount"),
      ...(settlementTime ? { settlementTime } : {}),
      ...(refundAmount !== undefined ? { refundAmount } : {}),
      ...(expiresAt ? { expiresAt } : {}),
    };
  };

  const toChange = (body: MidtransBody): PaymentChange => ({
    orderId: str(body, "order_id"),
    transactionId: str(body, "transaction_id"),
    status: str(body, "transaction_status"),
  });

  async function getPaymentStatus(orderId: string): Promise<PaymentStatus | null> {
    const body = await run("status", async () => {
      try {
        return await core.transaction.status(orderId);
      } catch (error) {
        // "404" Transaction doesn't exist: an answer, not a failure (nor a breaker failure).
        if (answeredCode(error) === "404") return null;
        throw error;
      }
    });
    return body === null ? null : toStatus(body);
  }

  async function createQrisPayment(request: QrisPaymentRequest): Promise<QrisPayment> {
    requireWholeRupiah("create", "grossAmount", request.grossAmount);
    if (!Number.isSafeInteger(request.expiryMinutes) || request.expiryMinutes < 1)
      throw new MidtransRequestError(
        "create",
        `expiryMinutes must be a whole number ≥ 1, got ${request.expiryMinutes}`,
      );
    const c = request.customer;
    const charge = {
      payment_type: "qris",
      transaction_details: { order_id: request.orderId, gross_amount: request.grossAmount },
      qris: { acquirer: "gopay" },
      custom_expiry: { expiry_duration: request.expiryMinutes, unit: "minute" },
      ...(c
        ? {
            customer_details: {
              ...(c.firstName !== undefined ? { first_name: c.firstName } : {}),
              ...(c.lastName !== undefined ? { last_name: c.lastName } : {}),
              ...(c.email !== undefined ? { email: c.email } : {}),
              ...(c.phone !== undefined ? { phone: c.phone } : {}),
            },
          }
        : {}),
    };
    try {
      const body = await run("create", () => core.charge(charge));
      const actions = Array.isArray(body.actions) ? (body.actions as { name?: unknown; url?: unknown }[]) : [];
      const qrisUrl = actions.find((a) => a.name === "generate-qr-code")?.url;
      const expiresAt = parseMidtransTime(body.expiry_time ?? body.expire_time);
      if (typeof qrisUrl !== "string")
        throw new Error(`charge answer without generate-qr-code: ${JSON.stringify(body)}`);
      if (!expiresAt) throw new Error(`charge answer without expiry_time: ${JSON.stringify(body)}`);
      return {
        transactionId: str(body, "transaction_id"),
        orderId: str(body, "order_id"),
        status: str(body, "transaction_status"),
        qrString: optionalStr(body, "qr_string") ?? null,
        qrisUrl,
        expiresAt,
        existing: false,
      };
    } catch (error) {
      // 406 "duplicate order_id": Midtrans already holds a charge for this order.
      // This is how a charge is never made twice: when an attempt timed out after
      // Midtrans had accepted it, the retry gets 406, and we return the existing
      // transaction (found by GET status) instead of failing or charging anew.
      if (!(error instanceof MidtransRejectedError) || error.code !== "406") throw error;
      const existing = await getPaymentStatus(request.orderId);
      if (!existing) throw error;
      // A different amount means this order id was used for another charge: not ours to return.
      if (Number(existing.grossAmount) !== request.grossAmount)
        throw new MidtransRejectedError("create", "406", error.body, error);
      return {
        transactionId: existing.transactionId,
        orderId: existing.orderId,
        status: existing.status,
        qrString: null,
        // The documented generate-qr-code action (docs/midtrans.md §2); GET status does not repeat it.
        qrisUrl: `${baseUrl}/v2/qris/${existing.transactionId}/qr-code`,
        expiresAt: existing.expiresAt ?? new Date(NaN),
        existing: true,
      };
    }
  }

  return {
    createQrisPayment,
    getPaymentStatus,
    async cancelPayment(orderId) {
      return toChange(await run("cancel", () => core.transaction.cancel(orderId)));
    },
    async expirePayment(orderId) {
      // The library resolves with the "407" body ("Success, transaction has expired").
      return toChange(await run("expire", () => core.transaction.expire(orderId)));
    },
    async refundPayment(orderId, refund) {
      requireWholeRupiah("refund", "amount", refund.amount);
      // The same refund_key on every attempt: if Midtrans accepted an attempt we did not
      // hear back from, the retry gets that refund's answer again, nothing refunded twice.
      const body = await run("refund", () =>
        core.transaction.refund(orderId, {
          refund_key: refund.refundKey,
          amount: refund.amount,
          reason: refund.reason,
        }),
      );
      return {
        ...toChange(body),
        refundAmount: str(body, "refund_amount"),
        refundKey: str(body, "refund_key"),
        refundChargebackId: body.refund_chargeback_id,
      };
    },
    resilienceSnapshot: () => breaker.snapshot(),
    resetBreaker: () => breaker.reset(),
  };
}
