/**
 * The Midtrans gateway against an in-process simulator, for tests/worker and
 * the benchmark: a simulator whose log lines are kept as a call log (with the
 * time each was written), and gateways configured through readConfig, so the
 * tests also prove that the MIDTRANS_* settings reach the gateway.
 */
import { readConfig } from "../../config/settings";
import { startSimulator, type RunningSimulator } from "../../simulator";
import {
  createMidtransGateway,
  type MidtransGateway,
  type MidtransGatewayOptions,
} from "../../worker/payments/midtrans-gateway";
import { simulate, testSettings, TEST_SERVER_KEY } from "./simulator";

export type LoggedCall = { at: number; method: string; path: string; outcome: string };

export type LoggedSimulator = RunningSimulator & {
  /** Core API requests the simulator received, in order (from its log: one line per request). */
  calls: LoggedCall[];
  callsTo(pathPart: string, method?: string): LoggedCall[];
};

// The simulator logs Core API requests as "METHOD /path → outcome" (simulator/server.ts).
const CALL_LINE = /^(GET|POST) (\/v2\/\S*) → (.*)$/;

export async function startLoggedSimulator(): Promise<LoggedSimulator> {
  const calls: LoggedCall[] = [];
  const simulator = await startSimulator(testSettings(), {
    log: (line) => {
      const m = CALL_LINE.exec(line);
      if (m) calls.push({ at: performance.now(), method: m[1]!, path: m[2]!, outcome: m[3]! });
    },
  });
  return {
    ...simulator,
    calls,
    callsTo: (pathPart, method) =>
      calls.filter((c) => c.path.includes(pathPart) && (method === undefined || c.method === method)),
  };
}

/** Short settings for tests (every number through the MIDTRANS_* variables). */
export const SHORT_ENV: Record<string, string> = {
  MIDTRANS_CREATE_ATTEMPTS: "3",
  MIDTRANS_CREATE_TIMEOUT_MS: "400",
  MIDTRANS_STATUS_ATTEMPTS: "2",
  MIDTRANS_STATUS_TIMEOUT_MS: "300",
  MIDTRANS_CANCEL_TIMEOUT_MS: "300",
  MIDTRANS_EXPIRE_TIMEOUT_MS: "300",
  MIDTRANS_REFUND_TIMEOUT_MS: "400",
  MIDTRANS_RETRY_BASE_DELAY_MS: "100",
  MIDTRANS_RETRY_MAX_DELAY_MS: "2000",
  MIDTRANS_BREAKER_FAILURES: "5",
  MIDTRANS_BREAKER_HALF_OPEN_AFTER_MS: "600",
  MIDTRANS_BREAKER_SUCCESSES_TO_CLOSE: "2",
};

export function gatewayFor(
  simulator: RunningSimulator,
  env: Record<string, string> = {},
  extra: Partial<MidtransGatewayOptions> = {},
): MidtransGateway {
  const config = readConfig({ MIDTRANS_BASE_URL: simulator.url, ...SHORT_ENV, ...env });
  return createMidtransGateway({ serverKey: TEST_SERVER_KEY, settings: config.midtrans, ...extra });
}

export async function setFaults(simulator: RunningSimulator, faults: Record<string, unknown>): Promise<void> {
  const { status, body } = await simulate(simulator, "POST", "/simulate/faults", faults);
  if (status !== 200) throw new Error(`faults refused: ${status} ${JSON.stringify(body)}`);
}

export const clearFaults = (simulator: RunningSimulator) => simulate(simulator, "DELETE", "/simulate/faults");

/** What a promise rejected with (fails if it resolved). */
export async function rejection(call: Promise<unknown>): Promise<unknown> {
  const outcome = await call.then(
    (value) => ({ resolved: value }),
    (error: unknown) => ({ rejected: error }),
  );
  if ("resolved" in outcome) throw new Error(`expected a rejection, got ${JSON.stringify(outcome.resolved)}`);
  return outcome.rejected;
}
