/**
 * The exact JSON bodies of the simulated Core API and of its notifications,
 * field for field as Midtrans sends them (docs/midtrans.md, sections 2–5).
 * Each body says how it is answered: `http` is the real HTTP status, which
 * for most errors is 200 with the error only in the body's `status_code`
 * (the evidence in [D-STATUS], [D-CANCEL], [D-REFUND] and [NODE]); real
 * 400/401/429 only for validation, authentication and rate limiting.
 */
import crypto from "node:crypto";
import { formatAmount, midtransTime, signatureKey } from "./wire-format";
import { refundedAmount, type Refund, type Transaction, type TransactionStatus } from "./transactions";

export type Reply = { http: number; body: Record<string, unknown> };

/**
 * Body status_code of GET status by state [D-STATUS], [NODE], [PY]. Deny is
 * an open question (docs/midtrans.md §8): "202", which Midtrans' 2xx list gives to denied.
 */
const STATUS_CODE: Record<TransactionStatus, string> = {
  pending: "201",
  settlement: "200",
  cancel: "200",
  expire: "407",
  deny: "202",
  refund: "200",
  partial_refund: "200",
};

/**
 * Notification status_code by state [D-QRIS], [D-CANCEL], [D-EXPIRE],
 * [D-REFUND]; deny is open (docs/midtrans.md §8): "202" as for the other failed endings.
 */
const NOTIFICATION_STATUS_CODE: Record<TransactionStatus, string> = {
  pending: "201",
  settlement: "200",
  cancel: "202",
  expire: "202",
  deny: "202",
  refund: "200",
  partial_refund: "200",
};

/** The fields every transaction body carries, in Midtrans' order. */
function transactionFields(tx: Transaction): Record<string, unknown> {
  return {
    transaction_id: tx.transactionId,
    order_id: tx.orderId,
    merchant_id: tx.merchantId,
    gross_amount: formatAmount(tx.grossAmount),
    currency: "IDR",
    payment_type: "qris",
    transaction_time: midtransTime(tx.transactionTime),
    transaction_status: tx.status,
    fraud_status: "accept",
  };
}

function refundFields(refund: Refund): Record<string, unknown> {
  return {
    refund_chargeback_id: refund.refundChargebackId,
    refund_chargeback_uuid: refund.refundChargebackUuid,
    refund_amount: formatAmount(refund.amount),
    created_at: midtransTime(refund.createdAt),
    reason: refund.reason ?? "",
    refund_key: refund.refundKey,
    // "online" once the bank confirmed it [D-STATUS].
    ...(refund.bankConfirmedAt
      ? { refund_method: "online", bank_confirmed_at: midtransTime(refund.bankConfirmedAt) }
      : {}),
  };
}

/** What GET status and the notifications share: the transaction as it is now [D-STATUS], [D-NOTIF]. */
function transactionState(tx: Transaction, statusCode: string, statusMessage: string, serverKey: string) {
  const grossAmount = formatAmount(tx.grossAmount);
  return {
    status_code: statusCode,
    status_message: statusMessage,
    ...transactionFields(tx),
    acquirer: tx.acquirer,
    expiry_time: midtransTime(tx.expiryTime),
    signature_key: signatureKey(tx.orderId, statusCode, grossAmount, serverKey),
    ...(tx.settlementTime
      ? {
          settlement_time: midtransTime(tx.settlementTime),
          issuer: tx.issuer,
          // The simulated payer always uses the acquirer's own wallet.
          transaction_type: "on-us",
          ...(tx.merchantCrossReferenceId ? { merchant_cross_reference_id: tx.merchantCrossReferenceId } : {}),
          ...(tx.shopeepayReferenceNumber
            ? { shopeepay_reference_number: tx.shopeepayReferenceNumber, reference_id: tx.transactionId }
            : {}),
        }
      : {}),
    ...(tx.refunds.length
      ? { refund_amount: formatAmount(refundedAmount(tx)), refunds: tx.refunds.map(refundFields) }
      : {}),
    ...tx.customFields,
    ...(tx.metadata ? { metadata: tx.metadata } : {}),
  };
}

/** 201 "QRIS transaction is created" [D-QRIS], [D-CHARGEX]; `baseUrl` is the simulator's own address. */
export function chargeCreated(tx: Transaction, baseUrl: string): Reply {
  return {
    http: 200,
    body: {
      status_code: "201",
      status_message: "QRIS transaction is created",
      ...transactionFields(tx),
      actions: [{ name: "generate-qr-code", method: "GET", url: `${baseUrl}/v2/qris/${tx.transactionId}/qr-code` }],
      qr_string: tx.qrString,
      acquirer: tx.acquirer,
      // expiry_time, not expire_time: which one a real QRIS charge has is open (docs/midtrans.md §2, §8).
      expiry_time: midtransTime(tx.expiryTime),
      ...tx.customFields,
      ...(tx.metadata ? { metadata: tx.metadata } : {}),
    },
  };
}

export function transactionStatus(tx: Transaction, serverKey: string): Reply {
  return {
    http: 200,
    body: transactionState(tx, STATUS_CODE[tx.status], "Success, transaction is found", serverKey),
  };
}

/** The notification body [D-NOTIF], [D-QRIS]: the status body with the notification's status_code and message. */
export function notificationBody(tx: Transaction, serverKey: string): Record<string, unknown> {
  return transactionState(tx, NOTIFICATION_STATUS_CODE[tx.status], "midtrans payment notification", serverKey);
}

export function cancelled(tx: Transaction): Reply {
  return {
    http: 200,
    body: {
      status_code: "200",
      status_message: "Success, transaction is canceled",
      ...transactionFields(tx),
      acquirer: tx.acquirer,
    },
  };
}

/** 407 with HTTP 200: the client libraries resolve it rather than throw [D-EXPIRE], [NODE], [PY]. */
export function expired(tx: Transaction): Reply {
  return {
    http: 200,
    body: {
      status_code: "407",
      status_message: "Success, transaction has expired",
      ...transactionFields(tx),
      acquirer: tx.acquirer,
    },
  };
}

export function refunded(tx: Transaction, refund: Refund, direct: boolean): Reply {
  return {
    http: 200,
    body: {
      status_code: "200",
      status_message: direct
        ? "Success, refund request is approved by the bank"
        : "Success, refund request is approved",
      transaction_id: tx.transactionId,
      order_id: tx.orderId,
      gross_amount: formatAmount(tx.grossAmount),
      currency: "IDR",
      payment_type: "qris",
      transaction_time: midtransTime(tx.transactionTime),
      transaction_status: tx.status,
      refund_chargeback_id: refund.refundChargebackId,
      refund_chargeback_uuid: refund.refundChargebackUuid,
      refund_amount: formatAmount(refund.amount),
      refund_key: refund.refundKey,
    },
  };
}

const errorId = (): string => crypto.randomUUID();

export const errors = {
  /** HTTP 400 with validation_messages [D-CHARGEX]; the Node lib's own test expects httpStatusCode 400 [NODE]. */
  validation: (messages: string[]): Reply => ({
    http: 400,
    body: {
      status_code: "400",
      status_message: "One or more parameters in the payload is invalid.",
      validation_messages: messages,
      id: errorId(),
    },
  }),
  /** 413 "malformed body syntax" [D-4XX]; HTTP 400 is our choice (like the other client errors). */
  malformedBody: (): Reply => ({
    http: 400,
    body: {
      status_code: "413",
      status_message: "The request cannot be processed due to malformed syntax in the request body.",
      id: errorId(),
    },
  }),
  /** HTTP 401 [D-CHARGEX], [D-STATUS]. */
  unauthorized: (): Reply => ({
    http: 401,
    body: {
      status_code: "401",
      status_message: "Transaction cannot be authorized with the current client/server key.",
    },
  }),
  /** [D-STATUS] */
  notFound: (): Reply => ({
    http: 200,
    body: { status_code: "404", status_message: "Transaction doesn't exist.", id: errorId() },
  }),
  /**
   * Duplicate order_id [D-CHARGEX], [D-ERR]: of the two documented messages,
   * "has been paid and utilized" when it was paid, the conflict one otherwise (our choice).
   */
  duplicateOrderId: (existing: Transaction): Reply => ({
    http: 200,
    body: {
      status_code: "406",
      status_message:
        existing.status === "pending"
          ? "The request could not be completed due to a conflict with the current state of the target resource, please try again"
          : "order_id has been paid and utilized, please use another order ID",
      id: errorId(),
    },
  }),
  /** [D-CANCEL], [D-EXPIRE], [D-REFUND] */
  cannotModify: (): Reply => ({
    http: 200,
    body: { status_code: "412", status_message: "Merchant cannot modify the status of the transaction" },
  }),
  /** [D-REFUND] */
  invalidRefundAmount: (): Reply => ({
    http: 200,
    body: { status_code: "414", status_message: "Refund request is rejected due to invalid amount" },
  }),
  /** [D-REFUND] */
  duplicateRefundKey: (): Reply => ({
    http: 200,
    body: { status_code: "406", status_message: "Duplicate refund ID" },
  }),
  /** HTTP 429 whose body has no status_code [D-4XX], [D-CHARGEX]. */
  rateLimited: (): Reply => ({ http: 429, body: { message: "API rate limit exceeded" } }),
  /** A path Midtrans does not serve: the Spring-style 404 of issue midtrans-nodejs-client#70. */
  noSuchPath: (path: string, http = 404): Reply => ({
    http,
    body: {
      timestamp: new Date().toISOString(),
      status: http,
      error: http === 405 ? "Method Not Allowed" : "Not Found",
      path,
    },
  }),
};
