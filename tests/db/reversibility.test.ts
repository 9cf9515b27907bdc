/**
 * Every migration can be undone: all up then all down leaves nothing of ours;
 * up → down → up gives the very same schema as one up; rolling back the
 * latest migration keeps the rows of the tables that existed before it.
 */
import {
  rollback as rollbackAs,
  status,
  committedMigrations,
  downMigrations,
  type RollbackTarget,
} from "../../db/migrations";
import { withClient } from "../../db/pg";
import { describeSchema, formatSchemaDescription } from "../../db/schema-description";
import { createEmptyDatabase, migrateAll, type TestDatabase } from "../helpers/database";

const describe_ = (url: string) => withClient(url, describeSchema);

// Each test migrates whole databases up and down several times.
jest.setTimeout(180_000);

/** Migrations go up through the bootstrap and come down as the owner, as in production. */
const migrate = (db: TestDatabase) => migrateAll(db);
const rollback = (db: TestDatabase, target?: RollbackTarget) => rollbackAs(db.connections.owner, target);

describe("migrations are reversible", () => {
  let db: TestDatabase;
  beforeEach(async () => {
    db = await createEmptyDatabase();
  });
  afterEach(async () => {
    await db.drop();
  });

  test("every committed migration has a down script with the same number", () => {
    const ups = committedMigrations().map((m) => m.number);
    const downs = downMigrations().map((m) => m.number);
    expect(ups.length).toBeGreaterThan(0);
    expect(downs).toEqual(ups);
  });

  test("all up, then all down, leaves no object of ours behind", async () => {
    const pristine = await describe_(db.url);
    await migrate(db);
    const migrated = await describe_(db.url);
    expect(migrated.table).toEqual(expect.arrayContaining([expect.stringMatching(/^api\.users /)]));

    const undone = await rollback(db, { all: true });
    expect(undone).toEqual(
      committedMigrations()
        .map((m) => m.number)
        .reverse(),
    );
    expect(formatSchemaDescription(await describe_(db.url))).toEqual(formatSchemaDescription(pristine));
    expect((await status(db.url)).applied).toEqual([]);
    const leftovers = await db.query("select nspname from pg_namespace where nspname in ('api', 'app_private')");
    expect(leftovers).toEqual([]);
    // Roles are cluster-wide and shared with the cluster's other databases:
    // the down scripts leave them (see migrations/down/000001).
    const roles = await db.query(
      "select rolname from pg_roles where rolname in ('authenticator', 'web_anon', 'app_client', 'app_admin', 'app_worker') order by 1",
    );
    expect(roles.map((r) => r.rolname)).toEqual(["app_admin", "app_client", "app_worker", "authenticator", "web_anon"]);
  });

  test("up, down, up describes the same schema as a single up", async () => {
    const other = await createEmptyDatabase();
    try {
      await migrate(other);
      const once = formatSchemaDescription(await describe_(other.url));

      await migrate(db);
      await rollback(db, { all: true });
      await migrate(db);
      const again = formatSchemaDescription(await describe_(db.url));
      expect(again).toEqual(once);
      // The description really covers the objects named in the issue.
      for (const kind of ["table:", "column:", "constraint:", "index:", "function:", "trigger:", "policy:", "type:"]) {
        expect(once).toContain(kind);
      }
      expect(once).toMatch(/comment=The JasaWeb REST API/);
      expect(once).toMatch(/acl=\{[^}]*web_anon=r\//);
    } finally {
      await other.drop();
    }
  });

  test("each migration's down script undoes exactly that migration", async () => {
    // Walk up one migration at a time, recording the schema after each, then
    // walk down and compare with the recorded state at every step.
    const all = committedMigrations();
    const snapshots: string[] = [formatSchemaDescription(await describe_(db.url))];
    await migrate(db);
    await rollback(db, { all: true });
    for (let i = 0; i < all.length; i++) {
      await migrate(db);
      await rollback(db, { to: all[i]!.number });
      snapshots.push(formatSchemaDescription(await describe_(db.url)));
    }
    for (let i = all.length - 1; i >= 0; i--) {
      await rollback(db);
      expect(formatSchemaDescription(await describe_(db.url))).toEqual(snapshots[i]);
    }
    // Every migration up and down one at a time: minutes on a loaded machine.
  }, 300_000);

  test("rolling back the latest migration keeps the rows of the tables that existed before it", async () => {
    await migrate(db);
    await db.query(`insert into api.users (email, name) values ('siti@example.id', 'Siti')`);
    await db.query(`insert into api.templates (name, category, image_url, demo_url)
                    values ('Sekolah', 'sekolah', 'https://img.example.id/a.png', 'https://demo.example.id/a')`);
    await db.query(
      `insert into api.pricing_plans (identifier, name, price, description) values ('company', 'Company', 2500000, 'Profil')`,
    );
    const latest = committedMigrations().at(-1)!.number;

    expect(await rollback(db)).toEqual([latest]);
    expect(await db.query("select email from api.users")).toEqual([{ email: "siti@example.id" }]);
    expect(await db.query("select name from api.templates")).toEqual([{ name: "Sekolah" }]);
    expect(await db.query("select identifier from api.pricing_plans")).toEqual([{ identifier: "company" }]);

    await migrate(db);
    expect(await db.query("select email from api.users")).toEqual([{ email: "siti@example.id" }]);
  });

  test("rolling back the public-content grants keeps every content row", async () => {
    await migrate(db);
    const grants = committedMigrations().find((m) => m.realFilename.includes("public-content-access"))!;
    await db.query(
      `insert into api.posts (title, slug, content, status, published_at) values ('Halo', 'halo', 'Isi', 'published', now())`,
    );
    await rollback(db, { to: grants.number - 1 });
    expect(await db.query("select slug from api.posts")).toEqual([{ slug: "halo" }]);
    const grantsLeft = await db.query("select has_table_privilege('web_anon', 'api.posts', 'select') as can");
    expect(grantsLeft).toEqual([{ can: false }]);
  });

  test("rollback --to a migration that is not applied is refused and changes nothing", async () => {
    await migrate(db);
    const before = (await status(db.url)).applied.length;
    await expect(rollback(db, { to: 999 })).rejects.toThrow(/not applied/);
    expect((await status(db.url)).applied.length).toBe(before);
  });

  test("a failing down script rolls back as a whole and keeps the migration recorded", async () => {
    await migrate(db);
    const before = formatSchemaDescription(await describe_(db.url));
    const applied = (await status(db.url)).applied.length;
    // Let the down script run, then fail the step after it (removing the
    // migration's record): everything the down script did must be undone.
    await db.query(`create function public.refuse_record_delete() returns trigger language plpgsql as $$
      begin raise exception 'refused by the test'; end $$`);
    await db.query(`create trigger refuse_record_delete before delete on graphile_migrate.migrations
      for each row execute function public.refuse_record_delete()`);
    try {
      await expect(rollback(db)).rejects.toThrow(/nothing of it was applied.*refused by the test/);
    } finally {
      await db.query("drop trigger refuse_record_delete on graphile_migrate.migrations");
      await db.query("drop function public.refuse_record_delete()");
    }
    expect((await status(db.url)).applied.length).toBe(applied);
    expect(formatSchemaDescription(await describe_(db.url))).toEqual(before);
  });
});
