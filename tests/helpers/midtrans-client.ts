/**
 * The official `midtrans-client` npm package, pointed at a simulator.
 *
 * Mechanism: an axios request interceptor on the CoreApi instance's own
 * axios (`coreApi.httpClient.http_client.interceptors`), the extension point
 * the library's README documents. It rewrites the sandbox base URL
 * (`https://api.sandbox.midtrans.com`, what `isProduction: false` uses) to
 * the simulator's, so everything else runs exactly as against Midtrans. It is
 * per instance: unlike assigning `ApiConfig.CORE_SANDBOX_BASE_URL`, it
 * changes nothing for other clients in the process, and any request that is
 * not for the sandbox fails instead of leaving the machine.
 *
 * The package has no types of its own (@types/midtrans-client types charge
 * as `any` and nothing else we use), so the part the tests use is typed here.
 */

/** A parsed Midtrans response body. */
export type MidtransBody = { status_code?: string; status_message?: string; [field: string]: unknown };

type RequestConfig = { url?: string; headers?: Record<string, unknown> };

type Axios = {
  defaults: { timeout: number; headers: { common: Record<string, string> } };
  interceptors: { request: { use(onFulfilled: (config: RequestConfig) => RequestConfig): number } };
};

export type CoreApi = {
  charge(parameter: object): Promise<MidtransBody>;
  transaction: {
    status(id: string): Promise<MidtransBody>;
    cancel(id: string): Promise<MidtransBody>;
    expire(id: string): Promise<MidtransBody>;
    approve(id: string): Promise<MidtransBody>;
    deny(id: string): Promise<MidtransBody>;
    refund(id: string, parameter?: object): Promise<MidtransBody>;
    refundDirect(id: string, parameter?: object): Promise<MidtransBody>;
    notification(notification: object | string): Promise<MidtransBody>;
  };
  httpClient: { http_client: Axios };
};

export type MidtransError = Error & {
  name: "MidtransError";
  /** The HTTP status (a number), the body's status_code (a string) for errors sent with HTTP 200, or null. */
  httpStatusCode: number | string | null;
  ApiResponse: unknown;
  rawHttpClientData: unknown;
};

type MidtransModule = {
  CoreApi: new (options: { isProduction: boolean; serverKey: string; clientKey?: string }) => CoreApi;
  MidtransError: new (...args: unknown[]) => MidtransError;
};

const midtrans = require("midtrans-client") as MidtransModule;

const SANDBOX_BASE_URL = "https://api.sandbox.midtrans.com";

export type ClientOptions = {
  serverKey: string;
  /** axios timeout in ms (the library's default is none). */
  timeoutMs?: number;
  /** Headers on every request, e.g. X-Override-Notification (README §4 of the library). */
  headers?: Record<string, string>;
};

export function coreApiFor(simulatorUrl: string, options: ClientOptions): CoreApi {
  const core = new midtrans.CoreApi({ isProduction: false, serverKey: options.serverKey, clientKey: "" });
  const axios = core.httpClient.http_client;
  axios.interceptors.request.use((config) => {
    if (!config.url?.startsWith(`${SANDBOX_BASE_URL}/`)) throw new Error(`not a sandbox request: ${config.url}`);
    return { ...config, url: simulatorUrl + config.url.slice(SANDBOX_BASE_URL.length) };
  });
  if (options.timeoutMs !== undefined) axios.defaults.timeout = options.timeoutMs;
  for (const [name, value] of Object.entries(options.headers ?? {})) axios.defaults.headers.common[name] = value;
  return core;
}

/** The MidtransError a call rejected with (fails the test if it resolved or threw something else). */
export async function midtransError(call: Promise<unknown>): Promise<MidtransError> {
  const outcome = await call.then(
    (value) => ({ resolved: value }),
    (error: unknown) => ({ rejected: error }),
  );
  if ("resolved" in outcome) throw new Error(`expected a MidtransError, got ${JSON.stringify(outcome.resolved)}`);
  expect(outcome.rejected).toBeInstanceOf(midtrans.MidtransError);
  return outcome.rejected as MidtransError;
}
