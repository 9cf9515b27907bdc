/**
 * Applying and undoing migrations, as the owner role.
 *
 * Up: graphile-migrate applies `migrations/committed/NNNNNN-*.sql` with the
 * settings of `.gmrc` (the same ones its CLI reads), each in its own
 * transaction; its afterAllMigrations action reloads PostgREST's schema cache.
 * Down: graphile-migrate has no down migrations, so every committed migration
 * has `migrations/down/` with the same file name; rollback runs it and deletes
 * the migration's record in the same transaction, so a failed down script
 * leaves the database as it was.
 *
 * Immutability: graphile-migrate checks a file's hash only when it runs it,
 * so a committed file edited after a database ran it would silently never
 * reach that database. Before migrating, rolling back or reporting status we
 * compare every applied migration's recorded hash with its file and refuse
 * on any difference (`assertAppliedMigrationsUnchanged`).
 */
import fs from "node:fs";
import path from "node:path";
import crypto from "node:crypto";
import { Logger } from "@graphile/logger";
import { migrate as graphileMigrate, type Settings } from "graphile-migrate";
import JSON5 from "json5";
import type { ClientBase } from "pg";
import { migrationsFolder, projectRoot } from "../config/paths";
import { StartupError } from "../config/startup-error";
import { LOGIN_ROLES, withClient } from "./pg";

export class MigrationError extends StartupError {}

export type MigrationFile = {
  number: number;
  /** The name graphile-migrate records ("000003.sql"). */
  filename: string;
  /** The file's own name ("000003-monthly-partitions.sql"). */
  realFilename: string;
  path: string;
};

export type CommittedMigration = MigrationFile & {
  /** The `--! Hash` header (what graphile-migrate records when it runs the file). */
  hash: string;
  previousHash: string | null;
  body: string;
};

export type AppliedMigration = { number: number; filename: string; hash: string; date: Date };

const committedFolder = path.join(migrationsFolder, "committed");
const downFolder = path.join(migrationsFolder, "down");

/** graphile-migrate's lock ("GRAPHILE MIGRATE" on a phone keypad): migrate and rollback never overlap. */
const MIGRATE_LOCK_KEY = "4727445306447283";

function listNumbered(folder: string): MigrationFile[] {
  if (!fs.existsSync(folder)) return [];
  return fs
    .readdirSync(folder)
    .filter((f) => /^\d{6}(-[\w-]+)?\.sql$/.test(f))
    .sort()
    .map((realFilename) => ({
      number: Number(realFilename.slice(0, 6)),
      filename: `${realFilename.slice(0, 6)}.sql`,
      realFilename,
      path: path.join(folder, realFilename),
    }));
}

/** graphile-migrate's file format: `--! Key: value` headers, a blank line, the body. */
function parseCommitted(file: MigrationFile): CommittedMigration {
  const lines = fs.readFileSync(file.path, "utf8").split("\n");
  const headers: Record<string, string> = {};
  let n = 0;
  for (const line of lines) {
    const match = /^--! ([A-Z][a-zA-Z0-9_]*)(?::(.*))?$/.exec(line);
    if (!match) break;
    headers[match[1]!] = (match[2] ?? "").trim();
    n++;
  }
  const body = lines.slice(n).join("\n").trim() + "\n";
  if (!headers.Hash || !headers.Previous) {
    throw new MigrationError(
      `${file.realFilename} has no --! Hash / --! Previous header: committed migrations are written by \`npm run gm -- commit\`.`,
    );
  }
  return { ...file, hash: headers.Hash, previousHash: headers.Previous === "-" ? null : headers.Previous, body };
}

/** graphile-migrate's hash of a committed body (sha1 over the previous hash and the body). */
export function hashOf(body: string, previousHash: string | null): string {
  const text = `${((previousHash ?? "") + "\n" + body.trim()).trim()}\n`;
  return `sha1:${crypto.createHash("sha1").update(text).digest("hex")}`;
}

export const committedMigrations = (): CommittedMigration[] => listNumbered(committedFolder).map(parseCommitted);
export const downMigrations = (): MigrationFile[] => listNumbered(downFolder);

/**
 * Migrations the owner cannot run. 000001 predates the owner role: it creates
 * and alters the cluster-wide roles, which only a superuser may do, and it is
 * immutable, so the bootstrap applies it as the superuser (see
 * db/bootstrap.ts). Later role or extension work goes into the bootstrap, not
 * into a migration, so this list never grows.
 */
export const SUPERUSER_MIGRATIONS: ReadonlySet<string> = new Set(["000001.sql"]);

/** .gmrc (JSON5), the settings graphile-migrate's CLI reads too. */
function gmrc(): Settings {
  return JSON5.parse(fs.readFileSync(path.join(projectRoot, ".gmrc"), "utf8")) as Settings;
}

export async function appliedMigrations(client: ClientBase): Promise<AppliedMigration[]> {
  const { rows } = await client.query<{ exists: boolean }>(
    "select to_regclass('graphile_migrate.migrations') is not null as exists",
  );
  if (!rows[0]?.exists) return [];
  const applied = await client.query<{ filename: string; hash: string; date: Date }>(
    "select filename, hash, date from graphile_migrate.migrations order by filename",
  );
  return applied.rows.map((r) => ({
    number: Number(r.filename.slice(0, 6)),
    filename: r.filename,
    hash: r.hash,
    date: r.date,
  }));
}

/**
 * Refuses when a committed file no longer matches what the database ran:
 * its recorded hash differs from the file's, the file's body was edited
 * without its header, or the file is gone.
 */
export async function assertAppliedMigrationsUnchanged(
  client: ClientBase,
  committed: CommittedMigration[] = committedMigrations(),
): Promise<void> {
  const files = new Map(committed.map((m) => [m.filename, m]));
  const problems: string[] = [];
  for (const applied of await appliedMigrations(client)) {
    const file = files.get(applied.filename);
    if (!file) {
      problems.push(
        `${applied.filename} was applied to this database but there is no such file in migrations/committed/`,
      );
    } else if (file.hash !== applied.hash) {
      problems.push(
        `${file.realFilename} differs from the version this database ran (recorded ${applied.hash}, file ${file.hash})`,
      );
    } else if (hashOf(file.body, file.previousHash) !== file.hash) {
      problems.push(
        `${file.realFilename} was edited after it was committed (its body no longer matches its --! Hash header)`,
      );
    }
  }
  if (problems.length) {
    throw new MigrationError(
      `Committed migrations are immutable, but:\n  ${problems.join("\n  ")}\n` +
        "Restore the committed file(s) (git checkout migrations/committed) and put the change in a new migration " +
        "(migrations/current.sql, then `npm run gm -- commit`).",
    );
  }
}

export type MigrationStatus = { applied: AppliedMigration[]; pending: CommittedMigration[] };

export async function migrationStatus(client: ClientBase): Promise<MigrationStatus> {
  const applied = await appliedMigrations(client);
  const done = new Set(applied.map((m) => m.filename));
  return { applied, pending: committedMigrations().filter((m) => !done.has(m.filename)) };
}

export const status = (connectionString: string): Promise<MigrationStatus> =>
  withClient(connectionString, migrationStatus);

/** Applies pending migrations as the owner (`ownerUrl`); returns the file names it applied. */
export async function migrate(ownerUrl: string, options: { quiet?: boolean; logger?: Logger } = {}): Promise<string[]> {
  const before = await withClient(ownerUrl, async (client) => {
    await assertAppliedMigrationsUnchanged(client);
    return migrationStatus(client);
  });
  const needsSuperuser = before.pending.filter((m) => SUPERUSER_MIGRATIONS.has(m.filename));
  if (needsSuperuser.length) {
    throw new MigrationError(
      `${needsSuperuser.map((m) => m.realFilename).join(", ")} must be applied by the bootstrap, as a superuser ` +
        "(it creates the cluster-wide roles): run `npm run db:deploy` with a superuser DATABASE_URL.",
    );
  }
  const user = decodeURIComponent(new URL(ownerUrl).username);
  if (user !== LOGIN_ROLES.owner) {
    throw new MigrationError(`migrations run as the owner role ${LOGIN_ROLES.owner}, not as "${user}"`);
  }
  try {
    await graphileMigrate({
      ...gmrc(),
      connectionString: ownerUrl,
      migrationsFolder,
      ...(options.logger
        ? { logger: options.logger }
        : options.quiet
          ? { logger: new Logger(() => () => undefined) }
          : {}),
    });
  } catch (error) {
    throw new MigrationError(`A migration failed, nothing of it was applied: ${(error as Error).message}`, {
      cause: error,
    });
  }
  return before.pending.map((m) => m.realFilename);
}

export type RollbackTarget = { to?: number; all?: boolean };

/**
 * Undoes applied migrations as the owner, newest first: the latest one by
 * default, down to (but not including) migration `to`, or all of them. Each
 * step runs its down script and removes its record in one transaction.
 * Returns the undone numbers.
 */
export async function rollback(ownerUrl: string, target: RollbackTarget = {}): Promise<number[]> {
  const downs = new Map(downMigrations().map((m) => [m.number, m]));
  return withClient(ownerUrl, async (client) => {
    await assertAppliedMigrationsUnchanged(client);
    const applied = await appliedMigrations(client);
    if (target.to !== undefined && target.to !== 0 && !applied.some((m) => m.number === target.to)) {
      throw new MigrationError(
        `Migration ${target.to} is not applied; applied: ${applied.map((m) => m.number).join(", ") || "none"}`,
      );
    }
    const undo = applied
      .filter((m) => (target.to !== undefined && !target.all ? m.number > target.to : true))
      .reverse();
    const steps = target.all || target.to !== undefined ? undo : undo.slice(0, 1);
    for (const step of steps) {
      if (!downs.has(step.number))
        throw new MigrationError(`Migration ${step.filename} has no down script in migrations/down/`);
    }
    const undone: number[] = [];
    for (const step of steps) {
      const down = downs.get(step.number)!;
      await client.query("begin");
      try {
        await client.query("select pg_advisory_xact_lock($1)", [MIGRATE_LOCK_KEY]);
        await client.query(fs.readFileSync(down.path, "utf8"));
        await client.query("delete from graphile_migrate.migrations where filename = $1", [step.filename]);
        await client.query("notify pgrst, 'reload schema'");
        await client.query("commit");
      } catch (error) {
        await client.query("rollback");
        throw new MigrationError(
          `Down script ${down.realFilename} failed, nothing of it was applied: ${(error as Error).message}`,
        );
      }
      undone.push(step.number);
    }
    return undone;
  });
}

export { MIGRATE_LOCK_KEY };
