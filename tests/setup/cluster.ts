/**
 * The test cluster shared by one jest run: an embedded PostgreSQL in a
 * temporary directory (fsync off: it is thrown away), or the server of
 * DATABASE_URL. Its coordinates reach the test files through environment
 * variables set here, before jest starts its workers.
 */
import fs from "node:fs";
import path from "node:path";
import { Client } from "pg";
import { configureDatabase } from "../../db/boot-settings";
import { startEmbeddedPostgres, temporaryDataDir, type EmbeddedServer } from "../../db/embedded-postgres";
import { migrate } from "../../db/migrations";
import { freePort } from "../../db/ports";

export { freePort };

export const TEST_AUTHENTICATOR_PASSWORD = "authenticator-test-password";
export const TEST_JWT_SECRET = "test-jwt-secret-that-is-long-enough-0123456789";
export const TEST_CREDENTIALS_KEY = "test-credentials-key-that-is-long-enough-0123";

export type TestCluster = { server?: EmbeddedServer; dataDir?: string; adminUrl: string; templateDb: string };

export function databaseUrl(adminUrl: string, database: string): string {
  const url = new URL(adminUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

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
  const admin = new Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`drop database if exists ${templateDb}`);
    await admin.query(`create database ${templateDb}`);
  } finally {
    await admin.end();
  }
  const templateUrl = databaseUrl(adminUrl, templateDb);
  await migrate(templateUrl, { quiet: true });
  const client = new Client({ connectionString: templateUrl });
  await client.connect();
  try {
    // Role passwords are cluster-wide: only set them on our own cluster.
    if (server) {
      await configureDatabase(client, {
        authenticatorPassword: TEST_AUTHENTICATOR_PASSWORD,
        workerPassword: TEST_AUTHENTICATOR_PASSWORD,
        jwtSecret: TEST_JWT_SECRET,
        credentialsKey: TEST_CREDENTIALS_KEY,
      });
    }
  } finally {
    await client.end();
  }
  process.env.JASAWEB_TEST_ADMIN_URL = adminUrl;
  process.env.JASAWEB_TEST_TEMPLATE_DB = templateDb;
  return { server, dataDir, adminUrl, templateDb };
}

export async function stopTestCluster(cluster: TestCluster): Promise<void> {
  if (cluster.server) {
    await cluster.server.stop();
    if (cluster.dataDir) fs.rmSync(path.dirname(cluster.dataDir), { recursive: true, force: true });
    return;
  }
  const admin = new Client({ connectionString: cluster.adminUrl });
  await admin.connect();
  try {
    await admin.query(`drop database if exists ${cluster.templateDb}`);
  } finally {
    await admin.end();
  }
}
