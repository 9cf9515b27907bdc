/**
 * The worker instance's name in the resilience API: WORKER_INSTANCE_ID when
 * given, else hostname:pid:random, different for every process start.
 */
import os from "node:os";
import { workerInstance } from "../../worker/resilience/instance";

test("without a configured id: hostname:pid:random, a new one each time", () => {
  const a = workerInstance();
  const b = workerInstance();
  const host = os.hostname().replace(/[^A-Za-z0-9.-]/g, "-");
  expect(a.id).toMatch(new RegExp(`^${host.replace(/\./g, "\\.")}:${process.pid}:[0-9a-f]{6}$`));
  expect(b.id).not.toBe(a.id);
  expect(Math.abs(a.startedAt.getTime() - Date.now())).toBeLessThan(5_000);
});

test("a configured id is used as it is; one the database would refuse is refused at start", () => {
  expect(workerInstance("worker-2.eu").id).toBe("worker-2.eu");
  expect(() => workerInstance("worker 2")).toThrow(/not a usable worker instance id/);
});
