/** Small helpers for the SQL-level schema tests. */
import { DatabaseError, type QueryResult, type QueryResultRow } from "pg";

export type Row = Record<string, unknown>;

/** A pool or a client: anything that runs a parameterised query. */
export type Queryable = {
  query<R extends QueryResultRow = QueryResultRow>(text: string, values?: unknown[]): Promise<QueryResult<R>>;
};

/** What PostgreSQL answered to a statement: "ok", or the SQLSTATE and the constraint it names. */
export type Outcome = "ok" | { code: string | undefined; constraint: string | undefined };

/** Runs `fn` and reports "ok" or the PostgreSQL error's code and constraint (other errors are rethrown). */
export async function outcomeOf(fn: () => Promise<unknown>): Promise<Outcome> {
  try {
    await fn();
    return "ok";
  } catch (error) {
    if (error instanceof DatabaseError) return { code: error.code, constraint: error.constraint };
    throw error;
  }
}

/** The rejection PostgreSQL gives for a violated constraint. */
export const violation = (code: string, constraint: string): Outcome => ({ code, constraint });

/** INSERT INTO `table` (the row's keys) VALUES (the row's values, as parameters) RETURNING `returning`. */
export async function insertRow<R extends QueryResultRow = QueryResultRow>(
  client: Queryable,
  table: string,
  row: Row,
  returning = "*",
): Promise<R> {
  const columns = Object.keys(row);
  const sql = columns.length
    ? `insert into ${table} (${columns.map((c) => `"${c}"`).join(", ")})
       values (${columns.map((_, i) => `$${i + 1}`).join(", ")}) returning ${returning}`
    : `insert into ${table} default values returning ${returning}`;
  const result = await client.query<R>(sql, Object.values(row));
  return result.rows[0]!;
}
