/**
 * How Midtrans writes values on the wire: amounts as strings with two
 * decimals, times as "YYYY-MM-DD HH:mm:ss" in Jakarta time (GMT+7, no zone
 * suffix), and the notification signature.
 */
import crypto from "node:crypto";

/** "275000.00": gross_amount and refund amounts are strings with 2 decimals [D-QRIS], [D-NOTIF]. */
export function formatAmount(amount: number): string {
  return amount.toFixed(2);
}

const JAKARTA_OFFSET_MS = 7 * 3600_000;

/** transaction_time, expiry_time, settlement_time: GMT+7 without a zone suffix [D-QRIS]. */
export function midtransTime(date: Date): string {
  return new Date(date.getTime() + JAKARTA_OFFSET_MS).toISOString().slice(0, 19).replace("T", " ");
}

const ORDER_TIME = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2}) ([+-])(\d{2})(\d{2})$/;

/** custom_expiry.order_time, e.g. "2016-12-07 11:54:12 +0700" [D-EXPOBJ]; undefined when malformed. */
export function parseOrderTime(text: string): Date | undefined {
  const m = ORDER_TIME.exec(text);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s, sign, oh, om] = m as unknown as string[];
  const local = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s));
  const check = new Date(local);
  if (check.getUTCMonth() !== Number(mo) - 1 || check.getUTCDate() !== Number(d)) return undefined;
  const offset = (sign === "-" ? -1 : 1) * (Number(oh) * 60 + Number(om)) * 60_000;
  return new Date(local - offset);
}

/**
 * signature_key = lowercase hex SHA-512 of order_id + status_code +
 * gross_amount + server key, concatenated without separators, with the
 * payload's own strings (gross_amount "275000.00", status_code "200") [D-NOTIF].
 */
export function signatureKey(orderId: string, statusCode: string, grossAmount: string, serverKey: string): string {
  return crypto
    .createHash("sha512")
    .update(orderId + statusCode + grossAmount + serverKey)
    .digest("hex");
}
