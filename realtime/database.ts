/**
 * The hub's way into the database: a small pool logged in as app_worker,
 * calling the SQL functions granted to it (the outbox reader and the hub's
 * checks), nothing else.
 */
import { Pool } from "pg";

/** How the hub's connections name themselves in pg_stat_activity (a name in the connection string wins). */
export const APPLICATION_NAMES = {
  queries: "jasaweb realtime hub",
  records: "jasaweb realtime records",
  listener: "jasaweb realtime listener",
} as const;

export type OutboxMessage = {
  id: number;
  event: string;
  rooms: string[];
  payload: Record<string, unknown>;
  priority: string;
  created_at: string;
  expires_at: string;
};

export type OutboxBatch = { messages: OutboxMessage[]; cursor: unknown; more: boolean };

/** A token as the database checks it: its user (sub), id and role claim. */
export type TokenClaims = { sub: string; jti: string; role: string };

export type HubDatabase = {
  readOutbox(cursor: unknown, maxRows: number): Promise<OutboxBatch>;
  tokenStatus(userId: string, jti: string, role: string): Promise<string>;
  /** The status of many tokens in one query (app_hidden.realtime_token_statuses), by jti. */
  tokenStatuses(tokens: TokenClaims[]): Promise<Map<string, string>>;
  mayJoinProject(userId: string, projectId: string): Promise<boolean>;
  /**
   * The offline queue's replay for a user who just connected (app_hidden.realtime_replay):
   * unacked, unexpired messages for them below max attempts, in priority then age order;
   * each counts as one attempt. An ack of `seenId` (the client's last_id) is recorded first.
   */
  replay(userId: string, seenId: number | null): Promise<OutboxMessage[]>;
  /** Whether a trivial query answers within timeoutMs. */
  reachable(timeoutMs: number): Promise<boolean>;
  close(): Promise<void>;
};

export function hubDatabase(connectionString: string): HubDatabase {
  const pool = new Pool({
    connectionString,
    application_name: APPLICATION_NAMES.queries,
    max: 4,
    connectionTimeoutMillis: 5_000,
    // A query whose connection went silent (no answer, no reset) fails instead of holding
    // up every later read or batch; the broken connection is then dropped.
    query_timeout: 30_000,
    idleTimeoutMillis: 10_000,
  });
  // A connection that breaks while idle is dropped by the pool; the next query opens a new one.
  pool.on("error", () => undefined);
  const one = async <T>(sql: string, params: unknown[]): Promise<T> =>
    (await pool.query<{ r: T }>(sql, params)).rows[0]!.r;
  return {
    readOutbox: (cursor, maxRows) =>
      one<OutboxBatch>("select app_hidden.realtime_messages_after($1, $2) as r", [
        cursor === null ? null : JSON.stringify(cursor),
        maxRows,
      ]),
    tokenStatus: (userId, jti, role) =>
      one<string>("select app_hidden.realtime_token_status($1, $2, $3) as r", [userId, jti, role]),
    async tokenStatuses(tokens) {
      const { rows } = await pool.query<{ jti: string; status: string }>(
        "select jti, status from app_hidden.realtime_token_statuses($1)",
        [JSON.stringify(tokens)],
      );
      return new Map(rows.map((row) => [row.jti, row.status]));
    },
    mayJoinProject: (userId, projectId) =>
      one<boolean>("select app_hidden.realtime_may_join_project($1, $2) as r", [userId, projectId]),
    async replay(userId, seenId) {
      if (seenId !== null)
        await pool.query("select app_hidden.realtime_record_deliveries('[]', $1)", [
          JSON.stringify([{ connection_id: null, user_id: userId, message_id: seenId }]),
        ]);
      return one<OutboxMessage[]>("select app_hidden.realtime_replay($1) as r", [userId]);
    },
    async reachable(timeoutMs) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), timeoutMs);
      });
      try {
        return await Promise.race([
          pool.query("select 1").then(
            () => true,
            () => false,
          ),
          timeout,
        ]);
      } finally {
        clearTimeout(timer);
      }
    },
    close: () => pool.end(),
  };
}
