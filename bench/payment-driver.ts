/**
 * The payment benchmark's driver, over HTTP as clients and payers do:
 * clients sign up and order projects (one invoice each), then N payments run
 * with a bounded number in flight, each
 *
 *   POST /rpc/pay_invoice → the QR appears on the invoice (the worker charged
 *   the simulator) → POST /simulate/pay/:order_id (the payer pays) → the
 *   invoice is paid (notification → midtrans_notification → the worker
 *   confirms with the status API).
 *
 * One observer polls the invoices in flight for every payment (an admin's
 * GET /invoices?id=in.(…)), so the measuring load stays the same whatever
 * the concurrency; times are when the observer saw the change (resolution:
 * its poll interval plus one request).
 */
import crypto from "node:crypto";
import { withClient } from "../db/pg";

export type PreparedInvoice = { invoiceId: string; token: string };

export type PaymentTiming = {
  invoiceId: string;
  orderId?: string;
  /** Milliseconds on one monotonic clock (performance.now()). */
  startedAt: number;
  qrAt?: number;
  payAt?: number;
  paidAt?: number;
  error?: string;
};

export type DriveOptions = {
  apiUrl: string;
  simulatorUrl: string;
  /** An admin's token: the observer reads every invoice in flight. */
  observerToken: string;
  invoices: PreparedInvoice[];
  /** Payments in flight at once. */
  concurrency: number;
  /** Stop starting payments after this long (those in flight finish); undefined: pay every invoice. */
  durationMs?: number;
  /** A payment not paid this long after it started counts as failed. */
  timeoutMs: number;
  /** The observer's poll interval. */
  pollMs: number;
};

type HttpReply = { status: number; body: unknown };

async function call(url: string, init: { method?: string; token?: string; body?: unknown } = {}): Promise<HttpReply> {
  const response = await fetch(url, {
    method: init.method ?? "GET",
    headers: {
      ...(init.body === undefined ? {} : { "content-type": "application/json" }),
      ...(init.token ? { authorization: `Bearer ${init.token}` } : {}),
    },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });
  const text = await response.text();
  let body: unknown = text;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    // not JSON: keep the text
  }
  return { status: response.status, body };
}

async function expectOk(what: string, reply: Promise<HttpReply>): Promise<unknown> {
  const { status, body } = await reply;
  if (status !== 200) throw new Error(`${what}: HTTP ${status} ${JSON.stringify(body)}`);
  return body;
}

/** Runs `fn` over `items` with at most `parallel` at once, in order of start. */
async function inParallel<T, R>(
  items: T[],
  parallel: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(parallel, items.length) }, async () => {
      while (next < items.length) {
        const index = next++;
        results[index] = await fn(items[index]!, index);
      }
    }),
  );
  return results;
}

const runTag = () => crypto.randomBytes(4).toString("hex");

/** A client signs up; its token. */
async function signUp(apiUrl: string, label: string): Promise<{ token: string; email: string; password: string }> {
  const email = `${label}.${runTag()}@bench.jasaweb.id`;
  const password = crypto.randomBytes(12).toString("base64url");
  const session = (await expectOk(
    "register",
    call(`${apiUrl}/rpc/register`, { method: "POST", body: { email, password, name: "Klien Benchmark" } }),
  )) as { token: string };
  return { token: session.token, email, password };
}

/**
 * `count` unpaid invoices: clients sign up (one per `perClient` invoices)
 * and each orders projects through POST /rpc/create_project.
 */
export async function prepareInvoices(
  apiUrl: string,
  count: number,
  options: { perClient?: number; parallel?: number } = {},
): Promise<PreparedInvoice[]> {
  const perClient = options.perClient ?? 10;
  const parallel = options.parallel ?? 8;
  const clients = await inParallel(
    Array.from({ length: Math.ceil(count / perClient) }, (_, i) => i),
    parallel,
    (i) => signUp(apiUrl, `client${i}`),
  );
  const types = ["sekolah", "berita", "company"] as const;
  return inParallel(
    Array.from({ length: count }, (_, i) => i),
    parallel,
    async (i) => {
      const { token } = clients[Math.floor(i / perClient)]!;
      const ordered = (await expectOk(
        "create_project",
        call(`${apiUrl}/rpc/create_project`, {
          method: "POST",
          token,
          body: { name: `Website Benchmark ${i + 1}`, type: types[i % types.length] },
        }),
      )) as { invoice: { id: string } };
      return { invoiceId: ordered.invoice.id, token };
    },
  );
}

/**
 * An admin's token for the observer: a user signs up through the API, is
 * made admin in SQL (there is no admin sign-up), and signs in again (the old
 * token's role is stale).
 */
export async function observerToken(apiUrl: string, superuserUrl: string): Promise<string> {
  const user = await signUp(apiUrl, "observer");
  await withClient(superuserUrl, (client) =>
    client.query("update api.users set role = 'admin' where email = $1", [user.email]),
  );
  const session = (await expectOk(
    "login",
    call(`${apiUrl}/rpc/login`, { method: "POST", body: { email: user.email, password: user.password } }),
  )) as { token: string };
  return session.token;
}

type InvoiceRow = { id: string; status: string; qris_url: string | null };
type Waiter = {
  test: (row: InvoiceRow) => boolean;
  deadline: number;
  resolve: (at: number) => void;
  reject: (error: Error) => void;
};

/** One poller for every invoice some payment waits on. */
class InvoiceObserver {
  private readonly waiters = new Map<string, Waiter>();
  private running: Promise<void> | undefined;

  constructor(
    private readonly apiUrl: string,
    private readonly token: string,
    private readonly pollMs: number,
  ) {}

  /** Resolves with the time the invoice was seen matching `test`; rejects at `deadline` or on a dead end. */
  waitFor(invoiceId: string, test: (row: InvoiceRow) => boolean, deadline: number): Promise<number> {
    return new Promise<number>((resolve, reject) => {
      this.waiters.set(invoiceId, { test, deadline, resolve, reject });
      this.running ??= this.loop().finally(() => (this.running = undefined));
    });
  }

  private async loop(): Promise<void> {
    while (this.waiters.size) {
      const ids = [...this.waiters.keys()];
      try {
        // Chunks keep the URL short (about 3.7 kB for 100 ids).
        for (let i = 0; i < ids.length; i += 100) {
          const chunk = ids.slice(i, i + 100);
          const reply = await call(`${this.apiUrl}/invoices?select=id,status,qris_url&id=in.(${chunk.join(",")})`, {
            token: this.token,
          });
          const seenAt = performance.now();
          if (reply.status !== 200) throw new Error(`observer: HTTP ${reply.status} ${JSON.stringify(reply.body)}`);
          for (const row of reply.body as InvoiceRow[]) this.check(row, seenAt);
        }
      } catch (error) {
        for (const [id, waiter] of this.waiters) {
          this.waiters.delete(id);
          waiter.reject(error instanceof Error ? error : new Error(String(error)));
        }
        return;
      }
      const now = performance.now();
      for (const [id, waiter] of this.waiters) {
        if (now > waiter.deadline) {
          this.waiters.delete(id);
          waiter.reject(new Error("timed out"));
        }
      }
      await new Promise((r) => setTimeout(r, this.pollMs));
    }
  }

  private check(row: InvoiceRow, seenAt: number): void {
    const waiter = this.waiters.get(row.id);
    if (!waiter) return;
    if (waiter.test(row)) {
      this.waiters.delete(row.id);
      waiter.resolve(seenAt);
    } else if (["failed", "expired", "cancelled", "refunded"].includes(row.status)) {
      this.waiters.delete(row.id);
      waiter.reject(new Error(`invoice became ${row.status}`));
    }
  }
}

async function payOne(
  options: DriveOptions,
  observer: InvoiceObserver,
  invoice: PreparedInvoice,
): Promise<PaymentTiming> {
  const timing: PaymentTiming = { invoiceId: invoice.invoiceId, startedAt: performance.now() };
  const deadline = timing.startedAt + options.timeoutMs;
  try {
    const paying = (await expectOk(
      "pay_invoice",
      call(`${options.apiUrl}/rpc/pay_invoice`, {
        method: "POST",
        token: invoice.token,
        body: { invoice_id: invoice.invoiceId },
      }),
    )) as { midtrans_order_id: string };
    timing.orderId = paying.midtrans_order_id;
    timing.qrAt = await observer.waitFor(
      invoice.invoiceId,
      (row) => row.status === "pending" && row.qris_url !== null,
      deadline,
    );
    timing.payAt = performance.now();
    await expectOk(
      "simulate pay",
      call(`${options.simulatorUrl}/simulate/pay/${encodeURIComponent(timing.orderId)}`, { method: "POST" }),
    );
    timing.paidAt = await observer.waitFor(invoice.invoiceId, (row) => row.status === "paid", deadline);
  } catch (error) {
    const stage = timing.qrAt === undefined ? "waiting for the QR" : "waiting for paid";
    timing.error = `${stage}: ${error instanceof Error ? error.message : String(error)}`;
  }
  return timing;
}

/** Pays the invoices, at most `concurrency` at once; one timing per payment started. */
export async function drivePayments(options: DriveOptions): Promise<PaymentTiming[]> {
  const observer = new InvoiceObserver(options.apiUrl, options.observerToken, options.pollMs);
  const stopStartingAt = options.durationMs === undefined ? Infinity : performance.now() + options.durationMs;
  const timings: PaymentTiming[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(options.concurrency, options.invoices.length) }, async () => {
      while (next < options.invoices.length && performance.now() < stopStartingAt) {
        const invoice = options.invoices[next++]!;
        timings.push(await payOne(options, observer, invoice));
      }
    }),
  );
  return timings;
}

export type Percentiles = { p50: number; p95: number; p99: number };

export type RoundSummary = {
  started: number;
  completed: number;
  failed: number;
  /** Completed payments ÷ seconds from the first start to the last paid. */
  paymentsPerSecond: number;
  wallSeconds: number;
  /** pay_invoice sent → invoice paid, ms. */
  payToPaid: Percentiles;
  /** pay_invoice sent → QR on the invoice, ms. */
  payToQr: Percentiles;
  /** The payer paid at the simulator → invoice paid, ms. */
  qrPayToPaid: Percentiles;
  /** Distinct failure reasons with their counts. */
  errors: Record<string, number>;
};

/** Nearest-rank percentile of an ascending list. */
export function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

function percentiles(values: number[]): Percentiles {
  const sorted = [...values].sort((a, b) => a - b);
  return { p50: percentile(sorted, 50), p95: percentile(sorted, 95), p99: percentile(sorted, 99) };
}

export function summarise(timings: PaymentTiming[]): RoundSummary {
  const done = timings.filter(
    (t): t is PaymentTiming & { qrAt: number; payAt: number; paidAt: number } =>
      t.error === undefined && t.paidAt !== undefined,
  );
  const errors: Record<string, number> = {};
  for (const t of timings) if (t.error) errors[t.error] = (errors[t.error] ?? 0) + 1;
  const first = Math.min(...timings.map((t) => t.startedAt));
  const last = Math.max(...done.map((t) => t.paidAt));
  const wallSeconds = done.length ? (last - first) / 1000 : 0;
  return {
    started: timings.length,
    completed: done.length,
    failed: timings.length - done.length,
    paymentsPerSecond: wallSeconds > 0 ? done.length / wallSeconds : 0,
    wallSeconds,
    payToPaid: percentiles(done.map((t) => t.paidAt - t.startedAt)),
    payToQr: percentiles(done.map((t) => t.qrAt - t.startedAt)),
    qrPayToPaid: percentiles(done.map((t) => t.paidAt - t.payAt)),
    errors,
  };
}
