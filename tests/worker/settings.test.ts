/**
 * The MIDTRANS_* settings: the documented defaults, every number
 * configurable, and a bad value named in the error.
 */
import { readConfig } from "../../config/settings";

test("defaults: sandbox, the library's base URL, the documented budgets and breaker", () => {
  expect(readConfig({}).midtrans).toEqual({
    baseUrl: undefined,
    isProduction: false,
    operations: {
      create: { attempts: 3, timeoutMs: 15_000 },
      status: { attempts: 2, timeoutMs: 10_000 },
      cancel: { attempts: 2, timeoutMs: 10_000 },
      expire: { attempts: 2, timeoutMs: 10_000 },
      refund: { attempts: 3, timeoutMs: 15_000 },
    },
    retry: { baseDelayMs: 1000, maxDelayMs: 5000, jitter: 0.1 },
    breaker: { failuresToOpen: 5, halfOpenAfterMs: 60_000, successesToClose: 2 },
  });
});

test("every number comes from its variable", () => {
  const m = readConfig({
    MIDTRANS_BASE_URL: "http://127.0.0.1:3900/",
    MIDTRANS_IS_PRODUCTION: "true",
    MIDTRANS_CREATE_ATTEMPTS: "4",
    MIDTRANS_CREATE_TIMEOUT_MS: "1000",
    MIDTRANS_STATUS_ATTEMPTS: "1",
    MIDTRANS_STATUS_TIMEOUT_MS: "200",
    MIDTRANS_CANCEL_ATTEMPTS: "3",
    MIDTRANS_CANCEL_TIMEOUT_MS: "300",
    MIDTRANS_EXPIRE_ATTEMPTS: "5",
    MIDTRANS_EXPIRE_TIMEOUT_MS: "400",
    MIDTRANS_REFUND_ATTEMPTS: "6",
    MIDTRANS_REFUND_TIMEOUT_MS: "500",
    MIDTRANS_RETRY_BASE_DELAY_MS: "100",
    MIDTRANS_RETRY_MAX_DELAY_MS: "2000",
    MIDTRANS_RETRY_JITTER: "0",
    MIDTRANS_BREAKER_FAILURES: "3",
    MIDTRANS_BREAKER_HALF_OPEN_AFTER_MS: "250",
    MIDTRANS_BREAKER_SUCCESSES_TO_CLOSE: "4",
  }).midtrans;
  expect(m).toEqual({
    baseUrl: "http://127.0.0.1:3900",
    isProduction: true,
    operations: {
      create: { attempts: 4, timeoutMs: 1000 },
      status: { attempts: 1, timeoutMs: 200 },
      cancel: { attempts: 3, timeoutMs: 300 },
      expire: { attempts: 5, timeoutMs: 400 },
      refund: { attempts: 6, timeoutMs: 500 },
    },
    retry: { baseDelayMs: 100, maxDelayMs: 2000, jitter: 0 },
    breaker: { failuresToOpen: 3, halfOpenAfterMs: 250, successesToClose: 4 },
  });
});

test.each([
  ["MIDTRANS_BASE_URL", "not a url"],
  ["MIDTRANS_IS_PRODUCTION", "yes"],
  ["MIDTRANS_CREATE_ATTEMPTS", "0"],
  ["MIDTRANS_STATUS_TIMEOUT_MS", "1.5"],
  ["MIDTRANS_RETRY_BASE_DELAY_MS", "50"],
  ["MIDTRANS_RETRY_MAX_DELAY_MS", "6000"],
  ["MIDTRANS_BREAKER_FAILURES", "0"],
])("%s=%s is refused, naming the variable", (name, value) => {
  expect(() => readConfig({ [name]: value })).toThrow(name);
});

test("WORKER_SHUTDOWN_TIMEOUT_MS: 20 s by default, from the variable, refused out of 100 ms – 10 min", () => {
  expect(readConfig({}).workerShutdownTimeoutMs).toBe(20_000);
  expect(readConfig({ WORKER_SHUTDOWN_TIMEOUT_MS: "2500" }).workerShutdownTimeoutMs).toBe(2_500);
  for (const bad of ["50", "600001", "1.5", "soon"])
    expect(() => readConfig({ WORKER_SHUTDOWN_TIMEOUT_MS: bad })).toThrow("WORKER_SHUTDOWN_TIMEOUT_MS");
});

test("the worker instance: no id (hostname:pid:random is made at start), a 15 s heartbeat and 4 jobs at once by default; all configurable", () => {
  expect(readConfig({}).worker).toEqual({ instanceId: undefined, heartbeatMs: 15_000, concurrency: 4 });
  expect(
    readConfig({ WORKER_INSTANCE_ID: "worker-2.eu:blue", WORKER_HEARTBEAT_MS: "500", WORKER_CONCURRENCY: "12" }).worker,
  ).toEqual({ instanceId: "worker-2.eu:blue", heartbeatMs: 500, concurrency: 12 });
});

test("MIDTRANS_QRIS_EXPIRY_MINUTES: 15 minutes (Midtrans' default) unless set, up to 7 days", () => {
  expect(readConfig({}).qrisExpiryMinutes).toBe(15);
  expect(readConfig({ MIDTRANS_QRIS_EXPIRY_MINUTES: "60" }).qrisExpiryMinutes).toBe(60);
});

test.each([
  ["WORKER_INSTANCE_ID", "worker 2"],
  ["WORKER_INSTANCE_ID", "w".repeat(201)],
  ["WORKER_HEARTBEAT_MS", "99"],
  ["WORKER_HEARTBEAT_MS", "3600001"],
  ["WORKER_CONCURRENCY", "0"],
  ["WORKER_CONCURRENCY", "65"],
  ["WORKER_CONCURRENCY", "2.5"],
  ["MIDTRANS_QRIS_EXPIRY_MINUTES", "0"],
  ["MIDTRANS_QRIS_EXPIRY_MINUTES", "10081"],
  ["MIDTRANS_QRIS_EXPIRY_MINUTES", "soon"],
])("%s=%s is refused, naming the variable", (name, value) => {
  expect(() => readConfig({ [name]: value })).toThrow(name);
});

test("the realtime hub listens on 127.0.0.1:3001 by default; REALTIME_PORT and REALTIME_HOST change it, a bad port is refused", () => {
  expect([readConfig({}).realtimePort, readConfig({}).realtimeHost]).toEqual([3001, "127.0.0.1"]);
  const set = readConfig({ REALTIME_PORT: "4010", REALTIME_HOST: "0.0.0.0" });
  expect([set.realtimePort, set.realtimeHost]).toEqual([4010, "0.0.0.0"]);
  for (const bad of ["0", "70000", "web"]) expect(() => readConfig({ REALTIME_PORT: bad })).toThrow("REALTIME_PORT");
});

test("the hub re-checks its sockets' tokens every 30 s by default; REALTIME_TOKEN_RECHECK_MS changes it (100 ms – 1 h)", () => {
  expect(readConfig({}).realtimeTokenRecheckMs).toBe(30_000);
  expect(readConfig({ REALTIME_TOKEN_RECHECK_MS: "250" }).realtimeTokenRecheckMs).toBe(250);
  for (const bad of ["50", "3600001", "often"])
    expect(() => readConfig({ REALTIME_TOKEN_RECHECK_MS: bad })).toThrow("REALTIME_TOKEN_RECHECK_MS");
});

test("the hub trusts no proxy by default; REALTIME_TRUSTED_PROXIES lists addresses and CIDR ranges, a wrong entry is named", () => {
  expect(readConfig({}).realtimeTrustedProxies).toEqual([]);
  expect(
    readConfig({ REALTIME_TRUSTED_PROXIES: " 127.0.0.1, 10.0.0.0/8,,::1 , fc00::/7" }).realtimeTrustedProxies,
  ).toEqual(["127.0.0.1", "10.0.0.0/8", "::1", "fc00::/7"]);
  expect(() => readConfig({ REALTIME_TRUSTED_PROXIES: "127.0.0.1, nginx" })).toThrow(
    /REALTIME_TRUSTED_PROXIES: "nginx" is not an IP address or CIDR range/,
  );
  expect(() => readConfig({ REALTIME_TRUSTED_PROXIES: "10.0.0.0/33" })).toThrow(
    /REALTIME_TRUSTED_PROXIES: "10.0.0.0\/33" is not an IP address or CIDR range/,
  );
});
