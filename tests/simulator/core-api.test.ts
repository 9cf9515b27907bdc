/**
 * The official midtrans-client (CoreApi, sandbox mode) against the
 * simulator: every Core API behaviour the worker relies on, with the bodies
 * and error surfacing of docs/midtrans.md (sections 2–4 and 7).
 */
import type { RunningSimulator } from "../../simulator";
import { formatAmount, midtransTime } from "../../simulator/wire-format";
import { coreApiFor, midtransError, type CoreApi } from "../helpers/midtrans-client";
import { orderId, qrisCharge, simulate, startTestSimulator, TEST_SERVER_KEY } from "../helpers/simulator";

let simulator: RunningSimulator;
let core: CoreApi;

beforeAll(async () => {
  simulator = await startTestSimulator();
  core = coreApiFor(simulator.url, { serverKey: TEST_SERVER_KEY });
});
afterAll(() => simulator.stop());

const TIME = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/;
/** A "YYYY-MM-DD HH:mm:ss" GMT+7 time as a Date. */
const fromMidtransTime = (text: string) => new Date(`${text.replace(" ", "T")}+07:00`);

async function paid(order: string, amount: number) {
  const charged = await core.charge(qrisCharge(order, amount));
  expect((await simulate(simulator, "POST", `/simulate/pay/${order}`)).status).toBe(200);
  return charged;
}

describe("charge", () => {
  test("creates a pending QRIS transaction: 201 body with actions, qr_string, expiry_time and amounts as N.00", async () => {
    const order = orderId("charge");
    const before = Date.now();
    const body = await core.charge(
      qrisCharge(order, 275000, { item_details: [{ id: "sku", price: 137500, quantity: 2, name: "Website" }] }),
    );
    expect(body).toEqual({
      status_code: "201",
      status_message: "QRIS transaction is created",
      transaction_id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      order_id: order,
      merchant_id: expect.stringMatching(/^G\d{9}$/),
      gross_amount: "275000.00",
      currency: "IDR",
      payment_type: "qris",
      transaction_time: expect.stringMatching(TIME),
      transaction_status: "pending",
      fraud_status: "accept",
      actions: [
        {
          name: "generate-qr-code",
          method: "GET",
          url: `${simulator.url}/v2/qris/${String(body.transaction_id)}/qr-code`,
        },
      ],
      qr_string: expect.stringMatching(/^000201/),
      acquirer: "gopay",
      expiry_time: expect.stringMatching(TIME),
    });
    // transaction_time is GMT+7, and the default expiry is 15 minutes.
    const created = fromMidtransTime(String(body.transaction_time)).getTime();
    expect(created).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000);
    expect(created).toBeLessThanOrEqual(Date.now());
    expect(fromMidtransTime(String(body.expiry_time)).getTime() - created).toBe(15 * 60_000);
  });

  test("custom_expiry sets expiry_time (unit defaults to minute)", async () => {
    const hours = await core.charge(
      qrisCharge(orderId("expiry"), 1000, { custom_expiry: { expiry_duration: 2, unit: "hour" } }),
    );
    const minutes = await core.charge(qrisCharge(orderId("expiry"), 1000, { custom_expiry: { expiry_duration: 45 } }));
    const span = (b: typeof hours) =>
      fromMidtransTime(String(b.expiry_time)).getTime() - fromMidtransTime(String(b.transaction_time)).getTime();
    expect(span(hours)).toBe(2 * 3600_000);
    expect(span(minutes)).toBe(45 * 60_000);
  });

  test("a zero amount is HTTP 400 with validation_messages (httpStatusCode 400, as the library's own test expects)", async () => {
    const error = await midtransError(core.charge(qrisCharge(orderId("zero"), 0)));
    expect(error.httpStatusCode).toBe(400);
    expect(error.ApiResponse).toEqual({
      status_code: "400",
      status_message: "One or more parameters in the payload is invalid.",
      validation_messages: [expect.stringContaining("transaction_details.gross_amount")],
      id: expect.any(String),
    });
  });

  test.each([
    [
      "a missing order_id",
      { payment_type: "qris", transaction_details: { gross_amount: 1000 } },
      "transaction_details.order_id is required",
    ],
    [
      "an order_id over 50 characters",
      qrisCharge("x".repeat(51), 1000),
      "transaction_details.order_id must be at most 50 characters",
    ],
    ["a symbol other than - _ ~ .", qrisCharge("order#1", 1000), "transaction_details.order_id may contain only"],
    ["a decimal amount", qrisCharge("decimal-1", 1000.5), "transaction_details.gross_amount must be an integer"],
    [
      "a missing amount",
      { payment_type: "qris", transaction_details: { order_id: "no-amount" } },
      "transaction_details.gross_amount is required",
    ],
    [
      "item_details that do not add up",
      qrisCharge("items-1", 1000, { item_details: [{ price: 400, quantity: 2, name: "a" }] }),
      "transaction_details.gross_amount is not equal to the sum of item_details",
    ],
    [
      "an unknown unit",
      qrisCharge("unit-1", 1000, { custom_expiry: { expiry_duration: 1, unit: "week" } }),
      "custom_expiry.unit",
    ],
    [
      "an expiry over 7 days",
      qrisCharge("long-1", 1000, { custom_expiry: { expiry_duration: 8, unit: "day" } }),
      "must not exceed 7 days",
    ],
  ])("refuses %s with HTTP 400", async (_, body, message) => {
    const error = await midtransError(core.charge(body));
    expect(error.httpStatusCode).toBe(400);
    expect((error.ApiResponse as { validation_messages: string[] }).validation_messages).toEqual(
      expect.arrayContaining([expect.stringContaining(message)]),
    );
  });

  test("accepts an order_id of 50 characters using every allowed symbol", async () => {
    const order = `a-b_c~d.e${"9".repeat(41)}`;
    expect(order).toHaveLength(50);
    expect((await core.charge(qrisCharge(order, 1000))).order_id).toBe(order);
  });

  test("a duplicate order_id of a pending or settled transaction is a MidtransError with the 406 body, sent with HTTP 200", async () => {
    const order = orderId("dup");
    await core.charge(qrisCharge(order, 5000));
    const pending = await midtransError(core.charge(qrisCharge(order, 5000)));
    // The body's status_code string: the library saw HTTP 200 (docs/midtrans.md §7).
    expect(pending.httpStatusCode).toBe("406");
    expect(pending.ApiResponse).toEqual({
      status_code: "406",
      status_message: expect.any(String),
      id: expect.any(String),
    });
    expect((pending.rawHttpClientData as { status: number }).status).toBe(200);

    await simulate(simulator, "POST", `/simulate/pay/${order}`);
    const settled = await midtransError(core.charge(qrisCharge(order, 5000)));
    expect(settled.httpStatusCode).toBe("406");
  });

  test("the order_id can be used again after expire; status by order_id then shows the new transaction", async () => {
    const order = orderId("reuse");
    const first = await core.charge(qrisCharge(order, 7000));
    await core.transaction.expire(order);
    const second = await core.charge(qrisCharge(order, 8000));
    expect(second.status_code).toBe("201");
    expect(second.transaction_id).not.toBe(first.transaction_id);
    expect(await core.transaction.status(order)).toMatchObject({
      transaction_id: second.transaction_id,
      gross_amount: "8000.00",
    });
    expect(await core.transaction.status(String(first.transaction_id))).toMatchObject({ transaction_status: "expire" });
  });

  test("the order_id can be used again after cancel", async () => {
    const order = orderId("reuse-cancel");
    await core.charge(qrisCharge(order, 7000));
    await core.transaction.cancel(order);
    expect((await core.charge(qrisCharge(order, 7000))).status_code).toBe("201");
  });

  test("a bad server key is HTTP 401 with the 401 body", async () => {
    const stranger = coreApiFor(simulator.url, { serverKey: "SB-Mid-server-WRONG" });
    const error = await midtransError(stranger.charge(qrisCharge(orderId("auth"), 1000)));
    expect(error.httpStatusCode).toBe(401);
    expect(error.ApiResponse).toEqual({
      status_code: "401",
      status_message: "Transaction cannot be authorized with the current client/server key.",
    });
    const status = await midtransError(stranger.transaction.status("anything"));
    expect(status.httpStatusCode).toBe(401);
  });

  test("no Authorization header at all is HTTP 401 too", async () => {
    const response = await fetch(`${simulator.url}/v2/charge`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(qrisCharge(orderId("no-auth"), 1000)),
    });
    expect(response.status).toBe(401);
    expect(await response.json()).toMatchObject({ status_code: "401" });
  });
});

describe("status", () => {
  test("by order_id and by transaction_id: the same transaction, status_code 201 while pending, with a signature", async () => {
    const order = orderId("status");
    const charged = await core.charge(qrisCharge(order, 12000));
    const byOrder = await core.transaction.status(order);
    const byId = await core.transaction.status(String(charged.transaction_id));
    expect(byOrder).toEqual(byId);
    expect(byOrder).toMatchObject({
      status_code: "201",
      status_message: "Success, transaction is found",
      transaction_id: charged.transaction_id,
      order_id: order,
      gross_amount: "12000.00",
      transaction_status: "pending",
      transaction_time: charged.transaction_time,
      expiry_time: charged.expiry_time,
      fraud_status: "accept",
      signature_key: expect.stringMatching(/^[0-9a-f]{128}$/),
    });
  });

  test("after payment: 200, settlement, settlement_time", async () => {
    const order = orderId("status-paid");
    await paid(order, 15000);
    const status = await core.transaction.status(order);
    expect(status).toMatchObject({
      status_code: "200",
      transaction_status: "settlement",
      issuer: "gopay",
      transaction_type: "on-us",
    });
    expect(status.settlement_time).toMatch(TIME);
  });

  test("an unknown transaction: the 404 body (HTTP 200, so httpStatusCode is the string '404')", async () => {
    const error = await midtransError(core.transaction.status("no-such-order"));
    expect(error.httpStatusCode).toBe("404");
    expect(error.ApiResponse).toEqual({
      status_code: "404",
      status_message: "Transaction doesn't exist.",
      id: expect.any(String),
    });
  });

  test("transaction.notification() (which calls GET status by transaction_id) resolves with the status", async () => {
    const order = orderId("notification-fn");
    const charged = await core.charge(qrisCharge(order, 3000));
    const status = await core.transaction.notification({ transaction_id: charged.transaction_id, order_id: order });
    expect(status).toMatchObject({ order_id: order, transaction_status: "pending" });
  });
});

describe("expire and cancel", () => {
  test("expire resolves with the 407 body (the library does not throw on 407); status then says 407 / expire", async () => {
    const order = orderId("expire");
    await core.charge(qrisCharge(order, 4000));
    const expired = await core.transaction.expire(order);
    expect(expired).toMatchObject({
      status_code: "407",
      status_message: "Success, transaction has expired",
      order_id: order,
      transaction_status: "expire",
      gross_amount: "4000.00",
    });
    expect(await core.transaction.status(order)).toMatchObject({ status_code: "407", transaction_status: "expire" });
    // Expiring again is not a change the merchant may make.
    expect((await midtransError(core.transaction.expire(order))).httpStatusCode).toBe("412");
  });

  test("cancel: 200 and cancel, then 412 on a second cancel", async () => {
    const order = orderId("cancel");
    await core.charge(qrisCharge(order, 4000));
    expect(await core.transaction.cancel(order)).toMatchObject({
      status_code: "200",
      status_message: "Success, transaction is canceled",
      transaction_status: "cancel",
    });
    const again = await midtransError(core.transaction.cancel(order));
    expect(again.httpStatusCode).toBe("412");
    expect(again.ApiResponse).toEqual({
      status_code: "412",
      status_message: "Merchant cannot modify the status of the transaction",
    });
    expect(await core.transaction.status(order)).toMatchObject({ status_code: "200", transaction_status: "cancel" });
  });

  test("a settled transaction cannot be cancelled or expired (412)", async () => {
    const order = orderId("settled");
    await paid(order, 4000);
    expect((await midtransError(core.transaction.cancel(order))).httpStatusCode).toBe("412");
    expect((await midtransError(core.transaction.expire(order))).httpStatusCode).toBe("412");
  });

  test("approve and deny are for card challenges: 412 for QRIS, 404 for an unknown id", async () => {
    const order = orderId("approve");
    await core.charge(qrisCharge(order, 4000));
    expect((await midtransError(core.transaction.approve(order))).httpStatusCode).toBe("412");
    expect((await midtransError(core.transaction.deny(order))).httpStatusCode).toBe("412");
    expect((await midtransError(core.transaction.deny("no-such-order"))).httpStatusCode).toBe("404");
  });

  test("cancel and expire of an unknown transaction: 404", async () => {
    expect((await midtransError(core.transaction.cancel("no-such-order"))).httpStatusCode).toBe("404");
    expect((await midtransError(core.transaction.expire("no-such-order"))).httpStatusCode).toBe("404");
  });

  test("a pending transaction expires on its own when its time passes", async () => {
    const order = orderId("auto-expire");
    // order_time 19 s ago with the 20 s minimum: the transaction expires about 1 s from now.
    const orderTime = `${midtransTime(new Date(Date.now() - 19_000))} +0700`;
    await core.charge(
      qrisCharge(order, 4000, { custom_expiry: { order_time: orderTime, expiry_duration: 20, unit: "second" } }),
    );
    expect(await core.transaction.status(order)).toMatchObject({ transaction_status: "pending" });
    await new Promise((r) => setTimeout(r, 1500));
    expect(await core.transaction.status(order)).toMatchObject({ status_code: "407", transaction_status: "expire" });
    expect((await core.charge(qrisCharge(order, 4000))).status_code).toBe("201");
  });
});

describe("refund", () => {
  test("of an unsettled transaction is refused with 412", async () => {
    const order = orderId("refund-pending");
    await core.charge(qrisCharge(order, 10000));
    const error = await midtransError(core.transaction.refund(order, { amount: 1000, reason: "test" }));
    expect(error.httpStatusCode).toBe("412");
    expect((error.ApiResponse as { status_message: string }).status_message).toBe(
      "Merchant cannot modify the status of the transaction",
    );
  });

  test("partial refunds add up to a full refund; over what is left is 414", async () => {
    const order = orderId("refund-partial");
    await paid(order, 10000);
    const first = await core.transaction.refund(order, { refund_key: `${order}-r1`, amount: 3000, reason: "one" });
    expect(first).toMatchObject({
      status_code: "200",
      status_message: "Success, refund request is approved",
      order_id: order,
      gross_amount: "10000.00",
      transaction_status: "partial_refund",
      refund_chargeback_id: expect.any(Number),
      refund_amount: "3000.00",
      refund_key: `${order}-r1`,
    });
    expect(await core.transaction.refund(order, { refund_key: `${order}-r2`, amount: 2000 })).toMatchObject({
      transaction_status: "partial_refund",
      refund_amount: "2000.00",
    });
    const over = await midtransError(core.transaction.refund(order, { refund_key: `${order}-r3`, amount: 5001 }));
    expect(over.httpStatusCode).toBe("414");
    expect(over.ApiResponse).toEqual({
      status_code: "414",
      status_message: "Refund request is rejected due to invalid amount",
    });

    const status = await core.transaction.status(order);
    expect(status).toMatchObject({
      status_code: "200",
      transaction_status: "partial_refund",
      refund_amount: "5000.00",
    });
    expect(status.refunds).toEqual([
      expect.objectContaining({ refund_amount: "3000.00", refund_key: `${order}-r1`, reason: "one" }),
      expect.objectContaining({ refund_amount: "2000.00", refund_key: `${order}-r2` }),
    ]);

    expect(await core.transaction.refund(order, { refund_key: `${order}-r4`, amount: 5000 })).toMatchObject({
      transaction_status: "refund",
      refund_amount: "5000.00",
    });
    expect(await core.transaction.status(order)).toMatchObject({
      transaction_status: "refund",
      refund_amount: "10000.00",
    });
    expect((await midtransError(core.transaction.refund(order, { amount: 1 }))).httpStatusCode).toBe("412");
  });

  test("a full refund (no amount: the gross amount) by transaction_id", async () => {
    const order = orderId("refund-full");
    const charged = await paid(order, 25000);
    expect(await core.transaction.refund(String(charged.transaction_id), { reason: "customer asked" })).toMatchObject({
      status_code: "200",
      transaction_status: "refund",
      refund_amount: "25000.00",
      refund_key: expect.any(String),
    });
  });

  test("refund_key: the same request again returns the same refund; another amount is 406", async () => {
    const order = orderId("refund-key");
    await paid(order, 10000);
    const key = `${order}-k`;
    const first = await core.transaction.refund(order, { refund_key: key, amount: 1000 });
    const again = await core.transaction.refund(order, { refund_key: key, amount: 1000 });
    expect(again.refund_chargeback_id).toBe(first.refund_chargeback_id);
    expect((await core.transaction.status(order)).refund_amount).toBe("1000.00");
    const other = await midtransError(core.transaction.refund(order, { refund_key: key, amount: 2000 }));
    expect(other.httpStatusCode).toBe("406");
    expect(other.ApiResponse).toEqual({ status_code: "406", status_message: "Duplicate refund ID" });
  });

  test("refund/online/direct: partial then the rest, with the bank's approval message", async () => {
    const order = orderId("refund-direct");
    await paid(order, 9000);
    expect(await core.transaction.refundDirect(order, { refund_key: `${order}-d1`, amount: 4000 })).toMatchObject({
      status_code: "200",
      status_message: "Success, refund request is approved by the bank",
      transaction_status: "partial_refund",
      refund_amount: "4000.00",
    });
    expect((await midtransError(core.transaction.refundDirect(order, { amount: 6000 }))).httpStatusCode).toBe("414");
    expect(await core.transaction.refundDirect(order, { amount: 5000 })).toMatchObject({
      transaction_status: "refund",
    });
  });

  test("a non-positive or fractional amount is 414", async () => {
    const order = orderId("refund-bad");
    await paid(order, 9000);
    for (const amount of [0, -5, 10.5]) {
      expect((await midtransError(core.transaction.refund(order, { amount }))).httpStatusCode).toBe("414");
    }
  });
});

describe("the wire", () => {
  test("POSTs without a body are accepted (the library sends none to cancel and expire)", async () => {
    const order = orderId("empty");
    await core.charge(qrisCharge(order, 2000));
    const auth = `Basic ${Buffer.from(`${TEST_SERVER_KEY}:`).toString("base64")}`;
    const response = await fetch(`${simulator.url}/v2/${order}/cancel`, {
      method: "POST",
      headers: { authorization: auth },
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ status_code: "200", transaction_status: "cancel" });
    // And with content-type: application/json but an empty body, as axios sends it.
    const other = orderId("empty");
    await core.charge(qrisCharge(other, 2000));
    const expire = await fetch(`${simulator.url}/v2/${other}/expire`, {
      method: "POST",
      headers: { authorization: auth, "content-type": "application/json", "content-length": "0" },
    });
    expect(await expire.json()).toMatchObject({ status_code: "407" });
  });

  test("amounts are strings with two decimals", () => {
    expect([formatAmount(275000), formatAmount(1), formatAmount(10_000_000)]).toEqual([
      "275000.00",
      "1.00",
      "10000000.00",
    ]);
  });

  test("a path Midtrans does not have is a plain HTTP 404", async () => {
    const auth = `Basic ${Buffer.from(`${TEST_SERVER_KEY}:`).toString("base64")}`;
    const response = await fetch(`${simulator.url}/v2/a/b/status`, { headers: { authorization: auth } });
    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({ status: 404, error: "Not Found" });
  });
});
