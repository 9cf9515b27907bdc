/**
 * Least privilege, with the real logins: migrations run as the NOSUPERUSER
 * owner app_owner, which owns every object (so SECURITY DEFINER functions
 * run as it, never as a superuser); the worker logs in as app_worker and can
 * run its jobs but not change the schema or read app_private; PostgREST's
 * authenticator can only become the three API roles.
 */
import { Logger } from "@graphile/logger";
import { migrate as graphileMigrate } from "graphile-migrate";
import { runOnce } from "graphile-worker";
import { migrationsFolder } from "../../config/paths";
import { applyBootSettings } from "../../db/boot-settings";
import { OWNED_SCHEMAS, bootstrap } from "../../db/bootstrap";
import { committedMigrations, migrate, rollback } from "../../db/migrations";
import { withClient } from "../../db/pg";
import { createTaskList } from "../../worker/runner";
import { TEST_PASSWORDS } from "../setup/cluster";
import { createEmptyDatabase, createMigratedDatabase, type TestDatabase } from "../helpers/database";
import { asRole, sqlErrorOf } from "../helpers/roles";

/** Objects of our schemas not owned by app_owner (extension members excepted). */
const NOT_OWNED = `
  select kind || ' ' || name as object from (
    select 'schema' as kind, nspname::text as name, nspowner as owner from pg_namespace where nspname = any($1)
    union all
    select 'relation', c.oid::regclass::text, c.relowner from pg_class c join pg_namespace n on n.oid = c.relnamespace
     where n.nspname = any($1) and c.relkind in ('r', 'p', 'v', 'm', 'S')
    union all
    select 'function', p.oid::regprocedure::text, p.proowner from pg_proc p join pg_namespace n on n.oid = p.pronamespace
     where n.nspname = any($1) and not exists (select 1 from pg_depend d where d.objid = p.oid and d.deptype = 'e')
    union all
    select 'type', t.oid::regtype::text, t.typowner from pg_type t join pg_namespace n on n.oid = t.typnamespace
     where n.nspname = any($1) and t.typtype in ('e', 'd')
  ) o where owner <> 'app_owner'::regrole order by 1`;

describe("roles on a database prepared like npm start's", () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createMigratedDatabase();
  });
  afterAll(async () => {
    await db.drop();
  });

  test("app_owner is no superuser, cannot create roles or databases, and owns every object of ours", async () => {
    expect(
      await db.query(
        "select rolsuper, rolcreaterole, rolcreatedb, rolbypassrls, rolcanlogin from pg_roles where rolname = 'app_owner'",
      ),
    ).toEqual([{ rolsuper: false, rolcreaterole: false, rolcreatedb: false, rolbypassrls: false, rolcanlogin: true }]);
    expect(await db.query(NOT_OWNED, [OWNED_SCHEMAS])).toEqual([]);
    expect(
      await db.query("select pg_get_userbyid(datdba) as owner from pg_database where datname = current_database()"),
    ).toEqual([{ owner: "app_owner" }]);
  });

  test("every SECURITY DEFINER function belongs to app_owner and pins its search_path", async () => {
    const definers = await db.query<{ fn: string; owner: string; pinned: boolean }>(
      `select p.oid::regprocedure::text as fn, pg_get_userbyid(p.proowner) as owner,
              coalesce(exists (select 1 from unnest(p.proconfig) c where c like 'search\\_path=%'), false) as pinned
         from pg_proc p join pg_namespace n on n.oid = p.pronamespace
        where p.prosecdef and n.nspname in ('api', 'app_hidden', 'app_private') order by 1`,
    );
    expect(definers.length).toBeGreaterThan(5);
    expect(definers.filter((d) => d.owner !== "app_owner" || !d.pinned)).toEqual([]);
  });

  test("authenticator can only become the API roles, and does not inherit their rights", async () => {
    expect(
      await db.query(
        `select r.rolname as role from pg_auth_members m join pg_roles r on r.oid = m.roleid
          where m.member = 'authenticator'::regrole order by 1`,
      ),
    ).toEqual([{ role: "app_admin" }, { role: "app_client" }, { role: "web_anon" }]);
    expect(await db.query("select rolinherit from pg_roles where rolname = 'authenticator'")).toEqual([
      { rolinherit: false },
    ]);
  });

  test("app_worker, logged in with its own password, runs its job but cannot touch the schema or app_private", async () => {
    await withClient(db.connections.worker, async (worker) => {
      expect((await worker.query("select current_user as u")).rows).toEqual([{ u: "app_worker" }]);
      expect((await sqlErrorOf(worker.query("select * from app_private.settings"))).code).toBe("42501");
      expect((await sqlErrorOf(worker.query("create table api.intruder (id int)"))).code).toBe("42501");
      expect((await sqlErrorOf(worker.query("create schema intruder"))).code).toBe("42501");
      expect((await sqlErrorOf(worker.query("select app_private.maintain_partitions()"))).code).toBe("42501");
    });
    // A job queued from SQL (as the owner's functions will) is run by graphile-worker logged in as app_worker.
    // Next month's partition is gone; the job must create it again.
    await db.query(
      `do $$ begin execute format('drop table app_private.audit_logs_p%s', to_char(now() + interval '1 month', 'YYYYMM')); end $$`,
    );
    await withClient(db.connections.owner, (owner) =>
      owner.query("select graphile_worker.add_job('partitions__maintain', job_key => 'roles-test')"),
    );
    await runOnce({
      connectionString: db.connections.worker,
      taskList: createTaskList(),
      logger: new Logger(() => () => undefined),
    });
    expect(await db.query("select count(*)::int as n from graphile_worker.jobs")).toEqual([{ n: 0 }]);
    const next = await db.query<{ n: number }>(
      `select count(*)::int as n from pg_class where relnamespace = 'app_private'::regnamespace
          and relname = 'audit_logs_p' || to_char(now() + interval '1 month', 'YYYYMM')`,
    );
    expect(next).toEqual([{ n: 1 }]);
  });
});

describe("a database migrated before the owner role existed (everything owned by the superuser)", () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createEmptyDatabase();
    // What the previous version did: graphile-migrate as the superuser.
    await graphileMigrate({ connectionString: db.url, migrationsFolder, logger: new Logger(() => () => undefined) });
  });
  afterAll(async () => {
    await db.drop();
  });

  test("is handed to app_owner by the bootstrap, and the owner can roll back and migrate it", async () => {
    expect((await db.query(NOT_OWNED, [OWNED_SCHEMAS])).length).toBeGreaterThan(50);
    await bootstrap(db.connections.superuser, TEST_PASSWORDS);
    expect(await db.query(NOT_OWNED, [OWNED_SCHEMAS])).toEqual([]);
    // Functions the owner creates from now on are not executable by PUBLIC either.
    expect(
      await db.query("select defaclacl::text as acl from pg_default_acl where defaclrole = 'app_owner'::regrole"),
    ).toEqual([{ acl: "{app_owner=X/app_owner}" }]);
    // Its SECURITY DEFINER functions now act as the owner and still work:
    // sign-up hashes with pgcrypto, which a superuser created there.
    await withClient(db.connections.owner, (owner) =>
      applyBootSettings(owner, {
        jwtSecret: "test-jwt-secret-that-is-long-enough-0123456789",
        credentialsKey: "k".repeat(40),
      }),
    );
    const signedUp = await asRole(
      db,
      "web_anon",
      async (client) =>
        (await client.query("select api.register('lama@example.id', 'password-123', 'Pengguna Lama') as s")).rows[0].s,
      { commit: true },
    );
    expect(signedUp.user.email).toBe("lama@example.id");
    const latest = committedMigrations().at(-1)!.number;
    expect(await rollback(db.connections.owner)).toEqual([latest]);
    expect(await migrate(db.connections.owner, { quiet: true })).toEqual([committedMigrations().at(-1)!.realFilename]);
  });
});
