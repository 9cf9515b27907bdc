/**
 * Percentiles of a list of latencies (nearest rank), for the realtime
 * benchmark's reports.
 */
export type LatencyStats = { count: number; p50: number; p95: number; p99: number; max: number; mean: number };

/** Nearest-rank percentile of an ascending list. */
function rank(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/** The stats of `values` (NaN everywhere but count when empty). */
export function latencyStats(values: number[]): LatencyStats {
  if (!values.length) return { count: 0, p50: NaN, p95: NaN, p99: NaN, max: NaN, mean: NaN };
  const sorted = Float64Array.from(values).sort();
  const list = Array.from(sorted);
  return {
    count: list.length,
    p50: rank(list, 50),
    p95: rank(list, 95),
    p99: rank(list, 99),
    max: list[list.length - 1]!,
    mean: list.reduce((a, b) => a + b, 0) / list.length,
  };
}
