/**
 * The circuit breaker in front of Midtrans, shared by every operation of a
 * gateway.
 *
 * Why not cockatiel's own `circuitBreaker(…, { breaker: new
 * ConsecutiveBreaker(n) })`: its half-open state lets one trial call through
 * and closes on the first success, while we must close only after M
 * consecutive successful trials. So this is a small policy of its own with
 * the same shape as cockatiel's (closed → open after N consecutive failures;
 * open rejects at once; after `halfOpenAfterMs` half-open lets one trial call
 * at a time through; a failed trial reopens it; M successful trials in a row
 * close it), which `execute`s a function like a cockatiel policy does, so it
 * wraps the cockatiel retry ∘ timeout policy (midtrans-gateway.ts).
 *
 * What counts: the breaker sees whole operations (after their retries).
 * `isFailure` decides which errors are failures (Midtrans unreachable or
 * broken); any other outcome, including a 4xx answer, proves Midtrans is up
 * and counts as a success.
 */

export type BreakerState = "closed" | "open" | "half-open";

export type BreakerSnapshot = {
  state: BreakerState;
  /** Failed operations in a row (reset by any success). */
  consecutiveFailures: number;
  /** Successful trial calls in a row in the current half-open period. */
  halfOpenSuccesses: number;
  lastFailureAt: Date | null;
  lastFailureReason: string | null;
  /** When the circuit last opened (null while it has never opened or after a reset). */
  openedAt: Date | null;
  totals: {
    /** Every operation submitted, including those rejected. */
    calls: number;
    /** Operations that failed (as isFailure says). */
    failures: number;
    /** Operations rejected without a call because the circuit was open (or a trial was running). */
    rejections: number;
  };
};

export type BreakerOptions = {
  failuresToOpen: number;
  halfOpenAfterMs: number;
  successesToClose: number;
  isFailure: (error: unknown) => boolean;
  onStateChange?: (to: BreakerState, snapshot: BreakerSnapshot) => void;
  /** The clock (tests of this class could pass a fake one; the gateway uses Date.now). */
  now?: () => number;
};

/** Thrown when the circuit rejects a call without making it. */
export class CircuitOpenError extends Error {
  override name = "CircuitOpenError";
  constructor(readonly retryAfter: Date | null) {
    super(
      retryAfter
        ? `circuit open: no call until ${retryAfter.toISOString()}`
        : "circuit half-open: a trial call is already running",
    );
  }
}

const describe = (error: unknown): string =>
  error instanceof Error ? `${error.name}: ${error.message}` : String(error);

export class ConsecutiveCircuitBreaker {
  private stateNow: BreakerState = "closed";
  private consecutiveFailures = 0;
  private halfOpenSuccesses = 0;
  private trialRunning = false;
  private lastFailureAt: number | null = null;
  private lastFailureReason: string | null = null;
  private openedAt: number | null = null;
  private totals = { calls: 0, failures: 0, rejections: 0 };
  private readonly now: () => number;

  constructor(private readonly options: BreakerOptions) {
    this.now = options.now ?? Date.now;
  }

  /** The state now: an open circuit whose delay has passed reports (and becomes) half-open. */
  get state(): BreakerState {
    this.advance();
    return this.stateNow;
  }

  snapshot(): BreakerSnapshot {
    this.advance();
    return {
      state: this.stateNow,
      consecutiveFailures: this.consecutiveFailures,
      halfOpenSuccesses: this.halfOpenSuccesses,
      lastFailureAt: this.lastFailureAt === null ? null : new Date(this.lastFailureAt),
      lastFailureReason: this.lastFailureReason,
      openedAt: this.openedAt === null ? null : new Date(this.openedAt),
      totals: { ...this.totals },
    };
  }

  /** Closes the circuit and clears the counters of the current state (the totals stay). */
  reset(): void {
    this.consecutiveFailures = 0;
    this.halfOpenSuccesses = 0;
    this.openedAt = null;
    this.transition("closed");
  }

  async execute<T>(fn: () => Promise<T>): Promise<T> {
    this.totals.calls += 1;
    this.advance();
    const isTrial = this.stateNow === "half-open";
    if (this.stateNow === "open" || (isTrial && this.trialRunning)) {
      this.totals.rejections += 1;
      throw new CircuitOpenError(
        this.stateNow === "open" ? new Date((this.openedAt ?? this.now()) + this.options.halfOpenAfterMs) : null,
      );
    }
    if (isTrial) this.trialRunning = true;
    try {
      const value = await fn();
      this.succeeded();
      return value;
    } catch (error) {
      if (this.options.isFailure(error)) this.failed(error);
      else this.succeeded();
      throw error;
    } finally {
      if (isTrial) this.trialRunning = false;
    }
  }

  private advance(): void {
    if (this.stateNow === "open" && this.now() - (this.openedAt ?? 0) >= this.options.halfOpenAfterMs) {
      this.halfOpenSuccesses = 0;
      this.transition("half-open");
    }
  }

  private succeeded(): void {
    this.consecutiveFailures = 0;
    if (this.stateNow !== "half-open") return;
    this.halfOpenSuccesses += 1;
    if (this.halfOpenSuccesses >= this.options.successesToClose) {
      this.halfOpenSuccesses = 0;
      this.transition("closed");
    }
  }

  private failed(error: unknown): void {
    const at = this.now();
    this.totals.failures += 1;
    this.consecutiveFailures += 1;
    this.lastFailureAt = at;
    this.lastFailureReason = describe(error);
    // A failed trial reopens at once; a closed circuit opens after N in a row.
    if (
      this.stateNow === "half-open" ||
      (this.stateNow === "closed" && this.consecutiveFailures >= this.options.failuresToOpen)
    ) {
      this.halfOpenSuccesses = 0;
      // The failure that opens the circuit: one instant for both.
      this.openedAt = at;
      this.transition("open");
    }
  }

  private transition(to: BreakerState): void {
    if (this.stateNow === to) return;
    this.stateNow = to;
    this.options.onStateChange?.(to, this.snapshot());
  }
}
