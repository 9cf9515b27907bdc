/**
 * The page at `GET /`: the simulator's transactions with their QR codes, and
 * Pay / Deny / Expire buttons for the pending ones, so that a developer can
 * act as the payer (or the bank) from a browser. Each button is a plain form
 * POST to /simulate/{pay,deny,expire}/{order_id}, which answers with a
 * redirect back here.
 */
import { formatAmount, midtransTime } from "./wire-format";
import type { Transaction } from "./transactions";

const escapeHtml = (text: string): string =>
  text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);

const rupiah = (amount: number): string => `Rp ${formatAmount(amount)}`;

function actions(tx: Transaction): string {
  if (tx.status !== "pending") return "";
  const target = encodeURIComponent(tx.orderId);
  const button = (action: string, label: string) =>
    `<form method="post" action="/simulate/${action}/${target}"><button type="submit" name="action" value="${action}">${label}</button></form>`;
  return button("pay", "Pay") + button("deny", "Deny") + button("expire", "Expire");
}

function row(tx: Transaction): string {
  const qr =
    tx.status === "pending"
      ? `<img src="/v2/qris/${encodeURIComponent(tx.transactionId)}/qr-code" alt="QR code of ${escapeHtml(tx.orderId)}" width="160" height="160">`
      : "";
  return `<tr class="status-${escapeHtml(tx.status)}">
  <td><code>${escapeHtml(tx.orderId)}</code><br><small>${escapeHtml(tx.transactionId)}</small></td>
  <td>${escapeHtml(rupiah(tx.grossAmount))}</td>
  <td><strong>${escapeHtml(tx.status)}</strong></td>
  <td>${escapeHtml(midtransTime(tx.transactionTime))}<br><small>expires ${escapeHtml(midtransTime(tx.expiryTime))}</small></td>
  <td>${qr}</td>
  <td class="actions">${actions(tx)}</td>
</tr>`;
}

export function dashboardPage(transactions: Transaction[], serverKey: string): string {
  const rows = [...transactions].reverse().map(row).join("\n");
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Midtrans simulator</title>
<style>
  body { font-family: system-ui, sans-serif; margin: 2rem; }
  table { border-collapse: collapse; width: 100%; }
  th, td { border-bottom: 1px solid #ddd; padding: .5rem; text-align: left; vertical-align: top; }
  .actions form { display: inline; margin-right: .25rem; }
  .status-settlement strong { color: #087f23; }
  .status-pending strong { color: #b26a00; }
</style>
</head>
<body>
<h1>Midtrans simulator</h1>
<p>For development and tests only. Server key: <code>${escapeHtml(serverKey)}</code>.
Pay, Deny and Expire act as the payer or the bank would; the simulator then sends the notification.
<a href="/">Refresh</a></p>
<table>
<thead><tr><th>Order</th><th>Amount</th><th>Status</th><th>Time (GMT+7)</th><th>QR code</th><th></th></tr></thead>
<tbody>
${rows || '<tr><td colspan="6">No transactions yet: charge one with POST /v2/charge.</td></tr>'}
</tbody>
</table>
</body>
</html>
`;
}
