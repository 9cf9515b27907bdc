/**
 * Applying and undoing migrations.
 *
 * Up: graphile-migrate applies `migrations/committed/NNNNNN.sql` (each in its
 * own transaction, hash-chained so an edited committed file is refused).
 * Down: graphile-migrate has no down migrations, so every committed migration
 * has `migrations/down/NNNNNN.sql`; rollback runs it and deletes the
 * migration's record from `graphile_migrate.migrations` in the same
 * transaction, so a failed down script leaves the database as it was.
 */
import fs from "node:fs";
import path from "node:path";
import { Logger } from "@graphile/logger";
import { migrate as graphileMigrate } from "graphile-migrate";
import { Client } from "pg";
import { projectRoot } from "./config";

export const migrationsFolder = path.join(projectRoot, "migrations");
const committedFolder = path.join(migrationsFolder, "committed");
const downFolder = path.join(migrationsFolder, "down");

export class MigrationError extends Error {}

export type MigrationFile = { number: number; filename: string; path: string };

function listNumbered(folder: string): MigrationFile[] {
  if (!fs.existsSync(folder)) return [];
  return fs
    .readdirSync(folder)
    .filter((f) => /^\d{6}(-[\w-]+)?\.sql$/.test(f))
    .sort()
    .map((filename) => ({ number: Number(filename.slice(0, 6)), filename, path: path.join(folder, filename) }));
}

export const committedMigrations = (): MigrationFile[] => listNumbered(committedFolder);
export const downMigrations = (): MigrationFile[] => listNumbered(downFolder);

/** Migration numbers as graphile-migrate records them ("000003.sql" → 3). */
const numberOf = (filename: string): number => Number(filename.slice(0, 6));

type Quiet = { quiet?: boolean };

async function notifyPostgrest(client: Client): Promise<void> {
  // PostgREST (if listening) reloads its schema cache after every change.
  await client.query("notify pgrst, 'reload schema'");
}

export async function migrate(connectionString: string, options: Quiet = {}): Promise<void> {
  await graphileMigrate({
    connectionString,
    migrationsFolder,
    ...(options.quiet ? { logger: new Logger(() => () => undefined) } : {}),
  });
  await withClient(connectionString, notifyPostgrest);
}

export async function withClient<T>(connectionString: string, fn: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

export async function appliedMigrations(client: Client): Promise<{ number: number; filename: string; date: Date }[]> {
  const { rows } = await client.query<{ exists: boolean }>(
    "select to_regclass('graphile_migrate.migrations') is not null as exists",
  );
  if (!rows[0]?.exists) return [];
  const applied = await client.query<{ filename: string; date: Date }>(
    "select filename, date from graphile_migrate.migrations order by filename",
  );
  return applied.rows.map((r) => ({ number: numberOf(r.filename), filename: r.filename, date: r.date }));
}

export type MigrationStatus = {
  applied: { number: number; filename: string; date: Date }[];
  pending: MigrationFile[];
};

export async function status(connectionString: string): Promise<MigrationStatus> {
  return withClient(connectionString, async (client) => {
    const applied = await appliedMigrations(client);
    const done = new Set(applied.map((m) => m.number));
    return { applied, pending: committedMigrations().filter((m) => !done.has(m.number)) };
  });
}

export type RollbackTarget = { to?: number; all?: boolean };

/**
 * Undoes applied migrations, newest first: the latest one by default, down to
 * (but not including) migration `to`, or all of them. Each step runs its down
 * script and removes its record in one transaction. Returns the undone numbers.
 */
export async function rollback(connectionString: string, target: RollbackTarget = {}): Promise<number[]> {
  const downs = new Map(downMigrations().map((m) => [m.number, m]));
  return withClient(connectionString, async (client) => {
    const applied = await appliedMigrations(client);
    if (target.to !== undefined && target.to !== 0 && !applied.some((m) => m.number === target.to)) {
      throw new MigrationError(`Migration ${target.to} is not applied; applied: ${applied.map((m) => m.number).join(", ") || "none"}`);
    }
    const undo = applied
      .filter((m) => (target.all ? true : target.to !== undefined ? m.number > target.to : true))
      .reverse();
    const steps = target.all || target.to !== undefined ? undo : undo.slice(0, 1);
    for (const step of steps) {
      if (!downs.has(step.number)) {
        throw new MigrationError(`Migration ${step.filename} has no down script in migrations/down/`);
      }
    }
    const undone: number[] = [];
    for (const step of steps) {
      const down = downs.get(step.number)!;
      await client.query("begin");
      try {
        // graphile-migrate's own lock key ("GRAPHILE MIGRATE" on a phone
        // keypad): a concurrent `migrate` is refused while we hold it.
        await client.query("select pg_advisory_xact_lock(4727445306447283)");
        await client.query(fs.readFileSync(down.path, "utf8"));
        await client.query("delete from graphile_migrate.migrations where filename = $1", [step.filename]);
        await notifyPostgrest(client);
        await client.query("commit");
      } catch (error) {
        await client.query("rollback");
        throw new MigrationError(`Down script ${down.filename} failed, nothing of it was applied: ${(error as Error).message}`);
      }
      undone.push(step.number);
    }
    return undone;
  });
}
