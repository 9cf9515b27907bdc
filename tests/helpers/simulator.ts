/**
 * The Midtrans simulator for tests: one in-process simulator per test file
 * (any free port, a test key, retries scaled down so that a whole retry
 * schedule takes about two seconds), a notification receiver, and the
 * /simulate/ test API.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import type { SimulatorSettings } from "../../config/simulator-settings";
import { startSimulator, type RunningSimulator } from "../../simulator";
import type { MidtransBody } from "./midtrans-client";

export const TEST_SERVER_KEY = "SB-Mid-server-TESTKEY";

export const testSettings = (overrides: Partial<SimulatorSettings> = {}): SimulatorSettings => ({
  port: 0,
  host: "127.0.0.1",
  serverKey: TEST_SERVER_KEY,
  notificationUrl: undefined,
  // 2, 10, 30, 90, 210 minutes become 12, 60, 180, 540, 1260 ms.
  notificationRetryScale: 0.0001,
  notificationTimeoutMs: 2000,
  ...overrides,
});

export function startTestSimulator(overrides: Partial<SimulatorSettings> = {}): Promise<RunningSimulator> {
  return startSimulator(testSettings(overrides));
}

let orderCounter = 0;
/** An order_id no other test of this run uses. */
export const orderId = (label: string): string => `${label}-${process.pid}-${Date.now()}-${++orderCounter}`;

export const qrisCharge = (order: string, grossAmount: number, extra: Record<string, unknown> = {}) => ({
  payment_type: "qris",
  transaction_details: { order_id: order, gross_amount: grossAmount },
  qris: { acquirer: "gopay" },
  ...extra,
});

export type DeliveryAttemptView = {
  at: string;
  url: string;
  attempt: number;
  copy: number;
  http_status: number | null;
  error: string | null;
  outcome: string;
};
export type NotificationView = {
  transaction_status: string;
  status_code: string;
  fault: string | null;
  targets: string[];
  body: MidtransBody;
  deliveries: DeliveryAttemptView[];
};
export type TransactionView = MidtransBody & { notifications: NotificationView[]; qr_code_url: string };

/** A call to the simulator's test API (no authentication). */
export async function simulate(
  simulator: RunningSimulator,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${simulator.url}${path}`, {
    method,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

export async function transactionsOf(simulator: RunningSimulator): Promise<TransactionView[]> {
  const { body } = await simulate(simulator, "GET", "/simulate/transactions");
  return body.transactions as TransactionView[];
}

export async function transactionView(simulator: RunningSimulator, order: string): Promise<TransactionView> {
  const found = (await transactionsOf(simulator)).filter((t) => t.order_id === order);
  if (!found.length) throw new Error(`no transaction ${order} in /simulate/transactions`);
  return found.at(-1)!;
}

export async function waitFor<T>(
  what: string,
  check: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export type ReceivedNotification = {
  at: number;
  path: string;
  headers: http.IncomingHttpHeaders;
  body: MidtransBody;
};

/** What a receiver answers: an HTTP status (with headers), or "hang" to never answer. */
export type ReceiverReply = number | { status: number; headers: Record<string, string> } | "hang";

export type Receiver = {
  url: string;
  received: ReceivedNotification[];
  /** The notifications received for one order, in arrival order. */
  of(order: string): ReceivedNotification[];
  stop(): Promise<void>;
};

/** A local notification endpoint that records every POST and answers as `reply` says (200 by default). */
export async function startReceiver(
  reply: (request: { path: string; count: number }) => ReceiverReply = () => 200,
): Promise<Receiver> {
  const received: ReceivedNotification[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const path = req.url ?? "/";
      received.push({
        at: Date.now(),
        path,
        headers: req.headers,
        body: JSON.parse(Buffer.concat(chunks).toString("utf8")) as MidtransBody,
      });
      const answer = reply({ path, count: received.filter((r) => r.path === path).length });
      if (answer === "hang") return;
      const { status, headers } = typeof answer === "number" ? { status: answer, headers: {} } : answer;
      res.writeHead(status, headers);
      res.end("ok");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    of: (order) => received.filter((r) => r.body.order_id === order),
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
