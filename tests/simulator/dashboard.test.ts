/**
 * The page at GET / (acting as the payer): it lists the transactions with
 * their QR codes, and its Pay button, a form POST, settles one.
 */
import type { RunningSimulator } from "../../simulator";
import { coreApiFor } from "../helpers/midtrans-client";
import { orderId, qrisCharge, startTestSimulator, TEST_SERVER_KEY } from "../helpers/simulator";

let simulator: RunningSimulator;
beforeAll(async () => {
  simulator = await startTestSimulator();
});
afterAll(() => simulator.stop());

/** What a browser sends when a button of a <form method="post"> is pressed. */
const submitForm = (action: string, fields: Record<string, string>) =>
  fetch(new URL(action, simulator.url), {
    method: "POST",
    redirect: "manual",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams(fields).toString(),
  });

test("lists a created transaction with its amount, status, QR image and the three buttons; Pay settles it", async () => {
  const core = coreApiFor(simulator.url, { serverKey: TEST_SERVER_KEY });
  const order = orderId("page");
  const charged = await core.charge(qrisCharge(order, 275000));

  const page = await fetch(`${simulator.url}/`);
  expect(page.status).toBe(200);
  expect(page.headers.get("content-type")).toMatch(/^text\/html/);
  const html = await page.text();
  const row = html.slice(html.indexOf(`<code>${order}</code>`));
  expect(row).not.toBe(html);
  expect(row).toContain("Rp 275000.00");
  expect(row).toContain("<strong>pending</strong>");
  expect(row).toContain(`<img src="/v2/qris/${String(charged.transaction_id)}/qr-code"`);
  const forms = [
    ...row
      .slice(0, row.indexOf("</tr>"))
      .matchAll(/<form method="post" action="([^"]+)">.*?name="action" value="(\w+)"/g),
  ];
  expect(forms.map((f) => [f[1], f[2]])).toEqual([
    [`/simulate/pay/${order}`, "pay"],
    [`/simulate/deny/${order}`, "deny"],
    [`/simulate/expire/${order}`, "expire"],
  ]);

  // Press Pay: the form's POST, as a browser sends it; the answer takes the browser back to the page.
  const pressed = await submitForm(forms[0]![1]!, { action: "pay" });
  expect(pressed.status).toBe(303);
  expect(pressed.headers.get("location")).toBe("/");
  expect(await core.transaction.status(order)).toMatchObject({ transaction_status: "settlement" });

  const after = await (await fetch(`${simulator.url}/`)).text();
  const settledRow = after.slice(after.indexOf(`<code>${order}</code>`));
  expect(settledRow.slice(0, settledRow.indexOf("</tr>"))).toContain("<strong>settlement</strong>");
  expect(settledRow.slice(0, settledRow.indexOf("</tr>"))).not.toContain("<form");
});

test("pressing a button of a transaction that is no longer pending explains why, with a way back", async () => {
  const core = coreApiFor(simulator.url, { serverKey: TEST_SERVER_KEY });
  const order = orderId("page-late");
  await core.charge(qrisCharge(order, 1000));
  await core.transaction.cancel(order);
  const pressed = await submitForm(`/simulate/pay/${order}`, { action: "pay" });
  expect(pressed.status).toBe(409);
  const text = await pressed.text();
  expect(text).toContain("is cancel: only a pending transaction can be paid");
  expect(text).toContain('<a href="/">');
});

test("the test API: pay, deny and expire by order_id answer the transaction as JSON; unknown ids 404", async () => {
  const core = coreApiFor(simulator.url, { serverKey: TEST_SERVER_KEY });
  const order = orderId("api");
  await core.charge(qrisCharge(order, 1000));
  const denied = await fetch(`${simulator.url}/simulate/deny/${order}`, { method: "POST" });
  expect(denied.status).toBe(200);
  expect(await denied.json()).toMatchObject({
    transaction: { order_id: order, transaction_status: "deny", status_code: "202" },
  });
  const again = await fetch(`${simulator.url}/simulate/expire/${order}`, { method: "POST" });
  expect(again.status).toBe(409);
  const unknown = await fetch(`${simulator.url}/simulate/pay/no-such-order`, { method: "POST" });
  expect(unknown.status).toBe(404);
  expect(await unknown.json()).toEqual({ error: "No transaction has the order_id or transaction_id no-such-order." });
});
