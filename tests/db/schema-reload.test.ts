/**
 * PostgREST serves a migration's new tables and functions at once: every
 * migration path ends with `NOTIFY pgrst, 'reload schema'` (.gmrc's
 * afterAllMigrations for migrate, each rollback step), which PostgREST
 * listens to (PGRST_DB_CHANNEL_ENABLED).
 */
import { Client, type Notification } from "pg";
import JSON5 from "json5";
import fs from "node:fs";
import path from "node:path";
import { projectRoot } from "../../config/paths";
import { rollback } from "../../db/migrations";
import { createEmptyDatabase, migrateAll, type TestDatabase } from "../helpers/database";

async function notificationsDuring(db: TestDatabase, action: () => Promise<unknown>): Promise<string[]> {
  const listener = new Client({ connectionString: db.url });
  await listener.connect();
  const received: string[] = [];
  listener.on("notification", (n: Notification) => received.push(`${n.channel}:${n.payload}`));
  try {
    await listener.query("listen pgrst");
    await action();
    // Notifications arrive after the sender's commit; give them a moment.
    await new Promise((r) => setTimeout(r, 300));
    return received;
  } finally {
    await listener.end();
  }
}

describe("PostgREST's schema cache reload", () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createEmptyDatabase();
  });
  afterAll(async () => {
    await db.drop();
  });

  test("is asked for after migrating and after each rollback step", async () => {
    expect(await notificationsDuring(db, () => migrateAll(db))).toContain("pgrst:reload schema");
    expect(await notificationsDuring(db, () => rollback(db.connections.owner))).toEqual(["pgrst:reload schema"]);
  });

  test(".gmrc asks for it after all migrations and after every `gm watch` run of current.sql", () => {
    const settings = JSON5.parse(fs.readFileSync(path.join(projectRoot, ".gmrc"), "utf8")) as Record<string, unknown>;
    const action = { _: "sql", file: "reload-postgrest.sql" };
    expect(settings.afterAllMigrations).toContainEqual(action);
    expect(settings.afterCurrent).toContainEqual(action);
    expect(fs.readFileSync(path.join(projectRoot, "migrations", "reload-postgrest.sql"), "utf8")).toMatch(
      /^notify pgrst, 'reload schema';$/m,
    );
  });
});
