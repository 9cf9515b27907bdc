/**
 * What the realtime benchmark runs against: its own embedded PostgreSQL in a
 * temporary directory, prepared by db/prepare.ts (no demo content), and its
 * users: client accounts inserted in SQL as the superuser (as tests do),
 * each with a token signed like PostgREST's, and the seeded admin (whose id
 * the broadcasts are sent as). Everything is registered with the run's
 * clean-up.
 */
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { databaseUrl, withClient, type DatabaseConnections } from "../db/pg";
import { prepareDatabase } from "../db/prepare";
import { startEmbeddedPostgres, temporaryDataDir } from "../services/embedded-postgres";
import { freePort } from "../services/ports";
import type { Cleanup } from "./cleanup";
import { clientToken } from "./realtime-clients";

export type BenchUser = { userId: string; token: string };

export type RealtimeStack = {
  connections: DatabaseConnections;
  jwtSecret: string;
  /** PostgreSQL's main process (its children are the backends). */
  postmasterPid: number;
  /** The seeded admin's id. */
  adminId: string;
  /** New client accounts with their tokens. */
  createClients(count: number): Promise<BenchUser[]>;
};

const ADMIN_EMAIL = "admin@bench.jasaweb.id";
let batch = 0;

export async function startRealtimeStack(cleanup: Cleanup, log: (line: string) => void): Promise<RealtimeStack> {
  const dataDir = temporaryDataDir("jasaweb-bench-realtime");
  cleanup.add("the temporary data directory", () => fs.rmSync(path.dirname(dataDir), { recursive: true, force: true }));
  const server = await startEmbeddedPostgres({
    dataDir,
    port: await freePort(),
    superuserPassword: crypto.randomBytes(16).toString("base64url"),
    settings: { max_connections: "200" },
  });
  cleanup.add("PostgreSQL", () => server.stop());
  await withClient(server.url("postgres"), (client) => client.query("create database jasaweb_bench"));

  const secret = () => crypto.randomBytes(32).toString("base64url");
  const jwtSecret = secret();
  log("migrating…");
  const { connections } = await prepareDatabase({
    superuserUrl: databaseUrl(server.url("postgres"), "jasaweb_bench"),
    passwords: { owner: secret(), authenticator: secret(), worker: secret() },
    settings: { jwtSecret, credentialsKey: secret() },
    seed: { adminEmail: ADMIN_EMAIL, adminPassword: secret(), demoContent: false },
  });
  const postmasterPid = Number(fs.readFileSync(path.join(dataDir, "postmaster.pid"), "utf8").split("\n")[0]);
  // admin_broadcast allows 10 an hour per admin: for people, not for a benchmark's rounds.
  await withClient(connections.superuser, (client) =>
    client.query("update app_private.rate_limits set max_count = 1000000 where action = 'admin_broadcast'"),
  );

  const adminId = await withClient(connections.superuser, async (client) => {
    const { rows } = await client.query<{ id: string }>("select id from api.users where email = $1", [ADMIN_EMAIL]);
    return rows[0]!.id;
  });

  const key = new TextEncoder().encode(jwtSecret);
  return {
    connections,
    jwtSecret,
    postmasterPid,
    adminId,
    async createClients(count) {
      batch += 1;
      const ids = await withClient(connections.superuser, async (client) => {
        const { rows } = await client.query<{ id: string }>(
          `insert into api.users (email, name)
           select format('rt%s.%s@bench.jasaweb.id', $1::int, i), format('Klien %s', i)
             from generate_series(1, $2::int) i
           returning id`,
          [batch, count],
        );
        return rows.map((r) => r.id);
      });
      return Promise.all(ids.map(async (userId) => ({ userId, token: await clientToken(key, userId, "app_client") })));
    },
  };
}
