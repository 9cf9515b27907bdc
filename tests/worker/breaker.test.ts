/**
 * The one circuit breaker in front of Midtrans, against the real simulator:
 * 5 failed operations in a row open it (SHORT_ENV), open it rejects without
 * a call, after 600 ms it half-opens for one trial at a time, 2 successful
 * trials close it, a failed trial reopens it, resetBreaker closes it.
 */
import { orderId } from "../helpers/simulator";
import {
  clearFaults,
  gatewayFor,
  rejection,
  setFaults,
  SHORT_ENV,
  startLoggedSimulator,
  type LoggedSimulator,
} from "../helpers/gateway";
import {
  MidtransTransientError,
  MidtransUnavailableError,
  type MidtransGateway,
  type ResilienceSnapshot,
} from "../../worker/payments/midtrans-gateway";
import type { BreakerState } from "../../worker/payments/circuit-breaker";

let simulator: LoggedSimulator;
let order: string;

beforeAll(async () => {
  simulator = await startLoggedSimulator();
  order = orderId("br");
  await gatewayFor(simulator).createQrisPayment({ orderId: order, grossAmount: 10_000, expiryMinutes: 60 });
});
afterEach(() => clearFaults(simulator));
afterAll(() => simulator.stop());

const HALF_OPEN_AFTER_MS = Number(SHORT_ENV.MIDTRANS_BREAKER_HALF_OPEN_AFTER_MS);
const statusCalls = () => simulator.callsTo(`/v2/${order}/status`).length;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A gateway recording its breaker's state changes. */
function watchedGateway(): { gateway: MidtransGateway; changes: [BreakerState, ResilienceSnapshot][] } {
  const changes: [BreakerState, ResilienceSnapshot][] = [];
  const gateway = gatewayFor(simulator, {}, { onStateChange: (state, snapshot) => changes.push([state, snapshot]) });
  return { gateway, changes };
}

/** Opens the circuit with 5 status operations that fail (2 calls each). */
async function openCircuit(gateway: MidtransGateway): Promise<void> {
  await setFaults(simulator, { failNext: { count: 10, path: `/v2/${order}/status` } });
  for (let i = 0; i < 5; i++)
    expect(await rejection(gateway.getPaymentStatus(order))).toBeInstanceOf(MidtransTransientError);
  await clearFaults(simulator);
}

test("opens after 5 consecutive failures and then rejects without reaching Midtrans", async () => {
  const { gateway, changes } = watchedGateway();
  const before = statusCalls();
  await setFaults(simulator, { failNext: { count: 10, path: `/v2/${order}/status` } });
  for (let i = 1; i <= 4; i++) {
    await rejection(gateway.getPaymentStatus(order));
    expect(gateway.resilienceSnapshot()).toMatchObject({ state: "closed", consecutiveFailures: i });
  }
  await rejection(gateway.getPaymentStatus(order));
  expect(statusCalls() - before).toBe(10);
  const opened = gateway.resilienceSnapshot();
  expect(opened).toMatchObject({
    state: "open",
    consecutiveFailures: 5,
    halfOpenSuccesses: 0,
    lastFailureReason: expect.stringContaining("503"),
    totals: { calls: 5, failures: 5, rejections: 0 },
  });
  expect(opened.openedAt).toBeInstanceOf(Date);
  expect(opened.lastFailureAt!.getTime()).toBe(opened.openedAt!.getTime());
  expect(changes.map(([s]) => s)).toEqual(["open"]);

  // Open: rejected at once, for every operation, and the simulator sees nothing.
  await clearFaults(simulator);
  const started = performance.now();
  const rejected = await rejection(gateway.getPaymentStatus(order));
  expect(performance.now() - started).toBeLessThan(20);
  expect(rejected).toBeInstanceOf(MidtransUnavailableError);
  expect((rejected as MidtransUnavailableError).retryAfter?.getTime()).toBe(
    opened.openedAt!.getTime() + HALF_OPEN_AFTER_MS,
  );
  expect(await rejection(gateway.cancelPayment(order))).toMatchObject({
    name: "MidtransUnavailableError",
    operation: "cancel",
  });
  expect(statusCalls() - before).toBe(10);
  expect(simulator.callsTo(`/v2/${order}/cancel`)).toHaveLength(0);
  expect(gateway.resilienceSnapshot().totals).toEqual({ calls: 7, failures: 5, rejections: 2 });
});

test("half-open after the delay: one trial at a time, closes only after 2 successes", async () => {
  const { gateway, changes } = watchedGateway();
  await openCircuit(gateway);
  await sleep(HALF_OPEN_AFTER_MS + 20);
  expect(gateway.resilienceSnapshot().state).toBe("half-open");

  // Two at once: the trial goes through, the other is rejected while it runs.
  const before = statusCalls();
  const [trial, second] = await Promise.allSettled([gateway.getPaymentStatus(order), gateway.getPaymentStatus(order)]);
  expect(trial).toMatchObject({ status: "fulfilled", value: { status: "pending" } });
  expect(second).toMatchObject({ status: "rejected", reason: expect.any(MidtransUnavailableError) });
  expect(statusCalls() - before).toBe(1);
  // One success is not enough.
  expect(gateway.resilienceSnapshot()).toMatchObject({ state: "half-open", halfOpenSuccesses: 1 });

  expect((await gateway.getPaymentStatus(order))?.status).toBe("pending");
  expect(gateway.resilienceSnapshot()).toMatchObject({
    state: "closed",
    consecutiveFailures: 0,
    halfOpenSuccesses: 0,
    totals: { calls: 8, failures: 5, rejections: 1 },
  });
  expect(changes.map(([s]) => s)).toEqual(["open", "half-open", "closed"]);
});

test("a failure in half-open reopens it, even after a successful trial", async () => {
  const { gateway, changes } = watchedGateway();
  await openCircuit(gateway);
  const firstOpening = gateway.resilienceSnapshot().openedAt!;
  await sleep(HALF_OPEN_AFTER_MS + 20);
  expect((await gateway.getPaymentStatus(order))?.status).toBe("pending");
  expect(gateway.resilienceSnapshot()).toMatchObject({ state: "half-open", halfOpenSuccesses: 1 });

  await setFaults(simulator, { failNext: { count: 2, path: `/v2/${order}/status` } });
  expect(await rejection(gateway.getPaymentStatus(order))).toBeInstanceOf(MidtransTransientError);
  const reopened = gateway.resilienceSnapshot();
  expect(reopened).toMatchObject({ state: "open", halfOpenSuccesses: 0 });
  expect(reopened.openedAt!.getTime()).toBeGreaterThan(firstOpening.getTime());
  expect(await rejection(gateway.getPaymentStatus(order))).toBeInstanceOf(MidtransUnavailableError);
  expect(changes.map(([s]) => s)).toEqual(["open", "half-open", "open"]);
});

test("a 4xx answer or a success resets the count of consecutive failures", async () => {
  const gateway = gatewayFor(simulator);
  await setFaults(simulator, { failNext: { count: 8, path: `/v2/${order}/status` } });
  for (let i = 0; i < 4; i++) await rejection(gateway.getPaymentStatus(order));
  await clearFaults(simulator);
  // "412": Midtrans answered (a settled-only operation on a pending order), so it is up.
  expect(await rejection(gateway.refundPayment(order, { amount: 1, reason: "x", refundKey: "k" }))).toMatchObject({
    name: "MidtransRejectedError",
    code: "412",
  });
  expect(gateway.resilienceSnapshot()).toMatchObject({ state: "closed", consecutiveFailures: 0 });
  await setFaults(simulator, { failNext: { count: 8, path: `/v2/${order}/status` } });
  for (let i = 0; i < 4; i++) await rejection(gateway.getPaymentStatus(order));
  expect(gateway.resilienceSnapshot()).toMatchObject({ state: "closed", consecutiveFailures: 4 });
});

test("resetBreaker closes an open circuit", async () => {
  const { gateway, changes } = watchedGateway();
  await openCircuit(gateway);
  expect(gateway.resilienceSnapshot().state).toBe("open");
  gateway.resetBreaker();
  expect(gateway.resilienceSnapshot()).toMatchObject({
    state: "closed",
    consecutiveFailures: 0,
    openedAt: null,
    totals: { calls: 5, failures: 5, rejections: 0 },
  });
  expect((await gateway.getPaymentStatus(order))?.status).toBe("pending");
  expect(changes.map(([s]) => s)).toEqual(["open", "closed"]);
});
