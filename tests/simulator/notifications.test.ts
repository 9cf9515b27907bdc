/**
 * Notifications (webhooks) as Midtrans sends them (docs/midtrans.md §5):
 * one per status change, signed, with User-Agent Veritrans, retried by the
 * receiver's reply on the scaled-down schedule, every attempt recorded.
 */
import crypto from "node:crypto";
import { MIDTRANS_RETRY_INTERVALS_MS } from "../../config/simulator-settings";
import type { RunningSimulator } from "../../simulator";
import { midtransTime, signatureKey } from "../../simulator/wire-format";
import { coreApiFor, type CoreApi } from "../helpers/midtrans-client";
import {
  orderId,
  qrisCharge,
  simulate,
  startReceiver,
  startTestSimulator,
  TEST_SERVER_KEY,
  testSettings,
  transactionView,
  waitFor,
  type Receiver,
  type ReceiverReply,
} from "../helpers/simulator";

const SCALE = testSettings().notificationRetryScale;
const receivers: Receiver[] = [];
let simulator: RunningSimulator;
let configured: Receiver;

beforeAll(async () => {
  configured = await receiver();
  simulator = await startTestSimulator({ notificationUrl: `${configured.url}/configured` });
});
afterAll(async () => {
  await simulator.stop();
  await Promise.all(receivers.map((r) => r.stop()));
});

async function receiver(reply?: (request: { path: string; count: number }) => ReceiverReply): Promise<Receiver> {
  const started = await startReceiver(reply);
  receivers.push(started);
  return started;
}

/** A client whose charges send their notifications to `url` only. */
const clientNotifying = (url: string): CoreApi =>
  coreApiFor(simulator.url, { serverKey: TEST_SERVER_KEY, headers: { "X-Override-Notification": url } });

/** The signature as a merchant checks it, computed here without the simulator's code. */
const expectedSignature = (n: { order_id?: unknown; status_code?: unknown; gross_amount?: unknown }) =>
  crypto
    .createHash("sha512")
    .update(`${String(n.order_id)}${String(n.status_code)}${String(n.gross_amount)}${TEST_SERVER_KEY}`)
    .digest("hex");

test("the signature formula gives docs/midtrans.md's test vector", () => {
  expect(signatureKey("order-123", "200", "275000.00", "SB-Mid-server-EXAMPLEKEY")).toBe(
    "094f98ceda3041fc5666c9d1e05587bc1c5a5261481784c155b22c71a2a726aa99d3a57d8701dd4996b84fb2ba01ae869ebcaabf5295254e95347a06c7fcaad6",
  );
});

test("pending and settlement notifications reach the configured URL, signed, as JSON from Veritrans", async () => {
  const core = coreApiFor(simulator.url, { serverKey: TEST_SERVER_KEY });
  const order = orderId("paid");
  const charged = await core.charge(
    qrisCharge(order, 275000, { custom_field1: "invoice-7", metadata: { invoice: 7 } }),
  );
  await simulate(simulator, "POST", `/simulate/pay/${order}`);
  const [pending, settlement] = await waitFor(
    "two notifications",
    () => configured.of(order).length >= 2 && configured.of(order),
  );

  for (const n of [pending!, settlement!]) {
    expect(n.path).toBe("/configured");
    expect(n.headers["user-agent"]).toBe("Veritrans");
    expect(n.headers["content-type"]).toBe("application/json");
    expect(n.body.signature_key).toBe(expectedSignature(n.body));
    expect(n.body).toMatchObject({
      status_message: "midtrans payment notification",
      transaction_id: charged.transaction_id,
      order_id: order,
      merchant_id: charged.merchant_id,
      gross_amount: "275000.00",
      payment_type: "qris",
      currency: "IDR",
      fraud_status: "accept",
      acquirer: "gopay",
      transaction_time: charged.transaction_time,
      custom_field1: "invoice-7",
      metadata: { invoice: 7 },
    });
  }
  expect(pending!.body).toMatchObject({ transaction_status: "pending", status_code: "201" });
  expect(pending!.body.settlement_time).toBeUndefined();
  expect(settlement!.body).toMatchObject({
    transaction_status: "settlement",
    status_code: "200",
    settlement_time: expect.stringMatching(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/),
    issuer: "gopay",
    transaction_type: "on-us",
  });
  // A merchant verifying through GET status (what the library's notification() does) sees the same state.
  expect(await core.transaction.notification(settlement!.body)).toMatchObject({ transaction_status: "settlement" });
});

test("deny, cancel and expire notify with status_code 202; refunds with 200, twice (the second bank-confirmed)", async () => {
  const sink = await receiver();
  const core = clientNotifying(`${sink.url}/hook`);
  const denied = orderId("deny");
  const cancelled = orderId("cancel");
  const expired = orderId("expire");
  const refunded = orderId("refund");
  for (const order of [denied, cancelled, expired, refunded]) await core.charge(qrisCharge(order, 10000));
  await simulate(simulator, "POST", `/simulate/deny/${denied}`);
  await core.transaction.cancel(cancelled);
  await simulate(simulator, "POST", `/simulate/expire/${expired}`);
  await simulate(simulator, "POST", `/simulate/pay/${refunded}`);
  await core.transaction.refund(refunded, { amount: 4000, refund_key: `${refunded}-1` });

  const last = (order: string, count: number) =>
    waitFor(`${count} notifications of ${order}`, () => sink.of(order).length >= count && sink.of(order).at(-1)!.body);
  expect(await last(denied, 2)).toMatchObject({ transaction_status: "deny", status_code: "202" });
  expect(await last(cancelled, 2)).toMatchObject({ transaction_status: "cancel", status_code: "202" });
  expect(await last(expired, 2)).toMatchObject({ transaction_status: "expire", status_code: "202" });
  await last(refunded, 4);
  const [, , refund, confirmed] = sink.of(refunded).map((n) => n.body);
  expect(refund).toMatchObject({ transaction_status: "partial_refund", status_code: "200", refund_amount: "4000.00" });
  expect((refund!.refunds as Record<string, unknown>[])[0]!.bank_confirmed_at).toBeUndefined();
  expect(confirmed).toMatchObject({ transaction_status: "partial_refund", status_code: "200" });
  expect((confirmed!.refunds as Record<string, unknown>[])[0]!.bank_confirmed_at).toMatch(/^\d{4}-/);
  for (const n of sink.received) expect(n.body.signature_key).toBe(expectedSignature(n.body));
});

test("a transaction expiring on its own notifies without anyone asking", async () => {
  const sink = await receiver();
  const order = orderId("timer");
  const orderTime = `${midtransTime(new Date(Date.now() - 19_000))} +0700`;
  await clientNotifying(sink.url).charge(
    qrisCharge(order, 1000, { custom_expiry: { order_time: orderTime, expiry_duration: 20, unit: "second" } }),
  );
  const expire = await waitFor("the expire notification", () => sink.of(order)[1], 5000);
  expect(expire.body).toMatchObject({ transaction_status: "expire", status_code: "202" });
});

test("X-Override-Notification replaces the configured URL; X-Append-Notification adds to it", async () => {
  const override = await receiver();
  const append = await receiver();
  const overridden = orderId("override");
  const appended = orderId("append");
  await clientNotifying(`${override.url}/a,${override.url}/b`).charge(qrisCharge(overridden, 1000));
  await coreApiFor(simulator.url, {
    serverKey: TEST_SERVER_KEY,
    headers: { "X-Append-Notification": append.url },
  }).charge(qrisCharge(appended, 1000));
  await waitFor("override deliveries", () => override.of(overridden).length === 2);
  expect(
    override
      .of(overridden)
      .map((n) => n.path)
      .sort(),
  ).toEqual(["/a", "/b"]);
  await waitFor("append deliveries", () => append.of(appended).length === 1 && configured.of(appended).length === 1);
  await new Promise((r) => setTimeout(r, 200));
  expect(configured.of(overridden)).toEqual([]);
});

test("more than 3 URLs in X-Override-Notification is refused", async () => {
  const urls = ["http://a.test/1", "http://a.test/2", "http://a.test/3", "http://a.test/4"].join(",");
  const response = await fetch(`${simulator.url}/v2/charge`, {
    method: "POST",
    headers: {
      authorization: `Basic ${Buffer.from(`${TEST_SERVER_KEY}:`).toString("base64")}`,
      "content-type": "application/json",
      "x-override-notification": urls,
    },
    body: JSON.stringify(qrisCharge(orderId("urls"), 1000)),
  });
  expect(response.status).toBe(400);
  expect(await response.json()).toMatchObject({
    validation_messages: ["x-override-notification takes at most 3 URLs"],
  });
});

/** Charges with the notification going to a receiver answering `status`; returns the order and the receiver. */
async function chargeAnsweredWith(reply: (request: { path: string; count: number }) => ReceiverReply) {
  const sink = await receiver(reply);
  const order = orderId("retry");
  await clientNotifying(`${sink.url}/hook`).charge(qrisCharge(order, 1000));
  return { sink, order };
}

/** Waits for `attempts` attempts, then long enough for one more retry to have come, and returns them. */
async function attemptsSettled(sink: Receiver, order: string, attempts: number) {
  await waitFor(`${attempts} attempts`, () => sink.of(order).length >= attempts);
  const retriesDone = attempts - 1;
  const nextRetry =
    retriesDone < MIDTRANS_RETRY_INTERVALS_MS.length ? MIDTRANS_RETRY_INTERVALS_MS[retriesDone]! * SCALE : 0;
  await new Promise((r) => setTimeout(r, nextRetry + 500));
  return sink.of(order);
}

test("the receiver's reply decides the retries: 2xx none, 500 one, 400/404 two, 301-303 none, anything else five", async () => {
  // [reply, attempts in all]; 503 has a test of its own below.
  const table: [number, number][] = [
    [200, 1],
    [204, 1],
    [500, 2],
    [400, 3],
    [404, 3],
    [301, 1],
    [302, 1],
    [303, 1],
    [410, 6],
    [502, 6],
  ];
  const observed = await Promise.all(
    table.map(async ([status, attempts]) => {
      const { sink, order } = await chargeAnsweredWith(() => status);
      const received = await attemptsSettled(sink, order, attempts);
      const deliveries = (await transactionView(simulator, order)).notifications[0]!.deliveries;
      return {
        status,
        received: received.length,
        logged: deliveries.map((d) => [d.attempt, d.http_status]),
        last: deliveries.at(-1)!.outcome,
      };
    }),
  );
  expect(observed).toEqual(
    table.map(([status, attempts]) => ({
      status,
      received: attempts,
      logged: Array.from({ length: attempts }, (_, i) => [i + 1, status]),
      last: status < 300 ? "delivered" : "gave up",
    })),
  );
});

test("503: 4 retries on the scaled schedule (2, 10, 30, 90 minutes × scale), the log recording each", async () => {
  const { sink, order } = await chargeAnsweredWith(() => 503);
  const got = await attemptsSettled(sink, order, 5);
  expect(got).toHaveLength(5);
  const gaps = got.slice(1).map((n, i) => n.at - got[i]!.at);
  gaps.forEach((gap, i) => expect(gap).toBeGreaterThanOrEqual(MIDTRANS_RETRY_INTERVALS_MS[i]! * SCALE - 5));
  const deliveries = (await transactionView(simulator, order)).notifications[0]!.deliveries;
  expect(deliveries.map((d) => d.outcome)).toEqual([...Array(4).fill("retry scheduled"), "gave up"]);
  for (const d of deliveries) {
    expect(d).toMatchObject({ url: `${sink.url}/hook`, http_status: 503, error: null });
    expect(Date.parse(d.at)).not.toBeNaN();
  }
});

test("a retry that succeeds ends the retries", async () => {
  const { sink, order } = await chargeAnsweredWith(({ count }) => (count < 3 ? 503 : 200));
  expect(await attemptsSettled(sink, order, 3)).toHaveLength(3);
  expect((await transactionView(simulator, order)).notifications[0]!.deliveries.at(-1)!.outcome).toBe("delivered");
});

test("307/308 are followed with POST and the same body; the new URL's reply counts", async () => {
  const target = await receiver();
  const { sink, order } = await chargeAnsweredWith(({ path }) =>
    path === "/hook" ? { status: 307, headers: { location: `${target.url}/moved` } } : 200,
  );
  await waitFor("the redirected delivery", () => target.of(order).length === 1);
  expect(target.of(order)[0]!.body).toEqual(sink.of(order)[0]!.body);
  const deliveries = (await transactionView(simulator, order)).notifications[0]!.deliveries;
  expect(deliveries.map((d) => [d.http_status, d.outcome])).toEqual([
    [307, "redirected"],
    [200, "delivered"],
  ]);
});

test("more than 5 redirects: given up", async () => {
  const { sink, order } = await chargeAnsweredWith(({ count }) => ({
    status: 308,
    headers: { location: `/loop${count}` },
  }));
  await waitFor("6 hops", () => sink.of(order).length >= 6);
  await new Promise((r) => setTimeout(r, 300));
  expect(sink.of(order)).toHaveLength(6);
  const deliveries = (await transactionView(simulator, order)).notifications[0]!.deliveries;
  expect(deliveries.at(-1)).toMatchObject({ outcome: "gave up", error: "more than 5 redirects" });
});

test("no reply within the timeout, and a refused connection, are retried 5 times", async () => {
  const quiet = await startTestSimulator({ notificationTimeoutMs: 100 });
  try {
    const hanging = await receiver(() => "hang");
    const closed = await receiver();
    await closed.stop();
    const core = coreApiFor(quiet.url, {
      serverKey: TEST_SERVER_KEY,
      headers: { "X-Override-Notification": `${hanging.url}/hook,${closed.url}/gone` },
    });
    const order = orderId("timeout");
    await core.charge(qrisCharge(order, 1000));
    const deliveries = await waitFor(
      "both to give up",
      async () => {
        const d = (await transactionView(quiet, order)).notifications[0]!.deliveries;
        return d.filter((a) => a.outcome === "gave up").length === 2 && d;
      },
      15_000,
    );
    const to = (url: string) => deliveries.filter((d) => d.url.startsWith(url));
    expect(to(hanging.url)).toHaveLength(6);
    expect(to(closed.url)).toHaveLength(6);
    expect(to(hanging.url)[0]).toMatchObject({ http_status: null, error: "no reply within 100 ms" });
    expect(to(closed.url)[0]).toMatchObject({ http_status: null, error: "ECONNREFUSED" });
  } finally {
    await quiet.stop();
  }
});

test("the delivery log is in /simulate/transactions", async () => {
  const order = orderId("log");
  await coreApiFor(simulator.url, { serverKey: TEST_SERVER_KEY }).charge(qrisCharge(order, 1000));
  await waitFor("the delivery", () => configured.of(order).length === 1);
  const view = await waitFor("the log", async () => {
    const v = await transactionView(simulator, order);
    return v.notifications[0]?.deliveries[0]?.outcome === "delivered" && v;
  });
  expect(view.notifications).toEqual([
    expect.objectContaining({
      transaction_status: "pending",
      status_code: "201",
      fault: null,
      targets: [`${configured.url}/configured`],
      body: configured.of(order)[0]!.body,
      deliveries: [
        expect.objectContaining({ url: `${configured.url}/configured`, attempt: 1, http_status: 200, error: null }),
      ],
    }),
  ]);
});
