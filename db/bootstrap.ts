/**
 * The bootstrap: what only a superuser may do, run before the migrations at
 * every boot and deploy (idempotent, a few milliseconds when nothing is due).
 *
 *   1. Roles, cluster-wide: the owner `app_owner` (NOSUPERUSER; owns every
 *      object of ours and runs the migrations), the logins `authenticator`
 *      (PostgREST) and `app_worker` (graphile-worker), and the API roles
 *      `web_anon`, `app_client`, `app_admin` that PostgREST switches to;
 *      the login passwords handed in at boot (never in a migration).
 *   2. The database: owned by `app_owner`; only our logins may connect.
 *   3. Migration 000001, if pending: it predates the owner and alters
 *      cluster roles, so the superuser applies it (recorded and hash-checked
 *      like any other) and hands what it created to the owner.
 *   4. Ownership: every object in our schemas that another role owns (a
 *      database migrated before the owner role existed) is given to the owner,
 *      so SECURITY DEFINER functions never run as a superuser.
 *   5. graphile-worker's schema, migrated by graphile-worker itself on the
 *      owner's connection (so SQL functions owned by the owner can queue jobs
 *      with graphile_worker.add_job), and exactly the grants `app_worker`
 *      needs to run jobs (with a row policy on graphile-worker's RLS-enabled
 *      tables): no DDL, nothing outside graphile_worker but what the
 *      migrations grant it.
 *   6. The per-role limits (db/role-limits.ts): statement timeouts,
 *      temp_file_limit, idle_in_transaction_session_timeout, set on the
 *      roles with ALTER ROLE … SET, in the transaction of step 1.
 *
 * Extensions: the one we use, pgcrypto, is a trusted extension that the
 * owner creates in migration 000004 (so its down script can drop it); an
 * untrusted extension would be created here.
 */
import { Logger } from "@graphile/logger";
import { runMigrations as runWorkerMigrations } from "graphile-worker";
import type { ClientBase } from "pg";
import { DEFAULT_ROLE_LIMITS, type RoleLimits } from "../config/role-limits";
import { StartupError } from "../config/startup-error";
import {
  MIGRATE_LOCK_KEY,
  SUPERUSER_MIGRATIONS,
  assertAppliedMigrationsUnchanged,
  migrationStatus,
} from "./migrations";
import { LOGIN_ROLES, connectionsFor, inTransaction, withClient, type RolePasswords } from "./pg";
import { applyRoleLimits } from "./role-limits";

export class BootstrapError extends StartupError {}

/** The schemas whose objects belong to the owner. */
export const OWNED_SCHEMAS = ["api", "app_hidden", "app_private", "graphile_migrate", "graphile_worker"] as const;

const API_ROLES = ["web_anon", "app_client", "app_admin"] as const;

async function assertSuperuser(client: ClientBase): Promise<void> {
  const { rows } = await client.query<{ superuser: boolean; user: string }>(
    "select rolsuper as superuser, current_user as user from pg_roles where rolname = current_user",
  );
  if (!rows[0]?.superuser) {
    throw new BootstrapError(
      `The bootstrap needs a superuser connection (it creates roles and hands the database to ${LOGIN_ROLES.owner}), ` +
        `but DATABASE_URL logs in as "${rows[0]?.user}", which is not one.`,
    );
  }
}

/** Creates a role unless it exists; tolerates another bootstrap creating it at the same moment. */
async function ensureRole(client: ClientBase, role: string): Promise<void> {
  await client.query(`
    do $$ begin
      create role ${client.escapeIdentifier(role)};
    exception when duplicate_object or unique_violation then null;
    end $$`);
}

async function ensureRoles(client: ClientBase, passwords: RolePasswords): Promise<void> {
  // Roles are cluster-wide: two bootstraps at once (two databases of one
  // cluster, two deploy jobs) would otherwise fail with "tuple concurrently
  // updated". A lock on the shared role catalog serializes them cluster-wide
  // until this transaction ends.
  await client.query("lock table pg_catalog.pg_authid in share row exclusive mode");
  for (const role of [LOGIN_ROLES.owner, LOGIN_ROLES.authenticator, LOGIN_ROLES.worker, ...API_ROLES]) {
    await ensureRole(client, role);
  }
  const password = (value: string) => client.escapeLiteral(value);
  await client.query(
    `alter role ${LOGIN_ROLES.owner} with login nosuperuser nocreatedb nocreaterole noreplication nobypassrls inherit password ${password(passwords.owner)}`,
  );
  await client.query(
    `alter role ${LOGIN_ROLES.authenticator} with login noinherit nosuperuser nocreatedb nocreaterole noreplication nobypassrls password ${password(passwords.authenticator)}`,
  );
  await client.query(
    `alter role ${LOGIN_ROLES.worker} with login nosuperuser nocreatedb nocreaterole noreplication nobypassrls password ${password(passwords.worker)}`,
  );
  for (const role of API_ROLES) await client.query(`alter role ${role} with nologin nosuperuser nobypassrls`);
  await client.query(`grant ${API_ROLES.join(", ")} to ${LOGIN_ROLES.authenticator}`);
}

async function ensureDatabaseOwnership(client: ClientBase): Promise<void> {
  const { rows } = await client.query<{ name: string }>("select current_database() as name");
  const database = client.escapeIdentifier(rows[0]!.name);
  await client.query(`alter database ${database} owner to ${LOGIN_ROLES.owner}`);
  await client.query(`revoke all on database ${database} from public`);
  await client.query(`grant connect on database ${database} to ${LOGIN_ROLES.authenticator}, ${LOGIN_ROLES.worker}`);
}

/**
 * Applies the pending superuser migrations (000001) in one transaction:
 * graphile-migrate's record, the migration, and the hand-over to the owner.
 * graphile-migrate's own tables are created as the owner first (the same
 * `if not exists` statements graphile-migrate runs), so the owner can record
 * every later migration.
 */
async function applySuperuserMigrations(client: ClientBase): Promise<string[]> {
  await inTransaction(client, async () => {
    await client.query(`set local role ${LOGIN_ROLES.owner}`);
    await client.query(`
      create schema if not exists graphile_migrate;
      create table if not exists graphile_migrate.migrations (
        hash text primary key,
        previous_hash text references graphile_migrate.migrations,
        filename text not null,
        date timestamptz not null default now()
      );
      create table if not exists graphile_migrate.current (
        filename text primary key default 'current.sql',
        content text not null,
        date timestamptz not null default now()
      );`);
  });
  await assertAppliedMigrationsUnchanged(client);
  const { pending } = await migrationStatus(client);
  const due = pending.filter((m) => SUPERUSER_MIGRATIONS.has(m.filename));
  for (const migration of due) {
    await inTransaction(client, async () => {
      await client.query("select pg_advisory_xact_lock($1)", [MIGRATE_LOCK_KEY]);
      const already = await client.query("select 1 from graphile_migrate.migrations where filename = $1", [
        migration.filename,
      ]);
      if (already.rowCount) return;
      // 000001 revokes EXECUTE on future functions from PUBLIC for the role
      // that runs it: that must be the owner, who creates every function.
      const hadDefaults = await client.query(
        "select 1 from pg_default_acl where defaclrole = current_user::regrole and defaclnamespace = 0 and defaclobjtype = 'f'",
      );
      await client.query(migration.body);
      if (!hadDefaults.rowCount) await client.query("alter default privileges grant execute on functions to public");
      await client.query(
        "insert into graphile_migrate.migrations (hash, previous_hash, filename) values ($1, $2, $3)",
        [migration.hash, migration.previousHash, migration.filename],
      );
      await adoptOwnership(client);
    });
  }
  return due.map((m) => m.realFilename);
}

/**
 * Gives the owner every object of our schemas that another role owns.
 * Sequences owned by a column and row types follow their table; extension
 * members stay with their extension.
 */
async function adoptOwnership(client: ClientBase): Promise<void> {
  await client.query(
    `
    do $$
    declare
      new_owner constant regrole := '${LOGIN_ROLES.owner}'::regrole;
      schemas constant text[] := array[${OWNED_SCHEMAS.map((s) => `'${s}'`).join(", ")}];
      r record;
    begin
      for r in select n.nspname from pg_namespace n where n.nspname = any(schemas) and n.nspowner <> new_owner loop
        execute format('alter schema %I owner to %s', r.nspname, new_owner);
      end loop;
      for r in
        select c.oid::regclass as rel,
               case c.relkind when 'S' then 'sequence' when 'v' then 'view' when 'm' then 'materialized view'
                              when 'f' then 'foreign table' else 'table' end as kind
          from pg_class c join pg_namespace n on n.oid = c.relnamespace
         where n.nspname = any(schemas) and c.relowner <> new_owner and c.relkind in ('r', 'p', 'v', 'm', 'f', 'S')
           and not exists (select 1 from pg_depend d where d.classid = 'pg_class'::regclass and d.objid = c.oid and d.deptype = 'e')
           -- a sequence owned by a column (serial, identity) follows its table
           and not (c.relkind = 'S' and exists (select 1 from pg_depend d where d.classid = 'pg_class'::regclass and d.objid = c.oid
                                                and d.refclassid = 'pg_class'::regclass and d.deptype in ('a', 'i')))
      loop
        execute format('alter %s %s owner to %s', r.kind, r.rel, new_owner);
      end loop;
      for r in
        select p.oid::regprocedure as fn, case p.prokind when 'p' then 'procedure' when 'a' then 'aggregate' else 'function' end as kind
          from pg_proc p join pg_namespace n on n.oid = p.pronamespace
         where n.nspname = any(schemas) and p.proowner <> new_owner
           and not exists (select 1 from pg_depend d where d.classid = 'pg_proc'::regclass and d.objid = p.oid and d.deptype = 'e')
      loop
        execute format('alter %s %s owner to %s', r.kind, r.fn, new_owner);
      end loop;
      for r in
        select t.oid::regtype as typ
          from pg_type t join pg_namespace n on n.oid = t.typnamespace
         where n.nspname = any(schemas) and t.typowner <> new_owner
           and (t.typtype in ('e', 'd', 'r') or (t.typtype = 'c' and (select c.relkind from pg_class c where c.oid = t.typrelid) = 'c'))
           and not exists (select 1 from pg_depend d where d.classid = 'pg_type'::regclass and d.objid = t.oid and d.deptype = 'e')
      loop
        execute format('alter type %s owner to %s', r.typ, new_owner);
      end loop;
      -- The owner's functions call the extensions' (pgcrypto's crypt, hmac,
      -- ...). A database whose extensions a superuser created after revoking
      -- EXECUTE from PUBLIC by default left them to superusers only.
      for r in
        select p.oid::regprocedure as fn
          from pg_proc p join pg_depend d on d.classid = 'pg_proc'::regclass and d.objid = p.oid and d.deptype = 'e'
         where not has_function_privilege(new_owner, p.oid, 'execute')
      loop
        execute format('grant execute on function %s to %s', r.fn, new_owner);
      end loop;
    end $$`,
  );
  // A database whose 000001 ran as a superuser (before the owner existed)
  // needs 000001's rule for the owner too: no EXECUTE for PUBLIC by default.
  const { rows } = await client.query<{ recorded: boolean }>(
    "select to_regclass('graphile_migrate.migrations') is not null as recorded",
  );
  const applied =
    rows[0]?.recorded &&
    (await client.query("select 1 from graphile_migrate.migrations where filename = '000001.sql'")).rowCount;
  if (applied) {
    await client.query(
      `alter default privileges for role ${LOGIN_ROLES.owner} revoke execute on functions from public`,
    );
  }
}

/** graphile-worker's schema on the owner's connection, and the worker's grants. */
async function ensureWorkerSchema(client: ClientBase, ownerUrl: string): Promise<void> {
  await runWorkerMigrations({ connectionString: ownerUrl, logger: new Logger(() => () => undefined) });
  await client.query(`
    grant usage on schema graphile_worker to ${LOGIN_ROLES.worker};
    grant select, insert, update, delete on all tables in schema graphile_worker to ${LOGIN_ROLES.worker};
    grant usage, select, update on all sequences in schema graphile_worker to ${LOGIN_ROLES.worker};
    grant execute on all functions in schema graphile_worker to ${LOGIN_ROLES.worker};`);
  // graphile-worker turns row-level security on for its private tables (it
  // expects to run as their owner): the worker's login needs a policy there.
  await client.query(`
    do $$
    declare r record;
    begin
      for r in
        select c.oid::regclass as rel from pg_class c
         where c.relnamespace = 'graphile_worker'::regnamespace and c.relrowsecurity
           and not exists (select 1 from pg_policy p where p.polrelid = c.oid and p.polname = 'worker_all')
      loop
        execute format('create policy worker_all on %s for all to ${LOGIN_ROLES.worker} using (true) with check (true)', r.rel);
      end loop;
    end $$`);
}

export type BootstrapResult = { appliedAsSuperuser: string[] };

/**
 * Runs the bootstrap on the database of `superuserUrl`. `limits` are
 * cluster-wide like the roles: every database of the cluster gets the last
 * bootstrap's values.
 */
export async function bootstrap(
  superuserUrl: string,
  passwords: RolePasswords,
  limits: RoleLimits = DEFAULT_ROLE_LIMITS,
): Promise<BootstrapResult> {
  const connections = connectionsFor(superuserUrl, passwords);
  return withClient(superuserUrl, async (client) => {
    await assertSuperuser(client);
    await inTransaction(client, async () => {
      await ensureRoles(client, passwords);
      await applyRoleLimits(client, limits);
      await ensureDatabaseOwnership(client);
    });
    // First, so that a database migrated before the owner existed is the
    // owner's before anything else touches it.
    await inTransaction(client, () => adoptOwnership(client));
    const appliedAsSuperuser = await applySuperuserMigrations(client);
    await ensureWorkerSchema(client, connections.owner);
    return { appliedAsSuperuser };
  });
}
