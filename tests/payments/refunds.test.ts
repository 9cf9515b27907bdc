/**
 * Refunds over HTTP with every real part (PostgreSQL, PostgREST, the worker
 * as app_worker, the Midtrans simulator): an admin's refund_invoice, the
 * worker's invoices__refund_payment, Midtrans' answer and the status API.
 * Each test ends by checking that Midtrans' transaction (status,
 * refund_amount, refunds) and the database agree.
 */
import {
  invoiceRow,
  midtransTransaction,
  orderProject,
  paidInvoice,
  rpc,
  startPaymentStack,
  untilInvoiceStatus,
  type PaymentStack,
} from "../helpers/payment-stack";
import { until } from "../helpers/payments";
import { simulate } from "../helpers/simulator";
import { TEST_MIDTRANS_SERVER_KEY } from "../setup/cluster";

let stack: PaymentStack;

beforeAll(async () => {
  stack = await startPaymentStack();
});

afterAll(async () => {
  await stack?.stop();
});

type RefundRow = {
  id: string;
  invoice_id: string;
  amount: string;
  status: string;
  refund_key: string;
  failure_reason: string | null;
  requested_by: string;
};

const refundInvoice = (body: Record<string, unknown>, token = stack.admin.token) =>
  rpc(stack, "refund_invoice", body, token);

const refundsOf = (invoiceId: string) =>
  stack.db.query<RefundRow>(
    "select id, invoice_id, amount::text as amount, status, refund_key, failure_reason, requested_by from api.refunds where invoice_id = $1 order by created_at",
    [invoiceId],
  );

const untilRefundDone = (id: string) =>
  until(`refund ${id} done`, async () => {
    const rows = await stack.db.query<RefundRow>(
      "select id, amount::text as amount, status, refund_key, failure_reason from api.refunds where id = $1",
      [id],
    );
    return rows[0] && rows[0].status !== "requested" ? rows[0] : undefined;
  });

/** Midtrans and the database agree: status, total refunded, and each succeeded refund by its key. */
async function expectMidtransAgrees(invoiceId: string, orderId: string) {
  const invoice = await invoiceRow(stack, invoiceId);
  const refunds = await refundsOf(invoiceId);
  const succeeded = refunds.filter((r) => r.status === "succeeded");
  const total = succeeded.reduce((sum, r) => sum + Number(r.amount), 0);
  const tx = await midtransTransaction(stack, orderId);
  const statusOf: Record<string, string> = {
    paid: "settlement",
    partial_refunded: "partial_refund",
    refunded: "refund",
  };
  expect(tx.transaction_status).toBe(statusOf[invoice.status]);
  expect(Number(tx.refund_amount ?? 0)).toBe(total);
  const midtransRefunds = ((tx.refunds as { refund_key: string; refund_amount: string }[] | undefined) ?? []).map(
    (r) => [r.refund_key, Number(r.refund_amount)],
  );
  expect(midtransRefunds).toEqual(succeeded.map((r) => [r.refund_key, Number(r.amount)]));
}

test("a full refund: the whole amount back at Midtrans, the invoice refunded, the client told", async () => {
  const invoice = await paidInvoice(stack);
  const asked = await refundInvoice({ invoice_id: invoice.id, reason: "Klien membatalkan pesanan" });
  expect(asked.status).toBe(200);
  const refund = asked.body as RefundRow;
  expect(refund).toMatchObject({
    invoice_id: invoice.id,
    amount: Number(invoice.amount),
    status: "requested",
    requested_by: stack.admin.user.id,
  });
  expect(refund.refund_key).toMatch(/^JW-R-[0-9a-f]{32}$/);

  expect(await untilRefundDone(refund.id)).toMatchObject({ status: "succeeded", failure_reason: null });
  await untilInvoiceStatus(stack, invoice.id, "refunded");
  await expectMidtransAgrees(invoice.id, invoice.midtrans_order_id!);

  // The client sees the refund of its invoice, and was told.
  const seen = await stack.api.request(`/refunds?invoice_id=eq.${invoice.id}&select=amount,status`, {
    token: stack.client.token,
  });
  expect(seen.body).toEqual([{ amount: Number(invoice.amount), status: "succeeded" }]);
  const told = await stack.api.request("/real_time_notifications?title=eq.Dana%20dikembalikan&select=payload", {
    token: stack.client.token,
  });
  expect(told.body).toEqual(
    expect.arrayContaining([{ payload: expect.objectContaining({ invoice_id: invoice.id, refund_id: refund.id }) }]),
  );
  // The refund row's life is audited (CREATE, then the UPDATE to succeeded).
  expect(
    await stack.db.query(
      "select action, new_values->>'status' as status from api.audit_logs where resource = 'refunds' and resource_id = $1 order by timestamp",
      [refund.id],
    ),
  ).toEqual([
    { action: "CREATE", status: "requested" },
    { action: "UPDATE", status: "succeeded" },
  ]);
});

test("a partial refund: the invoice is partial_refunded, Midtrans' refund_amount is that part", async () => {
  const invoice = await paidInvoice(stack);
  const asked = await refundInvoice({ invoice_id: invoice.id, amount: 400_000, reason: "Fitur blog tidak jadi" });
  expect(asked.status).toBe(200);
  expect(await untilRefundDone((asked.body as RefundRow).id)).toMatchObject({ status: "succeeded" });
  await untilInvoiceStatus(stack, invoice.id, "partial_refunded");
  const tx = await midtransTransaction(stack, invoice.midtrans_order_id!);
  expect([tx.transaction_status, tx.refund_amount]).toEqual(["partial_refund", "400000.00"]);
  await expectMidtransAgrees(invoice.id, invoice.midtrans_order_id!);
});

test("several partial refunds add up; the last one, without an amount, refunds what is left: invoice refunded", async () => {
  const invoice = await paidInvoice(stack);
  const total = Number(invoice.amount);
  for (const amount of [500_000, 250_000]) {
    const asked = await refundInvoice({ invoice_id: invoice.id, amount, reason: "Pengembalian sebagian" });
    expect(asked.status).toBe(200);
    expect(await untilRefundDone((asked.body as RefundRow).id)).toMatchObject({ status: "succeeded" });
  }
  await untilInvoiceStatus(stack, invoice.id, "partial_refunded");
  const rest = await refundInvoice({ invoice_id: invoice.id, reason: "Sisanya" });
  expect(rest.status).toBe(200);
  expect((rest.body as RefundRow).amount).toBe(total - 750_000);
  expect(await untilRefundDone((rest.body as RefundRow).id)).toMatchObject({ status: "succeeded" });
  await untilInvoiceStatus(stack, invoice.id, "refunded");
  const tx = await midtransTransaction(stack, invoice.midtrans_order_id!);
  expect([tx.transaction_status, Number(tx.refund_amount)]).toEqual(["refund", total]);
  await expectMidtransAgrees(invoice.id, invoice.midtrans_order_id!);

  // Nothing is left: a refunded invoice cannot be refunded again (INVOICE_NOT_REFUNDABLE).
  const again = await refundInvoice({ invoice_id: invoice.id, amount: 1, reason: "Lagi" });
  expect([again.status, (again.body as { code: string }).code]).toEqual([409, "INVOICE_NOT_REFUNDABLE"]);
});

test("over what is left is refused (REFUND_EXCEEDS_REMAINING): no refund row, no Midtrans call; concurrent requests cannot over-refund", async () => {
  const invoice = await paidInvoice(stack);
  const total = Number(invoice.amount);
  const first = await refundInvoice({ invoice_id: invoice.id, amount: total - 100_000, reason: "Sebagian besar" });
  expect(first.status).toBe(200);
  await untilRefundDone((first.body as RefundRow).id);

  const over = await refundInvoice({ invoice_id: invoice.id, amount: 100_001, reason: "Terlalu banyak" });
  expect(over.status).toBe(409);
  expect(over.body).toMatchObject({ code: "REFUND_EXCEEDS_REMAINING", details: "remaining 100000.00" });
  expect(await refundsOf(invoice.id)).toHaveLength(1);
  const tx = await midtransTransaction(stack, invoice.midtrans_order_id!);
  expect((tx.refunds as unknown[]).length).toBe(1);

  // Two admins at once for 60 000 each of the 100 000 left: one wins, the other is refused.
  const both = await Promise.all([
    refundInvoice({ invoice_id: invoice.id, amount: 60_000, reason: "Admin satu" }),
    refundInvoice({ invoice_id: invoice.id, amount: 60_000, reason: "Admin dua" }),
  ]);
  expect(both.map((r) => r.status).sort()).toEqual([200, 409]);
  const won = both.find((r) => r.status === 200)!.body as RefundRow;
  await untilRefundDone(won.id);
  await untilInvoiceStatus(stack, invoice.id, "partial_refunded");
  expect((await refundsOf(invoice.id)).map((r) => r.status)).toEqual(["succeeded", "succeeded"]);
  await expectMidtransAgrees(invoice.id, invoice.midtrans_order_id!);

  // Bad amounts are refused before anything is recorded.
  for (const amount of [0, -5, 10.5]) {
    const bad = await refundInvoice({ invoice_id: invoice.id, amount, reason: "Salah" });
    expect([bad.status, (bad.body as { code: string }).code]).toEqual([400, "INVALID_REFUND_AMOUNT"]);
  }
  const blank = await refundInvoice({ invoice_id: invoice.id, amount: 1, reason: "   " });
  expect([blank.status, (blank.body as { code: string }).code]).toEqual([400, "INVALID_INPUT"]);
  expect(await refundsOf(invoice.id)).toHaveLength(2);
});

test("a client cannot refund, even its own paid invoice (FORBIDDEN)", async () => {
  const invoice = await paidInvoice(stack);
  const asked = await refundInvoice({ invoice_id: invoice.id, reason: "Saya mau uang kembali" }, stack.client.token);
  expect([asked.status, (asked.body as { code: string }).code]).toEqual([403, "FORBIDDEN"]);
  expect(await refundsOf(invoice.id)).toEqual([]);
  expect((await invoiceRow(stack, invoice.id)).status).toBe("paid");
});

test("an unpaid invoice cannot be refunded (INVOICE_NOT_REFUNDABLE); an unknown one is INVOICE_NOT_FOUND", async () => {
  const invoiceId = await orderProject(stack);
  const asked = await refundInvoice({ invoice_id: invoiceId, reason: "Belum dibayar" });
  expect(asked.status).toBe(409);
  expect(asked.body).toMatchObject({ code: "INVOICE_NOT_REFUNDABLE", details: "status unpaid" });
  expect(await refundsOf(invoiceId)).toEqual([]);
  const unknown = await refundInvoice({ invoice_id: "00000000-0000-4000-8000-000000000000", reason: "Tidak ada" });
  expect([unknown.status, (unknown.body as { code: string }).code]).toEqual([404, "INVOICE_NOT_FOUND"]);
});

test("Midtrans refuses the refund: the refund fails with Midtrans' reason, the invoice stays paid, the admins are alerted", async () => {
  const invoice = await paidInvoice(stack);
  const orderId = invoice.midtrans_order_id!;
  // Someone refunds part of the payment in Midtrans' own dashboard, and the
  // notifications of it are lost: Midtrans has less left than we think.
  expect(
    (await simulate(stack.simulator, "POST", "/simulate/faults", { notifications: { dropNext: 10 } })).status,
  ).toBe(200);
  try {
    const outside = await fetch(`${stack.simulator.url}/v2/${orderId}/refund`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        authorization: `Basic ${Buffer.from(`${TEST_MIDTRANS_SERVER_KEY}:`).toString("base64")}`,
      },
      body: JSON.stringify({ refund_key: `dashboard-${Date.now()}`, amount: 1_000, reason: "dashboard" }),
    });
    expect(((await outside.json()) as { status_code: string }).status_code).toBe("200");

    const asked = await refundInvoice({ invoice_id: invoice.id, reason: "Pengembalian penuh" });
    expect(asked.status).toBe(200);
    const refund = asked.body as RefundRow;
    const done = await untilRefundDone(refund.id);
    expect(done.status).toBe("failed");
    expect(done.failure_reason).toContain("414");
    // No retry of a refusal, and the invoice did not move.
    const tx = await midtransTransaction(stack, orderId);
    expect((tx.refunds as { refund_key: string }[]).map((r) => r.refund_key)).not.toContain(refund.refund_key);
    expect(tx.refund_amount).toBe("1000.00");
    expect((await invoiceRow(stack, invoice.id)).status).toBe("paid");
    const alerts = await stack.api.request("/real_time_notifications?type=eq.admin_alert&select=payload", {
      token: stack.admin.token,
    });
    expect(alerts.body).toEqual(
      expect.arrayContaining([{ payload: expect.objectContaining({ refund_id: refund.id, invoice_id: invoice.id }) }]),
    );
    // The failed amount counts as not refunded: what is left is the whole invoice again.
    const over = await refundInvoice({ invoice_id: invoice.id, amount: Number(invoice.amount) + 1, reason: "Lebih" });
    expect(over.body).toMatchObject({ code: "REFUND_EXCEEDS_REMAINING", details: `remaining ${invoice.amount}` });
  } finally {
    await simulate(stack.simulator, "DELETE", "/simulate/faults");
  }
});
