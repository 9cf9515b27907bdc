/**
 * Monthly partition upkeep for audit_logs and websocket_events: creates the
 * coming months' partitions and drops those past retention. Idempotent, so a
 * repeated or overlapping run is harmless.
 */
import type { Task } from "graphile-worker";

export const partitionsMaintain: Task = async (_payload, helpers) => {
  const { rows } = await helpers.query<{ result: { created: string[]; dropped: string[] } }>(
    "select app_hidden.maintain_partitions() as result",
  );
  const result = rows[0]?.result;
  if (result && (result.created.length || result.dropped.length)) {
    helpers.logger.info(`partitions created: [${result.created.join(", ")}], dropped: [${result.dropped.join(", ")}]`);
  }
};
