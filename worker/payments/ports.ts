/**
 * What the payment tasks need from Midtrans, as small interfaces: the tasks
 * depend on these, the Midtrans gateway (with its retries, timeouts and
 * circuit breaker) provides them.
 */
export type QrisCharge = {
  transactionId: string;
  /** The URL of the QR image to show the payer. */
  qrisUrl: string;
  expiresAt: Date;
  /** Midtrans' transaction_status of the new charge (pending). */
  status: string;
};

export type QrisCharger = {
  createQrisPayment(input: { orderId: string; grossAmount: number; expiryMinutes: number }): Promise<QrisCharge>;
};

export type ConfirmedStatus = {
  /** Midtrans' transaction_status: pending, settlement, capture, deny, cancel, expire, failure, refund, partial_refund. */
  status: string;
  fraudStatus?: string | null;
  settlementTime?: Date;
  /** Total refunded so far, as Midtrans sends it ("50000.00"); absent before any refund. */
  refundAmount?: string;
};

export type StatusReader = {
  /** null when Midtrans does not know the order. */
  getPaymentStatus(orderId: string): Promise<ConfirmedStatus | null>;
};

/** What Midtrans answered to a refund it approved. */
export type ApprovedRefund = {
  /** transaction_status after the refund: refund or partial_refund. */
  status: string;
  /** Midtrans' refund_chargeback_id. */
  refundChargebackId: unknown;
};

export type Refunder = {
  /** Refunds `amount` whole rupiah of a settled order; the same refundKey again never refunds twice. Throws MidtransRejectedError when Midtrans refuses. */
  refundPayment(
    orderId: string,
    refund: { amount: number; reason: string; refundKey: string },
  ): Promise<ApprovedRefund>;
};

export type Canceller = {
  /** Cancels a pending charge. Throws MidtransRejectedError when Midtrans refuses (412: no longer pending; 404: unknown order). */
  cancelPayment(orderId: string): Promise<{ status: string }>;
};

export type Expirer = {
  /** Expires a pending charge now (Midtrans' 407 answer is success). Throws MidtransRejectedError when Midtrans refuses. */
  expirePayment(orderId: string): Promise<{ status: string }>;
};
