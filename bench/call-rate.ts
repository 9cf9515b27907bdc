/** The rate of one trivial authenticated call (the same-run baseline of the payment benchmark). */
import autocannon from "autocannon";

export type CallRate = { requestsPerSecond: number; p50Ms: number; p99Ms: number; errors: number };

export async function measureCallRate(
  url: string,
  options: { token?: string; seconds: number; connections: number },
): Promise<CallRate> {
  const result = await autocannon({
    url,
    connections: options.connections,
    duration: options.seconds,
    headers: options.token ? { authorization: `Bearer ${options.token}` } : {},
  });
  return {
    requestsPerSecond: result.requests.average,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    errors: result.non2xx + result.errors,
  };
}
