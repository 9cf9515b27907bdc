/**
 * Faults on request (POST /simulate/faults): a slow, failing, rate-limited
 * or silent Midtrans as midtrans-client sees it, and lost, repeated, late or
 * reordered notifications as a receiver sees them.
 */
import type { RunningSimulator } from "../../simulator";
import { coreApiFor, midtransError, type CoreApi } from "../helpers/midtrans-client";
import {
  orderId,
  qrisCharge,
  simulate,
  startReceiver,
  startTestSimulator,
  TEST_SERVER_KEY,
  transactionView,
  transactionsOf,
  waitFor,
  type Receiver,
} from "../helpers/simulator";

let simulator: RunningSimulator;
let core: CoreApi;
let sink: Receiver;

beforeAll(async () => {
  sink = await startReceiver();
  simulator = await startTestSimulator({ notificationUrl: sink.url });
  core = coreApiFor(simulator.url, { serverKey: TEST_SERVER_KEY });
});
afterEach(async () => {
  expect((await simulate(simulator, "DELETE", "/simulate/faults")).body).toEqual({ faults: {} });
});
afterAll(async () => {
  await simulator.stop();
  await sink.stop();
});

const setFaults = async (faults: unknown) => {
  const response = await simulate(simulator, "POST", "/simulate/faults", faults);
  expect(response.status).toBe(200);
  return response.body;
};

const timed = async <T>(call: () => Promise<T>): Promise<{ ms: number; value: T }> => {
  const start = performance.now();
  const value = await call();
  return { ms: performance.now() - start, value };
};

describe("API faults", () => {
  test("latency delays the requests under its path only", async () => {
    await setFaults({ latency: { ms: 800, path: "/v2/charge" } });
    const charged = await timed(() => core.charge(qrisCharge(orderId("slow"), 1000)));
    expect(charged.ms).toBeGreaterThanOrEqual(790);
    expect(charged.value.status_code).toBe("201");
    const status = await timed(() => core.transaction.status(String(charged.value.order_id)));
    expect(status.ms).toBeLessThan(790);
  });

  test("error rate 1 answers every request with the chosen 5xx; error rate 0 with none", async () => {
    await setFaults({ errorRate: { rate: 1, status: 502 } });
    for (let i = 0; i < 3; i++) {
      const error = await midtransError(core.charge(qrisCharge(orderId("rate"), 1000)));
      expect(error.httpStatusCode).toBe(502);
    }
    await setFaults({ errorRate: { rate: 1 } });
    const unavailable = await midtransError(core.transaction.status("anything"));
    expect(unavailable.httpStatusCode).toBe(503);
    expect(unavailable.ApiResponse).toMatchObject({ status_code: "503" });
    await setFaults({ errorRate: { rate: 0 } });
    expect((await core.charge(qrisCharge(orderId("rate"), 1000))).status_code).toBe("201");
  });

  test("failNext fails exactly the next N calls", async () => {
    await setFaults({ failNext: { count: 2, status: 500 } });
    expect((await midtransError(core.charge(qrisCharge(orderId("fail"), 1000)))).httpStatusCode).toBe(500);
    expect((await midtransError(core.charge(qrisCharge(orderId("fail"), 1000)))).httpStatusCode).toBe(500);
    expect((await core.charge(qrisCharge(orderId("fail"), 1000))).status_code).toBe("201");
  });

  test("a failed call changed nothing: no transaction was created", async () => {
    const order = orderId("no-side-effect");
    await setFaults({ failNext: { count: 1 } });
    await midtransError(core.charge(qrisCharge(order, 1000)));
    expect((await transactionsOf(simulator)).filter((t) => t.order_id === order)).toEqual([]);
  });

  test("a dropped connection is a MidtransError with no HTTP status", async () => {
    await setFaults({ dropNext: { count: 1, path: "/v2/charge" } });
    const error = await midtransError(core.charge(qrisCharge(orderId("drop"), 1000)));
    expect(error.httpStatusCode).toBeNull();
    expect(error.ApiResponse).toBeNull();
    expect(error.message).toMatch(/connection failure/);
    expect((await core.charge(qrisCharge(orderId("drop"), 1000))).status_code).toBe("201");
  });

  test("timeoutNext: never answered (the client's timeout ends it), nothing processed", async () => {
    const order = orderId("timeout");
    await setFaults({ timeoutNext: { count: 1 } });
    const impatient = coreApiFor(simulator.url, { serverKey: TEST_SERVER_KEY, timeoutMs: 300 });
    const error = await midtransError(impatient.charge(qrisCharge(order, 1000)));
    expect(error.httpStatusCode).toBeNull();
    expect(error.message).toMatch(/timeout/);
    expect((await core.charge(qrisCharge(order, 1000))).status_code).toBe("201");
  });

  test("timeoutNext with answerAfterMs: processed and answered late", async () => {
    await setFaults({ timeoutNext: { count: 1, answerAfterMs: 600 } });
    const late = await timed(() => core.charge(qrisCharge(orderId("late"), 1000)));
    expect(late.ms).toBeGreaterThanOrEqual(590);
    expect(late.value.status_code).toBe("201");
  });

  test("accept then time out: the charge exists, the retry gets 406, status shows it pending", async () => {
    const order = orderId("accepted");
    await setFaults({ acceptThenTimeoutNext: { count: 1, path: "/v2/charge" } });
    const impatient = coreApiFor(simulator.url, { serverKey: TEST_SERVER_KEY, timeoutMs: 500 });
    const error = await midtransError(impatient.charge(qrisCharge(order, 50000)));
    expect(error.httpStatusCode).toBeNull();

    expect(await transactionView(simulator, order)).toMatchObject({
      transaction_status: "pending",
      gross_amount: "50000.00",
    });
    const retried = await midtransError(impatient.charge(qrisCharge(order, 50000)));
    expect(retried.httpStatusCode).toBe("406");
    expect(await core.transaction.status(order)).toMatchObject({ status_code: "201", transaction_status: "pending" });
  });

  test("429 for the next N calls, with the body that has no status_code", async () => {
    await setFaults({ rateLimitNext: { count: 2 } });
    for (let i = 0; i < 2; i++) {
      const error = await midtransError(core.charge(qrisCharge(orderId("limited"), 1000)));
      expect(error.httpStatusCode).toBe(429);
      expect(error.ApiResponse).toEqual({ message: "API rate limit exceeded" });
    }
    expect((await core.charge(qrisCharge(orderId("limited"), 1000))).status_code).toBe("201");
  });

  test("the test API and the page are never faulted", async () => {
    await setFaults({ errorRate: { rate: 1 }, latency: { ms: 2000 } });
    const start = performance.now();
    expect((await simulate(simulator, "GET", "/simulate/transactions")).status).toBe(200);
    expect((await fetch(`${simulator.url}/`)).status).toBe(200);
    expect(performance.now() - start).toBeLessThan(1500);
  });

  test("GET /simulate/faults shows what is set and what is left; a bad fault is refused with the reason", async () => {
    await setFaults({ failNext: { count: 3, path: "/v2/charge" } });
    await midtransError(core.charge(qrisCharge(orderId("left"), 1000)));
    expect((await simulate(simulator, "GET", "/simulate/faults")).body).toEqual({
      faults: { failNext: { count: 2, path: "/v2/charge" } },
    });
    const bad = await simulate(simulator, "POST", "/simulate/faults", { errorRate: { rate: 2 }, typo: true });
    expect(bad.status).toBe(400);
    expect(bad.body.problems).toEqual(expect.arrayContaining([expect.stringContaining("errorRate.rate")]));
  });
});

describe("notification faults", () => {
  const bodiesOf = (order: string) => sink.of(order).map((n) => n.body.transaction_status);

  test("duplicate: every notification arrives twice", async () => {
    await setFaults({ notifications: { duplicate: true } });
    const order = orderId("twice");
    await core.charge(qrisCharge(order, 1000));
    await simulate(simulator, "POST", `/simulate/pay/${order}`);
    await waitFor("four notifications", () => sink.of(order).length === 4);
    expect(bodiesOf(order).sort()).toEqual(["pending", "pending", "settlement", "settlement"]);
    const copies = (await transactionView(simulator, order)).notifications.map((n) => n.deliveries.map((d) => d.copy));
    expect(copies).toEqual([
      [1, 2],
      [1, 2],
    ]);
  });

  test("delayMs: a notification arrives that much later", async () => {
    await setFaults({ notifications: { delayMs: 700 } });
    const order = orderId("delayed");
    const start = Date.now();
    await core.charge(qrisCharge(order, 1000));
    const [first] = await waitFor("the notification", () => sink.of(order).length === 1 && sink.of(order));
    expect(first!.at - start).toBeGreaterThanOrEqual(690);
  });

  test("outOfOrder: the pending notification arrives after the settlement one", async () => {
    await setFaults({ notifications: { outOfOrder: true } });
    const order = orderId("reordered");
    await core.charge(qrisCharge(order, 1000));
    await new Promise((r) => setTimeout(r, 300));
    expect(sink.of(order)).toEqual([]);
    await simulate(simulator, "POST", `/simulate/pay/${order}`);
    await waitFor("both notifications", () => sink.of(order).length === 2);
    expect(bodiesOf(order)).toEqual(["settlement", "pending"]);
    expect((await transactionView(simulator, order)).notifications.map((n) => n.fault)).toEqual(["sent late", null]);
  });

  test("clearing the faults sends a notification that outOfOrder still holds", async () => {
    await setFaults({ notifications: { outOfOrder: true } });
    const order = orderId("held");
    await core.charge(qrisCharge(order, 1000));
    await simulate(simulator, "DELETE", "/simulate/faults");
    await waitFor("the held notification", () => sink.of(order).length === 1);
  });

  test("dropNext: the next N notifications are lost, and the log says so", async () => {
    await setFaults({ notifications: { dropNext: 1 } });
    const order = orderId("lost");
    await core.charge(qrisCharge(order, 1000));
    await simulate(simulator, "POST", `/simulate/pay/${order}`);
    await waitFor("the settlement", () => sink.of(order).length === 1);
    await new Promise((r) => setTimeout(r, 300));
    expect(bodiesOf(order)).toEqual(["settlement"]);
    const notifications = (await transactionView(simulator, order)).notifications;
    expect(notifications.map((n) => [n.transaction_status, n.fault, n.deliveries.length])).toEqual([
      ["pending", "dropped", 0],
      ["settlement", null, 1],
    ]);
  });
});

test("POST /simulate/reset forgets transactions, notifications and faults", async () => {
  const order = orderId("reset");
  await core.charge(qrisCharge(order, 1000));
  await setFaults({ latency: { ms: 10 } });
  expect((await simulate(simulator, "POST", "/simulate/reset")).status).toBe(200);
  expect(await transactionsOf(simulator)).toEqual([]);
  expect((await simulate(simulator, "GET", "/simulate/faults")).body).toEqual({ faults: {} });
  expect((await midtransError(core.transaction.status(order))).httpStatusCode).toBe("404");
});
