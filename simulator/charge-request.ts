/**
 * Validation of a `POST /v2/charge` body, as Midtrans validates it: every
 * problem becomes one entry of `validation_messages` in an HTTP 400
 * [D-CHARGEX]. Only `payment_type: "qris"` is simulated.
 *
 * The rules are the documented ones (order_id ≤ 50 characters of letters,
 * digits and - _ ~ . [D-TXDET]; gross_amount an integer ≥ 1 [D-DECIMAL],
 * [D-LIMIT]; item_details adding up to gross_amount [D-ITEM]; custom_expiry
 * units and limits [D-EXPOBJ], [D-CHARGEX], [D-GOPAY]). The message
 * wording follows the one documented sample ("transaction_details.order_id
 * is required"); the other texts are ours.
 */
import { parseOrderTime } from "./wire-format";
import type { Acquirer } from "./transactions";

export type JsonObject = { [key: string]: unknown };

export type ChargeRequest = {
  orderId: string;
  grossAmount: number;
  acquirer: Acquirer;
  /** Milliseconds from the start of the countdown to expiry. */
  expiryMs: number;
  /** When the countdown starts: custom_expiry.order_time, else the transaction time. */
  orderTime: Date | undefined;
  customFields: { custom_field1?: string; custom_field2?: string; custom_field3?: string };
  metadata: JsonObject | undefined;
};

const ORDER_ID = /^[A-Za-z0-9\-_~.]+$/;
const UNIT_MS = { second: 1000, minute: 60_000, hour: 3600_000, day: 86_400_000 } as const;
/** Default expiry of a dynamic QRIS: 15 minutes [D-GOPAY]. */
export const DEFAULT_EXPIRY_MS = 15 * 60_000;
/** Minimum 20 s [D-GOPAY]; maximum 7 days (GoPay) or 5 days (AirPay/ShopeePay acquirer) [D-CHARGEX]. */
const MIN_EXPIRY_MS = 20_000;
const MAX_EXPIRY_MS: Record<Acquirer, number> = { gopay: 7 * 86_400_000, "airpay shopee": 5 * 86_400_000 };

export const isObject = (value: unknown): value is JsonObject =>
  typeof value === "object" && value !== null && !Array.isArray(value);

export function validateCharge(body: unknown): { ok: true; charge: ChargeRequest } | { ok: false; messages: string[] } {
  const messages: string[] = [];
  const request = isObject(body) ? body : {};

  if (request.payment_type === undefined || request.payment_type === null) messages.push("payment_type is required");
  else if (request.payment_type !== "qris")
    messages.push("payment_type must be qris (the simulator supports QRIS only)");

  const details = request.transaction_details;
  let orderId = "";
  let grossAmount = 0;
  if (!isObject(details)) {
    messages.push("transaction_details.order_id is required", "transaction_details.gross_amount is required");
  } else {
    if (details.order_id === undefined || details.order_id === null || details.order_id === "")
      messages.push("transaction_details.order_id is required");
    else if (typeof details.order_id !== "string") messages.push("transaction_details.order_id must be a string");
    else if (details.order_id.length > 50) messages.push("transaction_details.order_id must be at most 50 characters");
    else if (!ORDER_ID.test(details.order_id))
      messages.push("transaction_details.order_id may contain only letters, digits and the symbols - _ ~ .");
    else orderId = details.order_id;

    if (details.gross_amount === undefined || details.gross_amount === null)
      messages.push("transaction_details.gross_amount is required");
    else if (typeof details.gross_amount !== "number" || !Number.isFinite(details.gross_amount))
      messages.push("transaction_details.gross_amount must be a number");
    else if (!Number.isInteger(details.gross_amount))
      messages.push("transaction_details.gross_amount must be an integer (IDR has no decimals)");
    else if (details.gross_amount < 1)
      messages.push("transaction_details.gross_amount must be greater than or equal to 1");
    else grossAmount = details.gross_amount;
  }

  if (request.item_details !== undefined && request.item_details !== null) {
    if (!Array.isArray(request.item_details)) messages.push("item_details must be an array");
    else {
      let sum = 0;
      let complete = true;
      request.item_details.forEach((item: unknown, i) => {
        const at = `item_details[${i}]`;
        if (!isObject(item)) {
          messages.push(`${at} must be an object`);
          complete = false;
          return;
        }
        for (const field of ["price", "quantity"] as const) {
          if (item[field] === undefined || item[field] === null) messages.push(`${at}.${field} is required`);
          else if (!Number.isInteger(item[field])) messages.push(`${at}.${field} must be an integer`);
        }
        if (typeof item.name !== "string" || item.name === "") messages.push(`${at}.name is required`);
        if (Number.isInteger(item.price) && Number.isInteger(item.quantity))
          sum += (item.price as number) * (item.quantity as number);
        else complete = false;
      });
      if (complete && grossAmount > 0 && sum !== grossAmount)
        messages.push("transaction_details.gross_amount is not equal to the sum of item_details");
    }
  }

  let acquirer: Acquirer = "gopay";
  if (request.qris !== undefined && request.qris !== null) {
    const qris = request.qris;
    if (!isObject(qris)) messages.push("qris must be an object");
    else if (qris.acquirer !== undefined) {
      if (qris.acquirer === "gopay" || qris.acquirer === "airpay shopee") acquirer = qris.acquirer;
      else messages.push("qris.acquirer must be gopay or airpay shopee");
    }
  }

  let expiryMs = DEFAULT_EXPIRY_MS;
  let orderTime: Date | undefined;
  if (request.custom_expiry !== undefined && request.custom_expiry !== null) {
    const expiry = request.custom_expiry;
    if (!isObject(expiry)) messages.push("custom_expiry must be an object");
    else {
      const unit = expiry.unit ?? "minute";
      const duration = expiry.expiry_duration;
      if (typeof unit !== "string" || !(unit in UNIT_MS))
        messages.push("custom_expiry.unit must be second, minute, hour or day");
      if (duration === undefined || duration === null) messages.push("custom_expiry.expiry_duration is required");
      else if (!Number.isInteger(duration) || (duration as number) < 1)
        messages.push("custom_expiry.expiry_duration must be a positive integer");
      else if (typeof unit === "string" && unit in UNIT_MS) {
        expiryMs = (duration as number) * UNIT_MS[unit as keyof typeof UNIT_MS];
        if (expiryMs < MIN_EXPIRY_MS) messages.push("custom_expiry must be at least 20 seconds");
        if (expiryMs > MAX_EXPIRY_MS[acquirer])
          messages.push(`custom_expiry must not exceed ${acquirer === "gopay" ? 7 : 5} days for acquirer ${acquirer}`);
      }
      if (expiry.order_time !== undefined && expiry.order_time !== null) {
        orderTime = typeof expiry.order_time === "string" ? parseOrderTime(expiry.order_time) : undefined;
        if (!orderTime) messages.push('custom_expiry.order_time must look like "2025-01-01 10:00:00 +0700"');
      }
    }
  }

  const customFields: ChargeRequest["customFields"] = {};
  for (const name of ["custom_field1", "custom_field2", "custom_field3"] as const) {
    const value = request[name];
    if (value === undefined || value === null) continue;
    if (typeof value !== "string" || value.length > 255)
      messages.push(`${name} must be a string of at most 255 characters`);
    else customFields[name] = value;
  }

  let metadata: JsonObject | undefined;
  if (request.metadata !== undefined && request.metadata !== null) {
    if (isObject(request.metadata)) metadata = request.metadata;
    else messages.push("metadata must be a JSON object");
  }

  if (messages.length) return { ok: false, messages };
  return { ok: true, charge: { orderId, grossAmount, acquirer, expiryMs, orderTime, customFields, metadata } };
}
