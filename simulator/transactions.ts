/**
 * The in-memory transactions and their state machine [D-CYCLE], [D-TXSTAT]:
 *
 *   pending ──pay──────▶ settlement ──refund──▶ partial_refund ──▶ refund
 *      │                     └──────refund (the whole amount)─────▶ refund
 *      ├──expire (API, or the expiry time passing)──▶ expire
 *      ├──cancel──▶ cancel
 *      └──deny────▶ deny
 *
 * Every change is reported to `onChange` (which sends the notification).
 * Expiry happens on its own: a timer per pending transaction, and a check on
 * every lookup in case a timer is late.
 */
import crypto from "node:crypto";
import type { ChargeRequest, JsonObject } from "./charge-request";
import { qrisPayload } from "./qr";

export type TransactionStatus = "pending" | "settlement" | "expire" | "cancel" | "deny" | "refund" | "partial_refund";
export type Acquirer = "gopay" | "airpay shopee";

/** The merchant every simulated transaction belongs to (Midtrans merchant ids look like G + 9 digits). */
export const MERCHANT_ID = "G000000000";

/**
 * How long after a (non-direct) refund the simulated bank confirms it. Real
 * banks take much longer; a short fixed delay keeps the two refund
 * notifications [D-REFUND] in order and tests quick.
 */
export const REFUND_CONFIRMATION_DELAY_MS = 200;

export type Refund = {
  refundChargebackId: number;
  refundChargebackUuid: string;
  amount: number;
  createdAt: Date;
  reason: string | undefined;
  refundKey: string;
  /** Set when the bank confirmed the refund (at once for a direct refund). */
  bankConfirmedAt: Date | undefined;
  direct: boolean;
};

export type NotificationTargets = { override: string[]; append: string[] };

export type Transaction = {
  transactionId: string;
  orderId: string;
  merchantId: string;
  grossAmount: number;
  acquirer: Acquirer;
  status: TransactionStatus;
  transactionTime: Date;
  expiryTime: Date;
  settlementTime: Date | undefined;
  qrString: string;
  /** Set on settlement: the payer's wallet. */
  issuer: string | undefined;
  merchantCrossReferenceId: string | undefined;
  shopeepayReferenceNumber: string | undefined;
  customFields: ChargeRequest["customFields"];
  metadata: JsonObject | undefined;
  refunds: Refund[];
  notificationTargets: NotificationTargets;
};

/** What changed, for the notification: a status change, or a refund's bank confirmation. */
export type Change = { kind: "status"; refund?: Refund } | { kind: "refund-confirmed"; refund: Refund };

export type RefundRequest = { amount: number | undefined; refundKey: string | undefined; reason: string | undefined };

export type RefundOutcome =
  { ok: true; refund: Refund; repeated: boolean } | { ok: false; code: "412" | "414" | "406" };

export const refundedAmount = (tx: Transaction): number => tx.refunds.reduce((sum, r) => sum + r.amount, 0);

export class TransactionStore {
  private readonly byId = new Map<string, Transaction>();
  /** order_id → its transactions, oldest first (an order_id can be reused after cancel or expire). */
  private readonly byOrderId = new Map<string, Transaction[]>();
  /** refund_key → its refund and transaction; keys are unique merchant-wide (our choice, see README). */
  private readonly refundKeys = new Map<string, { tx: Transaction; refund: Refund }>();
  private readonly expiryTimers = new Map<string, NodeJS.Timeout>();
  private readonly confirmationTimers = new Set<NodeJS.Timeout>();
  private nextRefundId = 1;

  constructor(private readonly onChange: (tx: Transaction, change: Change) => void) {}

  /** The transaction with this transaction_id, else the newest with this order_id [D-CYCLE]. */
  find(id: string): Transaction | undefined {
    const tx = this.byId.get(id) ?? this.byOrderId.get(id)?.at(-1);
    if (tx) this.expireIfDue(tx);
    return tx;
  }

  list(): Transaction[] {
    for (const tx of this.byId.values()) this.expireIfDue(tx);
    return [...this.byId.values()];
  }

  /**
   * The transaction that blocks a new charge with this order_id: any but a
   * cancelled or expired one [D-POS], [D-ERR], [D-EXPIRE].
   */
  blockingCharge(orderId: string): Transaction | undefined {
    return this.byOrderId
      .get(orderId)
      ?.map((tx) => (this.expireIfDue(tx), tx))
      .find((tx) => tx.status !== "cancel" && tx.status !== "expire");
  }

  create(charge: ChargeRequest, targets: NotificationTargets, now = new Date()): Transaction {
    const transactionId = crypto.randomUUID();
    const tx: Transaction = {
      transactionId,
      orderId: charge.orderId,
      merchantId: MERCHANT_ID,
      grossAmount: charge.grossAmount,
      acquirer: charge.acquirer,
      status: "pending",
      transactionTime: now,
      // Without order_time the countdown starts at the transaction time [D-EXPOBJ].
      expiryTime: new Date((charge.orderTime ?? now).getTime() + charge.expiryMs),
      settlementTime: undefined,
      qrString: qrisPayload({
        transactionId,
        merchantId: MERCHANT_ID,
        grossAmount: charge.grossAmount,
        acquirer: charge.acquirer,
      }),
      issuer: undefined,
      merchantCrossReferenceId: undefined,
      shopeepayReferenceNumber: undefined,
      customFields: charge.customFields,
      metadata: charge.metadata,
      refunds: [],
      notificationTargets: targets,
    };
    this.byId.set(transactionId, tx);
    this.byOrderId.set(tx.orderId, [...(this.byOrderId.get(tx.orderId) ?? []), tx]);
    this.onChange(tx, { kind: "status" });
    this.scheduleExpiry(tx);
    return tx;
  }

  /** The payer paid (settlement). Only a pending transaction can be paid. */
  pay(tx: Transaction, now = new Date()): boolean {
    if (!this.leavePending(tx)) return false;
    tx.status = "settlement";
    tx.settlementTime = now;
    tx.issuer = tx.acquirer === "gopay" ? "gopay" : "shopeepay";
    if (tx.acquirer === "gopay") tx.merchantCrossReferenceId = crypto.randomUUID();
    else tx.shopeepayReferenceNumber = String(crypto.randomInt(1e11, 1e12));
    this.onChange(tx, { kind: "status" });
    return true;
  }

  /** The provider rejected the payment. */
  deny(tx: Transaction): boolean {
    return this.endPending(tx, "deny");
  }

  cancel(tx: Transaction): boolean {
    return this.endPending(tx, "cancel");
  }

  expire(tx: Transaction): boolean {
    return this.endPending(tx, "expire");
  }

  /**
   * A refund [D-REFUND], [D-DREFUND]: only of a settled (or partly refunded)
   * transaction (else 412); the amount defaults to the gross amount and may
   * not exceed what is left (else 414); a refund_key already used for
   * another amount or transaction is a duplicate (406), and the same request
   * again returns the first refund (a retry).
   */
  refund(tx: Transaction, request: RefundRequest, direct: boolean, now = new Date()): RefundOutcome {
    this.expireIfDue(tx);
    const amount = request.amount ?? tx.grossAmount;
    if (request.refundKey !== undefined) {
      const earlier = this.refundKeys.get(request.refundKey);
      if (earlier) {
        return earlier.tx === tx && earlier.refund.amount === amount
          ? { ok: true, refund: earlier.refund, repeated: true }
          : { ok: false, code: "406" };
      }
    }
    if (tx.status !== "settlement" && tx.status !== "partial_refund") return { ok: false, code: "412" };
    if (!Number.isInteger(amount) || amount < 1 || amount > tx.grossAmount - refundedAmount(tx))
      return { ok: false, code: "414" };
    const refund: Refund = {
      refundChargebackId: this.nextRefundId++,
      refundChargebackUuid: crypto.randomUUID(),
      amount,
      createdAt: now,
      reason: request.reason,
      refundKey: request.refundKey ?? crypto.randomUUID(),
      // A direct refund goes straight to the provider and is final at once [D-DREFUND].
      bankConfirmedAt: direct ? now : undefined,
      direct,
    };
    tx.refunds.push(refund);
    this.refundKeys.set(refund.refundKey, { tx, refund });
    tx.status = refundedAmount(tx) === tx.grossAmount ? "refund" : "partial_refund";
    this.onChange(tx, { kind: "status", refund });
    if (!direct) {
      const timer = setTimeout(() => {
        this.confirmationTimers.delete(timer);
        this.confirmRefund(tx, refund);
      }, REFUND_CONFIRMATION_DELAY_MS);
      timer.unref();
      this.confirmationTimers.add(timer);
    }
    return { ok: true, refund, repeated: false };
  }

  /**
   * The bank confirms a (non-direct) refund: Midtrans sends a second
   * notification, this time with bank_confirmed_at [D-REFUND].
   */
  confirmRefund(tx: Transaction, refund: Refund, now = new Date()): void {
    if (refund.bankConfirmedAt || !tx.refunds.includes(refund)) return;
    refund.bankConfirmedAt = now;
    this.onChange(tx, { kind: "refund-confirmed", refund });
  }

  /** Forgets every transaction and stops its timers. */
  reset(): void {
    for (const timer of [...this.expiryTimers.values(), ...this.confirmationTimers]) clearTimeout(timer);
    this.expiryTimers.clear();
    this.confirmationTimers.clear();
    this.byId.clear();
    this.byOrderId.clear();
    this.refundKeys.clear();
  }

  private endPending(tx: Transaction, status: "deny" | "cancel" | "expire"): boolean {
    if (!this.leavePending(tx)) return false;
    tx.status = status;
    this.onChange(tx, { kind: "status" });
    return true;
  }

  /** True when tx is pending (and not overdue): it may change now. */
  private leavePending(tx: Transaction): boolean {
    this.expireIfDue(tx);
    if (tx.status !== "pending") return false;
    clearTimeout(this.expiryTimers.get(tx.transactionId));
    this.expiryTimers.delete(tx.transactionId);
    return true;
  }

  private expireIfDue(tx: Transaction): void {
    if (tx.status === "pending" && Date.now() >= tx.expiryTime.getTime()) {
      clearTimeout(this.expiryTimers.get(tx.transactionId));
      this.expiryTimers.delete(tx.transactionId);
      tx.status = "expire";
      this.onChange(tx, { kind: "status" });
    }
  }

  private scheduleExpiry(tx: Transaction): void {
    if (tx.status !== "pending") return;
    // Seven days (the longest expiry) is well under setTimeout's limit of ~24.8 days.
    const timer = setTimeout(
      () => {
        this.expiryTimers.delete(tx.transactionId);
        this.expireIfDue(tx);
        // A timer may fire a millisecond early: then it waits again.
        this.scheduleExpiry(tx);
      },
      Math.max(0, tx.expiryTime.getTime() - Date.now()),
    );
    timer.unref();
    this.expiryTimers.set(tx.transactionId, timer);
  }
}
