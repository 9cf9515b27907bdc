/**
 * migrations/schema.txt is the schema the committed migrations build, so a
 * reviewer reads a table in one place and sees every SQL change as a diff.
 * It is written by `npm run db:snapshot` on PostgreSQL 17 (the embedded
 * server); this test fails when a migration changed the schema and the
 * snapshot was not refreshed.
 */
import fs from "node:fs";
import path from "node:path";
import { projectRoot } from "../../config/paths";
import { withClient } from "../../db/pg";
import { SNAPSHOT_FILE, describeSchema, snapshotText } from "../../db/schema-description";
import { createMigratedDatabase, type TestDatabase } from "../helpers/database";

describe("schema snapshot", () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createMigratedDatabase();
  });
  afterAll(async () => {
    await db.drop();
  });

  test(`${SNAPSHOT_FILE} is what the migrations build (refresh it with npm run db:snapshot)`, async () => {
    const { actual, major } = await withClient(db.url, async (client) => ({
      actual: snapshotText(await describeSchema(client)),
      major: Number(
        (await client.query<{ v: string }>("select current_setting('server_version_num') as v")).rows[0]!.v.slice(
          0,
          -4,
        ),
      ),
    }));
    let committed = fs.readFileSync(path.join(projectRoot, SNAPSHOT_FILE), "utf8");
    // Before PostgreSQL 17 an owner's table privileges have no MAINTAIN (m):
    // the one difference between the majors we support.
    if (major < 17) committed = committed.replace(/=arwdDxtm\//g, "=arwdDxt/");
    expect(actual.split("\n")).toEqual(committed.split("\n"));
    expect(committed).toMatch(/^table: api\.users kind=r rls=true/m);
  });
});
