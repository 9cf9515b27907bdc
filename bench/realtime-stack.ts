/**
 * What the realtime benchmark runs against: its own embedded PostgreSQL in a
 * temporary directory, prepared by db/prepare.ts (no demo content;
 * registered with the run's clean-up), and its users: client accounts
 * inserted in SQL as the superuser (as tests do), each with a token signed
 * like PostgREST's, and the seeded admin (whose id the broadcasts are sent
 * as). tests/bench/realtime.test.ts puts the same accounts on a test
 * database (realtimeStackOn).
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

/** A migrated and seeded database and the JWT secret it was booted with. */
export type RealtimeDatabase = {
  connections: DatabaseConnections;
  jwtSecret: string;
  /** PostgreSQL's main process (its children are the backends), when the server is the benchmark's own. */
  postmasterPid?: number;
};

export type RealtimeStack = RealtimeDatabase & {
  /** The seeded admin's id. */
  adminId: string;
  /** New client accounts with their tokens. */
  createClients(count: number): Promise<BenchUser[]>;
};

const ADMIN_EMAIL = "admin@bench.jasaweb.id";
/** Part of every bench user's email, so that two runs on one database never collide. */
const RUN = crypto.randomBytes(4).toString("hex");
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
  return realtimeStackOn({ connections, jwtSecret, postmasterPid });
}

/** The benchmark's accounts on a prepared database (the benchmark's own, or a test's). */
export async function realtimeStackOn(database: RealtimeDatabase): Promise<RealtimeStack> {
  const { connections, jwtSecret } = database;
  const adminId = await withClient(connections.superuser, async (client) => {
    // admin_broadcast allows 10 an hour per admin: for people, not for a benchmark's rounds.
    await client.query("update app_private.rate_limits set max_count = 1000000 where action = 'admin_broadcast'");
    const { rows } = await client.query<{ id: string }>(
      "select id from api.users where role = 'admin' order by created_at limit 1",
    );
    if (!rows[0]) throw new Error("the database has no admin (it must be seeded)");
    return rows[0].id;
  });
  const key = new TextEncoder().encode(jwtSecret);
  return {
    ...database,
    adminId,
    async createClients(count) {
      batch += 1;
      const ids = await withClient(connections.superuser, async (client) => {
        const { rows } = await client.query<{ id: string }>(
          `insert into api.users (email, name)
           select format('rt%s.%s.%s@bench.jasaweb.id', $1::text, $2::int, i), format('Klien %s', i)
             from generate_series(1, $3::int) i
           returning id`,
          [RUN, batch, count],
        );
        return rows.map((r) => r.id);
      });
      return Promise.all(ids.map(async (userId) => ({ userId, token: await clientToken(key, userId, "app_client") })));
    },
  };
}
