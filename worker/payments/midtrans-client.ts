/**
 * The official `midtrans-client` npm package, typed and optionally pointed
 * at another Core API base URL (the simulator's). This is the one typed
 * wrapper of the package in the project: the worker's gateway and the tests
 * both use it.
 *
 * The package has no types of its own (@types/midtrans-client types charge
 * as `any` and nothing else we use), so the part we use is typed here.
 *
 * A custom base URL works through an axios request interceptor on the
 * CoreApi instance's own axios (`coreApi.httpClient.http_client`), the
 * extension point the library's README documents (docs/midtrans.md §7). It
 * rewrites the library's base URL (sandbox or production, as `isProduction`
 * picks) to ours, so everything else runs exactly as against Midtrans. It is
 * per instance: unlike assigning `ApiConfig.CORE_SANDBOX_BASE_URL`, it
 * changes nothing for other clients in the process, and a request for any
 * other host fails instead of leaving the machine.
 *
 * No axios timeout is set by default: the gateway's policies own timeouts
 * and abort the request through `signalFor` (see below).
 */
import { AsyncLocalStorage } from "node:async_hooks";

/** A parsed Midtrans response body. */
export type MidtransBody = { status_code?: string; status_message?: string; [field: string]: unknown };

type RequestConfig = { url?: string; headers?: Record<string, unknown>; signal?: AbortSignal };

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
  /** The HTTP status (a number), the body's status_code (a string) for errors sent with HTTP 200, or null (no answer). */
  httpStatusCode: number | string | null;
  ApiResponse: unknown;
  rawHttpClientData: unknown;
};

type MidtransModule = {
  CoreApi: new (options: { isProduction: boolean; serverKey: string; clientKey?: string }) => CoreApi;
  MidtransError: new (...args: unknown[]) => MidtransError;
};

const midtrans = require("midtrans-client") as MidtransModule;

/** The library's error class (for instanceof checks). */
export const MidtransErrorClass = midtrans.MidtransError;

export const isMidtransError = (error: unknown): error is MidtransError => error instanceof midtrans.MidtransError;

/** The library's own base URLs (lib/apiConfig.js of midtrans-client 1.4.3). */
export const SANDBOX_BASE_URL = "https://api.sandbox.midtrans.com";
export const PRODUCTION_BASE_URL = "https://api.midtrans.com";

export type ClientOptions = {
  serverKey: string;
  isProduction?: boolean;
  /** Send every request here instead of the library's base URL (no trailing slash). */
  baseUrl?: string | undefined;
  /** axios timeout in ms (the library's default is none; the gateway leaves it unset). */
  timeoutMs?: number;
  /** Headers on every request, e.g. X-Override-Notification (README §4 of the library). */
  headers?: Record<string, string>;
};

/**
 * The abort signal of the call running in this async context: the gateway's
 * timeout policy runs each attempt inside `withSignal`, and the interceptor
 * hands the signal to axios, so a timed-out attempt closes its socket instead
 * of leaving it open. AsyncLocalStorage because midtrans-client has no
 * per-call options and one client serves concurrent calls.
 */
const currentSignal = new AsyncLocalStorage<AbortSignal>();

export const withSignal = <T>(signal: AbortSignal, call: () => Promise<T>): Promise<T> =>
  currentSignal.run(signal, call);

export function createCoreApi(options: ClientOptions): CoreApi {
  const isProduction = options.isProduction ?? false;
  const core = new midtrans.CoreApi({ isProduction, serverKey: options.serverKey, clientKey: "" });
  const axios = core.httpClient.http_client;
  const libraryBase = isProduction ? PRODUCTION_BASE_URL : SANDBOX_BASE_URL;
  const baseUrl = options.baseUrl?.replace(/\/+$/, "");
  axios.interceptors.request.use((config) => {
    const signal = currentSignal.getStore();
    const withAbort = signal ? { ...config, signal } : config;
    if (baseUrl === undefined) return withAbort;
    if (!config.url?.startsWith(`${libraryBase}/`)) throw new Error(`not a request for ${libraryBase}: ${config.url}`);
    return { ...withAbort, url: baseUrl + config.url.slice(libraryBase.length) };
  });
  if (options.timeoutMs !== undefined) axios.defaults.timeout = options.timeoutMs;
  for (const [name, value] of Object.entries(options.headers ?? {})) axios.defaults.headers.common[name] = value;
  return core;
}
