/**
 * Who this worker process is in the resilience API: an id that names it in
 * the breaker snapshots (WORKER_INSTANCE_ID, or hostname:pid:random, so two
 * processes on one host, or one pid reused after a restart, never share one)
 * and when it started.
 */
import crypto from "node:crypto";
import os from "node:os";

export type WorkerInstance = { id: string; startedAt: Date };

/** The snapshot table's rule for instance ids (breaker_snapshots_instance_id_format). */
const INSTANCE_ID = /^[A-Za-z0-9._:@-]{1,200}$/;

export function workerInstance(configuredId?: string): WorkerInstance {
  const id = configuredId ?? defaultInstanceId();
  if (!INSTANCE_ID.test(id)) throw new Error(`not a usable worker instance id: ${JSON.stringify(id)}`);
  return { id, startedAt: new Date() };
}

function defaultInstanceId(): string {
  // Hostnames are letters, digits, dots and hyphens; anything else is replaced.
  const host =
    os
      .hostname()
      .replace(/[^A-Za-z0-9.-]/g, "-")
      .slice(0, 150) || "host";
  return `${host}:${process.pid}:${crypto.randomBytes(3).toString("hex")}`;
}
