/**
 * The official `midtrans-client` npm package, pointed at a simulator, for
 * the tests. The typed wrapper itself lives in worker/payments/midtrans-client.ts
 * (one wrapper for the worker and the tests); this adds the test helpers.
 */
import {
  createCoreApi,
  MidtransErrorClass,
  type ClientOptions,
  type CoreApi,
  type MidtransError,
} from "../../worker/payments/midtrans-client";

export type { CoreApi, MidtransBody, MidtransError } from "../../worker/payments/midtrans-client";

/** A sandbox client whose requests go to the simulator at `simulatorUrl`. */
export function coreApiFor(simulatorUrl: string, options: Omit<ClientOptions, "baseUrl" | "isProduction">): CoreApi {
  return createCoreApi({ ...options, isProduction: false, baseUrl: simulatorUrl });
}

/** The MidtransError a call rejected with (fails the test if it resolved or threw something else). */
export async function midtransError(call: Promise<unknown>): Promise<MidtransError> {
  const outcome = await call.then(
    (value) => ({ resolved: value }),
    (error: unknown) => ({ rejected: error }),
  );
  if ("resolved" in outcome) throw new Error(`expected a MidtransError, got ${JSON.stringify(outcome.resolved)}`);
  expect(outcome.rejected).toBeInstanceOf(MidtransErrorClass);
  return outcome.rejected as MidtransError;
}
