/**
 * The test cluster shared by one jest run: an embedded PostgreSQL in a
 * temporary directory (fsync off: it is thrown away), or the server of
 * DATABASE_URL. The template database every test file clones is prepared by
 * the same boot sequence as `npm start` (db/prepare.ts): bootstrap as the
 * superuser, migrations as the owner, boot settings. Its coordinates reach
 * the test files through environment variables set here, before jest starts
 * its workers.
 */
import fs from "node:fs";
import path from "node:path";
import { databaseUrl, withClient, type RolePasswords } from "../../db/pg";
import { prepareDatabase } from "../../db/prepare";
import { startEmbeddedPostgres, temporaryDataDir, type EmbeddedServer } from "../../services/embedded-postgres";
import { freePort } from "../../services/ports";

export { freePort };

export const TEST_PASSWORDS: RolePasswords = {
  owner: "owner-test-password",
  authenticator: "authenticator-test-password",
  worker: "worker-test-password",
};
export const TEST_JWT_SECRET = "test-jwt-secret-that-is-long-enough-0123456789";
export const TEST_CREDENTIALS_KEY = "test-credentials-key-that-is-long-enough-0123";
/** The key of the Midtrans documentation's examples (and of the signature test vector). */
export const TEST_MIDTRANS_SERVER_KEY = "SB-Mid-server-EXAMPLEKEY";

export type TestCluster = { server?: EmbeddedServer; dataDir?: string; adminUrl: string; templateDb: string };

export async function startTestCluster(): Promise<TestCluster> {
  let server: EmbeddedServer | undefined;
  let dataDir: string | undefined;
  let adminUrl: string;
  if (process.env.DATABASE_URL) {
    adminUrl = databaseUrl(process.env.DATABASE_URL, "postgres");
  } else {
    dataDir = temporaryDataDir("jasaweb-test");
    server = await startEmbeddedPostgres({
      dataDir,
      port: await freePort(),
      superuserPassword: "test-superuser-password",
      settings: { fsync: "off", synchronous_commit: "off", full_page_writes: "off", max_connections: "300" },
    });
    adminUrl = server.url("postgres");
  }
  const templateDb = `jasaweb_test_template_${process.pid}`;
  await withClient(adminUrl, async (admin) => {
    await admin.query(`drop database if exists ${templateDb}`);
    await admin.query(`create database ${templateDb}`);
  });
  await prepareDatabase({
    superuserUrl: databaseUrl(adminUrl, templateDb),
    passwords: TEST_PASSWORDS,
    settings: {
      jwtSecret: TEST_JWT_SECRET,
      credentialsKey: TEST_CREDENTIALS_KEY,
      midtransServerKey: TEST_MIDTRANS_SERVER_KEY,
    },
  });
  // A template must have no connection while it is cloned; graphile-worker's
  // and graphile-migrate's pools let go a moment after they are done.
  await waitForNoConnections(adminUrl, templateDb);
  process.env.JASAWEB_TEST_ADMIN_URL = adminUrl;
  process.env.JASAWEB_TEST_TEMPLATE_DB = templateDb;
  return { server, dataDir, adminUrl, templateDb };
}

export async function waitForNoConnections(adminUrl: string, database: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  await withClient(adminUrl, async (admin) => {
    for (;;) {
      const { rows } = await admin.query<{ n: number }>(
        "select count(*)::int as n from pg_stat_activity where datname = $1",
        [database],
      );
      if (rows[0]!.n === 0) return;
      if (Date.now() > deadline) throw new Error(`${database} still has ${rows[0]!.n} connection(s)`);
      await new Promise((r) => setTimeout(r, 50));
    }
  });
}

export async function stopTestCluster(cluster: TestCluster): Promise<void> {
  if (cluster.server) {
    await cluster.server.stop();
    if (cluster.dataDir) fs.rmSync(path.dirname(cluster.dataDir), { recursive: true, force: true });
    return;
  }
  await withClient(cluster.adminUrl, (admin) => admin.query(`drop database if exists ${cluster.templateDb}`));
}
