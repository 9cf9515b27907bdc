/**
 * SQL as one of our roles: a superuser connection that switches with
 * `set local role` inside a transaction (the way PostgREST does it), with
 * optional JWT claims, rolled back at the end unless asked to commit.
 * The worker logs in as app_worker (tests/db/roles.test.ts uses that real
 * login); here the superuser connection becomes it, which gives exactly the
 * same privileges.
 */
import type { PoolClient } from "pg";
import type { TestDatabase } from "./database";

export type ApiRole = "web_anon" | "app_client" | "app_admin" | "app_worker";

export async function asRole<T>(
  db: TestDatabase,
  role: ApiRole,
  fn: (client: PoolClient) => Promise<T>,
  options: { claims?: Record<string, unknown>; commit?: boolean } = {},
): Promise<T> {
  const client = await db.pool.connect();
  try {
    await client.query("begin");
    if (options.claims) {
      await client.query("select set_config('request.jwt.claims', $1, true)", [JSON.stringify(options.claims)]);
    }
    await client.query(`set local role ${role}`);
    const result = await fn(client);
    await client.query(options.commit ? "commit" : "rollback");
    return result;
  } catch (error) {
    await client.query("rollback").catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

/** The SQLSTATE of what `promise` threw (fails the test if it did not throw). */
export async function sqlErrorOf(promise: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await promise;
  } catch (error) {
    const { code, message } = error as { code?: string; message: string };
    return { code: code ?? "", message };
  }
  throw new Error("expected the statement to fail, but it succeeded");
}
