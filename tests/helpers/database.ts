/**
 * A database of one's own for each test file: cloned from the migrated
 * template (fast), or empty (for the migration tests). Dropped afterwards.
 */
import crypto from "node:crypto";
import { Pool, type QueryResultRow } from "pg";
import { bootstrap } from "../../db/bootstrap";
import { migrate } from "../../db/migrations";
import { LOGIN_ROLES, connectionsFor, databaseUrl, withClient, type DatabaseConnections } from "../../db/pg";
import { seed } from "../../db/seed";
import { TEST_PASSWORDS } from "../setup/cluster";

export type TestDatabase = {
  name: string;
  /** Superuser connection string to this database. */
  url: string;
  /** The logins of this database: superuser, owner, authenticator, worker. */
  connections: DatabaseConnections;
  pool: Pool;
  query<R extends QueryResultRow = QueryResultRow>(sql: string, params?: unknown[]): Promise<R[]>;
  drop(): Promise<void>;
};

function adminUrl(): string {
  const url = process.env.JASAWEB_TEST_ADMIN_URL;
  if (!url) throw new Error("the jest global setup did not run (JASAWEB_TEST_ADMIN_URL is unset)");
  return url;
}

async function adminQuery(sql: string): Promise<void> {
  await withClient(adminUrl(), (client) => client.query(sql));
}

async function create(template: string | undefined): Promise<TestDatabase> {
  const name = `jasaweb_test_${crypto.randomBytes(6).toString("hex")}`;
  // A clone of the template belongs to the owner, like the template itself.
  await adminQuery(`create database ${name}${template ? ` template ${template} owner ${LOGIN_ROLES.owner}` : ""}`);
  const url = databaseUrl(adminUrl(), name);
  const pool = new Pool({ connectionString: url, max: 4 });
  return {
    name,
    url,
    connections: connectionsFor(url, TEST_PASSWORDS),
    pool,
    async query<R extends QueryResultRow>(sql: string, params?: unknown[]) {
      return (await pool.query<R>(sql, params)).rows;
    },
    async drop() {
      await pool.end();
      // graphile-migrate keeps its pool open for 200 ms after a migration and
      // exits the process if that pool's connections are killed: wait for it
      // to let go instead of forcing the drop.
      for (let attempt = 0; ; attempt++) {
        try {
          await adminQuery(`drop database if exists ${name}`);
          return;
        } catch (error) {
          if (attempt >= 50 || (error as { code?: string }).code !== "55006") throw error;
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    },
  };
}

/** A database with every migration applied (a copy of the run's template). */
export const createMigratedDatabase = (): Promise<TestDatabase> => {
  const template = process.env.JASAWEB_TEST_TEMPLATE_DB;
  if (!template) throw new Error("the jest global setup did not run (JASAWEB_TEST_TEMPLATE_DB is unset)");
  return create(template);
};

/** A database with nothing of ours in it. */
export const createEmptyDatabase = (): Promise<TestDatabase> => create(undefined);

/**
 * Every migration applied to `db` the way a boot does it: the bootstrap as
 * the superuser (roles, ownership, migration 000001 when pending,
 * graphile-worker's schema), then the rest as the owner.
 */
export async function migrateAll(db: TestDatabase): Promise<void> {
  await bootstrap(db.connections.superuser, TEST_PASSWORDS);
  await migrate(db.connections.owner, { quiet: true });
}

/** Runs `fn` in a transaction that is always rolled back. */
export async function inRolledBackTransaction<T>(
  db: TestDatabase,
  fn: (client: import("pg").PoolClient) => Promise<T>,
): Promise<T> {
  const client = await db.pool.connect();
  try {
    await client.query("begin");
    return await fn(client);
  } finally {
    await client.query("rollback").catch(() => undefined);
    client.release();
  }
}

/** A migrated database with the demo content and admin of `npm start` (admin@jasaweb.id / admin-password-1). */
export async function createSeededDatabase(): Promise<TestDatabase> {
  const db = await createMigratedDatabase();
  await withClient(db.connections.owner, (client) =>
    seed(client, { adminEmail: "admin@jasaweb.id", adminPassword: "admin-password-1" }),
  );
  return db;
}
