/**
 * Committed migrations are immutable: graphile-migrate checks a file's hash
 * only when it runs it, so an edited file would never reach a database that
 * already ran it. Every path that migrates or reports refuses, naming the
 * file, when an applied migration no longer matches its file.
 */
import { spawn } from "node:child_process";
import { projectRoot } from "../../config/paths";
import { bootstrap } from "../../db/bootstrap";
import { assertAppliedMigrationsUnchanged, committedMigrations, migrate, rollback } from "../../db/migrations";
import { withClient } from "../../db/pg";
import { TEST_PASSWORDS } from "../setup/cluster";
import { createMigratedDatabase, type TestDatabase } from "../helpers/database";

function runCli(script: string, env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["--import", "tsx", script], {
      cwd: projectRoot,
      env: { ...process.env, ...env },
    });
    let output = "";
    child.stdout.on("data", (c: Buffer) => (output += c.toString()));
    child.stderr.on("data", (c: Buffer) => (output += c.toString()));
    child.on("exit", (code) => resolve({ code, output }));
  });
}

describe("an applied migration whose file changed", () => {
  // The database ran another version of the latest migration than its file holds.
  const latest = committedMigrations().at(-1)!;
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createMigratedDatabase();
    await db.query(
      "update graphile_migrate.migrations set hash = 'sha1:0123456789abcdef0123456789abcdef01234567' where filename = $1",
      [latest.filename],
    );
  });
  afterAll(async () => {
    await db.drop();
  });

  const refusal = new RegExp(
    `Committed migrations are immutable[\\s\\S]*${latest.realFilename.replace(".", "\\.")} differs from the version this database ran`,
  );

  test("is refused by migrate, the bootstrap and rollback, which change nothing", async () => {
    const before = await db.query("select filename, hash from graphile_migrate.migrations order by 1");
    await expect(migrate(db.connections.owner, { quiet: true })).rejects.toThrow(refusal);
    await expect(bootstrap(db.connections.superuser, TEST_PASSWORDS)).rejects.toThrow(refusal);
    await expect(rollback(db.connections.owner)).rejects.toThrow(refusal);
    expect(await db.query("select filename, hash from graphile_migrate.migrations order by 1")).toEqual(before);
  });

  test("is refused by npm run db:status and db:migrate with a message, not a stack trace", async () => {
    const env = {
      DATABASE_URL: db.url,
      OWNER_PASSWORD: TEST_PASSWORDS.owner,
      AUTHENTICATOR_PASSWORD: TEST_PASSWORDS.authenticator,
      WORKER_PASSWORD: TEST_PASSWORDS.worker,
      JWT_SECRET: "test-jwt-secret-that-is-long-enough-0123456789",
      CREDENTIALS_KEY: "test-credentials-key-that-is-long-enough-0123",
    };
    for (const script of ["db/cli/status.ts", "db/cli/migrate.ts"]) {
      const { code, output } = await runCli(script, env);
      expect({ script, code }).toEqual({ script, code: 1 });
      expect(output).toMatch(refusal);
      expect(output).toMatch(/put the change in a new migration/);
      expect(output).not.toMatch(/\n\s+at /);
    }
  }, 60_000);
});

describe("the immutability check", () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createMigratedDatabase();
  });
  afterAll(async () => {
    await db.drop();
  });

  test("passes on a database that ran exactly the committed files", async () => {
    await withClient(db.url, (client) => assertAppliedMigrationsUnchanged(client));
  });

  test("refuses a committed body edited without its hash header, and a missing file", async () => {
    const files = committedMigrations();
    const edited = files.map((m) =>
      m.filename === "000007.sql" ? { ...m, body: m.body.replace("amount", "amount ") } : m,
    );
    await expect(withClient(db.url, (client) => assertAppliedMigrationsUnchanged(client, edited))).rejects.toThrow(
      /000007-invoices\.sql was edited after it was committed/,
    );
    const missing = files.filter((m) => m.filename !== "000009.sql");
    await expect(withClient(db.url, (client) => assertAppliedMigrationsUnchanged(client, missing))).rejects.toThrow(
      /000009\.sql was applied to this database but there is no such file/,
    );
  });
});
