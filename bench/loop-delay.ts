/**
 * How late this process's event loop ran during a measurement
 * (perf_hooks.monitorEventLoopDelay, 1 ms resolution): the benchmark stamps
 * commits and frames on its loop, so a late loop (its own work, or the
 * machine not running it) shifts those stamps by about this much.
 */
import { monitorEventLoopDelay } from "node:perf_hooks";

export type LoopDelay = { p99Ms: number; maxMs: number };

export function watchLoopDelay(): { stop(): LoopDelay } {
  const histogram = monitorEventLoopDelay({ resolution: 1 });
  histogram.enable();
  return {
    stop() {
      histogram.disable();
      return { p99Ms: histogram.percentile(99) / 1e6, maxMs: histogram.max / 1e6 };
    },
  };
}
