/**
 * Every few minutes: the realtime tables' upkeep.
 *
 * 1. Expired outbox messages go (app_hidden.prune_realtime_messages).
 * 2. Connection rows still alive whose hub stopped reporting are marked not
 *    alive, and their memberships go. A hub moves last_activity of each of
 *    its open sockets at every answered heartbeat (realtime/hub.ts: pong ->
 *    connection-records.ts touched), so a row older than `staleAfterMs` (a
 *    few heartbeat intervals) belongs to a hub that died without stopping
 *    (crash, kill -9, lost host).
 * 3. Rows dead for longer than `deadRetentionMs` are deleted, with their
 *    memberships (and, by their foreign keys, their delivery records).
 *
 * Steps 2 and 3 work in batches of `batchSize` rows, each its own short
 * statement, at most `maxBatches` per step and run; what a run leaves, the
 * next one picks up.
 */
import type { Task } from "graphile-worker";

export type RealtimeCleanupOptions = {
  /** A live row whose last_activity is older than this is a dead hub's (default 3 minutes: 6 heartbeats of 30 s). */
  staleAfterMs: number;
  /** Not-alive rows are kept this long after their last activity (default 24 hours). */
  deadRetentionMs: number;
  /** Rows per statement (default 500). */
  batchSize: number;
  /** Statements per step and run (default 20). */
  maxBatches: number;
};

export const REALTIME_CLEANUP_DEFAULTS: RealtimeCleanupOptions = {
  staleAfterMs: 3 * 60_000,
  deadRetentionMs: 24 * 60 * 60_000,
  batchSize: 500,
  maxBatches: 20,
};

export function realtimeCleanup(options: Partial<RealtimeCleanupOptions> = {}): Task {
  const { staleAfterMs, deadRetentionMs, batchSize, maxBatches } = { ...REALTIME_CLEANUP_DEFAULTS, ...options };
  return async (_payload, helpers) => {
    const pruned = await helpers.query<{ pruned: number }>("select app_hidden.prune_realtime_messages() as pruned");

    /** Runs one batched statement (returning a row per row it changed) until it changes less than a batch. */
    const inBatches = async (sql: string, params: unknown[]): Promise<number> => {
      let total = 0;
      for (let batch = 0; batch < maxBatches; batch++) {
        const { rowCount } = await helpers.query(sql, [...params, batchSize]);
        total += rowCount ?? 0;
        if ((rowCount ?? 0) < batchSize) break;
      }
      return total;
    };

    const markedDead = await inBatches(
      `with stale as (
         select connection_id from api.websocket_connections
          where is_alive and last_activity < now() - make_interval(secs => $1)
          order by last_activity
          limit $2
          for update skip locked
       ), gone as (
         delete from api.websocket_room_memberships m using stale s where m.connection_id = s.connection_id
       )
       update api.websocket_connections c set is_alive = false, rooms = '{}'
         from stale s where c.connection_id = s.connection_id
       returning c.connection_id`,
      [staleAfterMs / 1000],
    );

    const deleted = await inBatches(
      `with old as (
         select connection_id from api.websocket_connections
          where not is_alive and last_activity < now() - make_interval(secs => $1)
          order by last_activity
          limit $2
          for update skip locked
       ), gone as (
         delete from api.websocket_room_memberships m using old o where m.connection_id = o.connection_id
       )
       delete from api.websocket_connections c using old o where c.connection_id = o.connection_id
       returning c.connection_id`,
      [deadRetentionMs / 1000],
    );

    const messages = pruned.rows[0]?.pruned ?? 0;
    if (messages || markedDead || deleted)
      helpers.logger.info(
        `realtime cleanup: ${messages} expired messages pruned, ${markedDead} connections of dead hubs marked not alive, ${deleted} dead connections deleted`,
      );
  };
}
