/**
 * The Midtrans gateway's operations against the real simulator (in-process,
 * no mocks): what the worker gets back for create, status, cancel, expire
 * and refund.
 */
import { simulate, transactionsOf } from "../helpers/simulator";
import { orderId } from "../helpers/simulator";
import { gatewayFor, rejection, startLoggedSimulator, type LoggedSimulator } from "../helpers/gateway";
import {
  MidtransRejectedError,
  MidtransRequestError,
  parseMidtransTime,
  type MidtransGateway,
} from "../../worker/payments/midtrans-gateway";

let simulator: LoggedSimulator;
let gateway: MidtransGateway;

beforeAll(async () => {
  simulator = await startLoggedSimulator();
  gateway = gatewayFor(simulator);
});
afterAll(() => simulator.stop());

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

describe("createQrisPayment", () => {
  test("returns the transaction, a QR URL serving a PNG, and expiresAt ≈ now + expiry", async () => {
    const order = orderId("gw-create");
    const before = Date.now();
    const payment = await gateway.createQrisPayment({
      orderId: order,
      grossAmount: 275_000,
      expiryMinutes: 30,
      customer: { firstName: "Budi", email: "budi@example.id", phone: "+628123456789" },
    });
    expect(payment).toMatchObject({ orderId: order, status: "pending", existing: false });
    expect(payment.transactionId).toMatch(/^[0-9a-f-]{36}$/);
    expect(payment.qrString).toEqual(expect.any(String));
    expect(payment.qrisUrl).toBe(`${simulator.url}/v2/qris/${payment.transactionId}/qr-code`);
    // Midtrans times have whole seconds: allow that plus the call's own time.
    const expected = before + 30 * 60_000;
    expect(Math.abs(payment.expiresAt.getTime() - expected)).toBeLessThan(3000);

    const png = await fetch(payment.qrisUrl);
    expect(png.status).toBe(200);
    expect(png.headers.get("content-type")).toBe("image/png");
    expect(Buffer.from(await png.arrayBuffer()).subarray(0, 8)).toEqual(PNG_SIGNATURE);
  });

  test("a non-integer amount is refused before any call", async () => {
    const order = orderId("gw-decimal");
    const error = await rejection(
      gateway.createQrisPayment({ orderId: order, grossAmount: 1000.5, expiryMinutes: 15 }),
    );
    expect(error).toBeInstanceOf(MidtransRequestError);
    expect(simulator.callsTo(order)).toEqual([]);
    expect((await transactionsOf(simulator)).filter((t) => t.order_id === order)).toEqual([]);
  });
});

describe("getPaymentStatus", () => {
  test("pending, then settlement after the payer pays", async () => {
    const order = orderId("gw-status");
    const payment = await gateway.createQrisPayment({ orderId: order, grossAmount: 150_000, expiryMinutes: 15 });
    expect(await gateway.getPaymentStatus(order)).toMatchObject({
      orderId: order,
      transactionId: payment.transactionId,
      status: "pending",
      fraudStatus: "accept",
      grossAmount: "150000.00",
    });
    const paid = await simulate(simulator, "POST", `/simulate/pay/${order}`);
    expect(paid.status).toBe(200);
    const status = await gateway.getPaymentStatus(order);
    expect(status).toMatchObject({ status: "settlement", fraudStatus: "accept", grossAmount: "150000.00" });
    expect(status?.settlementTime).toBeInstanceOf(Date);
    expect(Math.abs(status!.settlementTime!.getTime() - Date.now())).toBeLessThan(5000);
  });

  test("null for an order Midtrans does not know", async () => {
    expect(await gateway.getPaymentStatus(orderId("gw-unknown"))).toBeNull();
  });
});

describe("cancel, expire, refund", () => {
  test("cancel a pending payment; a second cancel is refused (412), once", async () => {
    const order = orderId("gw-cancel");
    await gateway.createQrisPayment({ orderId: order, grossAmount: 50_000, expiryMinutes: 15 });
    expect(await gateway.cancelPayment(order)).toMatchObject({ orderId: order, status: "cancel" });
    expect((await gateway.getPaymentStatus(order))?.status).toBe("cancel");
    const error = await rejection(gateway.cancelPayment(order));
    expect(error).toBeInstanceOf(MidtransRejectedError);
    expect(error).toMatchObject({ operation: "cancel", code: "412" });
    expect(simulator.callsTo(`/v2/${order}/cancel`)).toHaveLength(2);
  });

  test("expire a pending payment (the 407 answer is success)", async () => {
    const order = orderId("gw-expire");
    await gateway.createQrisPayment({ orderId: order, grossAmount: 50_000, expiryMinutes: 15 });
    expect(await gateway.expirePayment(order)).toMatchObject({ orderId: order, status: "expire" });
    expect((await gateway.getPaymentStatus(order))?.status).toBe("expire");
  });

  test("refund part, then the rest", async () => {
    const order = orderId("gw-refund");
    await gateway.createQrisPayment({ orderId: order, grossAmount: 100_000, expiryMinutes: 15 });
    await simulate(simulator, "POST", `/simulate/pay/${order}`);

    const partial = await gateway.refundPayment(order, {
      amount: 40_000,
      reason: "scope cut",
      refundKey: `${order}-r1`,
    });
    expect(partial).toMatchObject({ status: "partial_refund", refundAmount: "40000.00", refundKey: `${order}-r1` });
    expect((await gateway.getPaymentStatus(order))?.refundAmount).toBe("40000.00");

    const rest = await gateway.refundPayment(order, { amount: 60_000, reason: "cancelled", refundKey: `${order}-r2` });
    expect(rest).toMatchObject({ status: "refund", refundAmount: "60000.00" });
    expect(await gateway.getPaymentStatus(order)).toMatchObject({ status: "refund", refundAmount: "100000.00" });

    // More than what is left: Midtrans' 414, not retried.
    const error = await rejection(gateway.refundPayment(order, { amount: 1, reason: "x", refundKey: `${order}-r3` }));
    expect(error).toMatchObject({ name: "MidtransRejectedError", code: expect.stringMatching(/^4\d\d$/) });
  });
});

test("Midtrans times are read as Jakarta time (GMT+7)", () => {
  expect(parseMidtransTime("2026-01-02 07:00:00")?.toISOString()).toBe("2026-01-02T00:00:00.000Z");
  expect(parseMidtransTime("2026-01-02T07:00:00Z")).toBeUndefined();
  expect(parseMidtransTime(undefined)).toBeUndefined();
});
