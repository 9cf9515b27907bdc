/**
 * How much work one request or one job may make PostgreSQL do: the
 * per-role statement timeouts, the temporary-file cap and the idle-in-
 * transaction timeout that the bootstrap sets on the roles (db/role-limits.ts),
 * with their production defaults (README, Limits).
 */

/** Values of the limits; every field is set on the roles at each boot. */
export type RoleLimits = {
  /** statement_timeout per kind of caller, in milliseconds. */
  statementTimeoutMs: {
    /** Anonymous API requests (`web_anon`). */
    anon: number;
    /** Signed-in clients (`app_client`). */
    client: number;
    /** Admins (`app_admin`; also PostgREST's own login, `authenticator`). */
    admin: number;
    /** graphile-worker and the realtime hub (`app_worker`). */
    worker: number;
  };
  /** temp_file_limit of every role that serves requests or runs jobs, in megabytes. */
  tempFileLimitMb: number;
  /** idle_in_transaction_session_timeout of the logins PostgREST and the worker use, in milliseconds. */
  idleInTransactionTimeoutMs: number;
};

export const DEFAULT_ROLE_LIMITS: RoleLimits = {
  statementTimeoutMs: { anon: 3_000, client: 5_000, admin: 30_000, worker: 60_000 },
  tempFileLimitMb: 256,
  idleInTransactionTimeoutMs: 60_000,
};
