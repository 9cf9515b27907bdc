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
};

export type StatusReader = {
  /** null when Midtrans does not know the order. */
  getPaymentStatus(orderId: string): Promise<ConfirmedStatus | null>;
};
