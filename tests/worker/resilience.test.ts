/**
 * The gateway's retries and timeouts against the real simulator, failing on
 * request through its /simulate/faults API. Settings are short (SHORT_ENV:
 * base delay 100 ms, per-call timeouts 300–400 ms); what the simulator
 * received is read from its log (startLoggedSimulator).
 */
import { orderId, transactionsOf } from "../helpers/simulator";
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
  MidtransRejectedError,
  MidtransTimeoutError,
  MidtransTransientError,
} from "../../worker/payments/midtrans-gateway";
import { isMidtransError } from "../../worker/payments/midtrans-client";

let simulator: LoggedSimulator;

beforeAll(async () => {
  simulator = await startLoggedSimulator();
});
afterEach(() => clearFaults(simulator));
afterAll(() => simulator.stop());

const charge = (order: string, grossAmount = 10_000) => ({ orderId: order, grossAmount, expiryMinutes: 15 });

test("two transient 5xx, then create succeeds on its 3rd attempt", async () => {
  const gateway = gatewayFor(simulator);
  const order = orderId("rs-5xx");
  await setFaults(simulator, { failNext: { count: 2, status: 503, path: "/v2/charge" } });
  const payment = await gateway.createQrisPayment(charge(order));
  expect(payment).toMatchObject({ orderId: order, status: "pending", existing: false });
  const calls = simulator.callsTo("/v2/charge").slice(-3);
  expect(calls.map((c) => c.outcome)).toEqual(["503 (fault)", "503 (fault)", "HTTP 200, status_code 201"]);
  expect((await transactionsOf(simulator)).filter((t) => t.order_id === order)).toHaveLength(1);
});

test("three failures spend create's 3 attempts; the error keeps the last cause", async () => {
  const gateway = gatewayFor(simulator);
  const before = simulator.callsTo("/v2/charge").length;
  await setFaults(simulator, { failNext: { count: 3, status: 502, path: "/v2/charge" } });
  const error = await rejection(gateway.createQrisPayment(charge(orderId("rs-exhaust"))));
  expect(error).toBeInstanceOf(MidtransTransientError);
  expect(error).not.toBeInstanceOf(MidtransTimeoutError);
  expect(error).toMatchObject({ operation: "create", attempts: 3 });
  const cause = (error as Error).cause;
  expect(isMidtransError(cause) && cause.httpStatusCode).toBe(502);
  expect(simulator.callsTo("/v2/charge").length - before).toBe(3);
});

test("status has only 2 attempts; 429 and dropped connections are transient too", async () => {
  const gateway = gatewayFor(simulator);
  const order = orderId("rs-status");
  await gateway.createQrisPayment(charge(order));
  await setFaults(simulator, { failNext: { count: 5, status: 500, path: `/v2/${order}/status` } });
  expect(await rejection(gateway.getPaymentStatus(order))).toMatchObject({
    name: "MidtransTransientError",
    attempts: 2,
  });
  expect(simulator.callsTo(`/v2/${order}/status`)).toHaveLength(2);
  await clearFaults(simulator);

  await setFaults(simulator, { rateLimitNext: { count: 1, path: `/v2/${order}/status` } });
  expect((await gateway.getPaymentStatus(order))?.status).toBe("pending");
  await setFaults(simulator, { dropNext: { count: 1, path: `/v2/${order}/status` } });
  expect((await gateway.getPaymentStatus(order))?.status).toBe("pending");
  expect(simulator.callsTo(`/v2/${order}/status`).map((c) => c.outcome)).toEqual([
    "500 (fault)",
    "500 (fault)",
    "429 (fault)",
    "HTTP 200, status_code 201",
    "connection dropped (fault)",
    "HTTP 200, status_code 201",
  ]);
});

test("a 4xx answer is not retried: bad server key (401), zero amount (400)", async () => {
  const badKey = gatewayFor(simulator, {}, { serverKey: "SB-Mid-server-WRONG" });
  const order = orderId("rs-401");
  const unauthorized = await rejection(badKey.createQrisPayment(charge(order)));
  expect(unauthorized).toBeInstanceOf(MidtransRejectedError);
  expect(unauthorized).toMatchObject({ code: "401", body: { status_code: "401" } });

  const gateway = gatewayFor(simulator);
  const zero = orderId("rs-400");
  const invalid = await rejection(gateway.createQrisPayment(charge(zero, 0)));
  expect(invalid).toMatchObject({ name: "MidtransRejectedError", code: "400" });

  // One call each: the simulator logs the path, the order id is in the body, so count by outcome.
  const refused = simulator.calls.filter((c) => c.path === "/v2/charge" && /HTTP 40[01]/.test(c.outcome));
  expect(refused.map((c) => c.outcome)).toEqual(["HTTP 401, status_code 401", "HTTP 400, status_code 400"]);
  // A refusal proves Midtrans is up: it is no breaker failure.
  expect(gateway.resilienceSnapshot()).toMatchObject({ consecutiveFailures: 0, totals: { failures: 0 } });
});

test("each attempt has its own timeout: elapsed ≈ attempts × timeout (+ backoff)", async () => {
  const gateway = gatewayFor(simulator);
  const order = orderId("rs-timeout");
  await gateway.createQrisPayment(charge(order));
  await setFaults(simulator, { timeoutNext: { count: 2, path: `/v2/${order}/status` } });
  const started = performance.now();
  const error = await rejection(gateway.getPaymentStatus(order));
  const elapsed = performance.now() - started;
  expect(error).toBeInstanceOf(MidtransTimeoutError);
  expect(error).toMatchObject({ operation: "status", attempts: 2 });
  const timeoutMs = Number(SHORT_ENV.MIDTRANS_STATUS_TIMEOUT_MS);
  // 2 × 300 ms of waiting plus one backoff of 100 ms ± 10 %, plus a little time of our own.
  expect(elapsed).toBeGreaterThanOrEqual(2 * timeoutMs + 85);
  expect(elapsed).toBeLessThan(2 * timeoutMs + 110 + 250);
  expect(simulator.callsTo(`/v2/${order}/status`).map((c) => c.outcome)).toEqual([
    "no answer (fault)",
    "no answer (fault)",
  ]);
});

test("the backoff doubles between attempts (gaps between the simulator's received calls)", async () => {
  const gateway = gatewayFor(simulator, { MIDTRANS_RETRY_BASE_DELAY_MS: "200", MIDTRANS_CREATE_ATTEMPTS: "4" });
  await setFaults(simulator, { failNext: { count: 3, path: "/v2/charge" } });
  await gateway.createQrisPayment(charge(orderId("rs-backoff")));
  const calls = simulator.callsTo("/v2/charge").slice(-4);
  expect(calls.map((c) => c.outcome.startsWith("503"))).toEqual([true, true, true, false]);
  const gaps = calls.slice(1).map((c, i) => c.at - calls[i]!.at);
  // 200, 400, 800 ms, each ± 10 % jitter; the upper bounds leave room for a busy machine.
  expect(gaps[0]).toBeGreaterThanOrEqual(175);
  expect(gaps[0]).toBeLessThan(330);
  expect(gaps[1]).toBeGreaterThanOrEqual(355);
  expect(gaps[1]).toBeLessThan(560);
  expect(gaps[2]).toBeGreaterThanOrEqual(715);
  expect(gaps[2]).toBeLessThan(1000);
});

test("the delay is capped at the maximum", async () => {
  const gateway = gatewayFor(simulator, {
    MIDTRANS_RETRY_BASE_DELAY_MS: "1500",
    MIDTRANS_RETRY_MAX_DELAY_MS: "2000",
    MIDTRANS_CREATE_ATTEMPTS: "3",
  });
  await setFaults(simulator, { failNext: { count: 2, path: "/v2/charge" } });
  await gateway.createQrisPayment(charge(orderId("rs-cap")));
  const calls = simulator.callsTo("/v2/charge").slice(-3);
  const gap = calls[2]!.at - calls[1]!.at;
  // Uncapped it would be 3000 ms ± 10 %.
  expect(gap).toBeGreaterThanOrEqual(1790);
  expect(gap).toBeLessThan(2300);
});

test("accepted, then no answer: create returns the existing transaction, charged once", async () => {
  const gateway = gatewayFor(simulator);
  const order = orderId("rs-accepted");
  await setFaults(simulator, { acceptThenTimeoutNext: { count: 1, path: "/v2/charge" } });
  const before = simulator.callsTo("/v2/charge").length;
  const startedAt = Date.now();
  const payment = await gateway.createQrisPayment(charge(order, 99_000));
  const answeredAt = Date.now();
  expect(payment).toMatchObject({ orderId: order, status: "pending", existing: true, qrString: null });
  const held = (await transactionsOf(simulator)).filter((t) => t.order_id === order);
  expect(held).toHaveLength(1);
  expect(payment.transactionId).toBe(held[0]!.transaction_id);
  expect(payment.qrisUrl).toBe(`${simulator.url}/v2/qris/${payment.transactionId}/qr-code`);
  expect((await fetch(payment.qrisUrl)).headers.get("content-type")).toBe("image/png");
  // 15 minutes after the charge was accepted (Midtrans times have whole seconds).
  expect(payment.expiresAt.getTime()).toBeGreaterThanOrEqual(startedAt + 15 * 60_000 - 1_000);
  expect(payment.expiresAt.getTime()).toBeLessThanOrEqual(answeredAt + 15 * 60_000);
  expect(
    simulator
      .callsTo("/v2/charge")
      .slice(before)
      .map((c) => c.outcome),
  ).toEqual(["processed, no answer (fault)", "HTTP 200, status_code 406"]);
  expect(simulator.callsTo(`/v2/${order}/status`)).toHaveLength(1);
});

test("a duplicate order with another amount is not taken for ours", async () => {
  const gateway = gatewayFor(simulator);
  const order = orderId("rs-dup");
  await gateway.createQrisPayment(charge(order, 10_000));
  const error = await rejection(gateway.createQrisPayment(charge(order, 20_000)));
  expect(error).toMatchObject({ name: "MidtransRejectedError", code: "406" });
});
