/**
 * A PostgreSQL cluster of a test file's own, for tests that change what is
 * cluster-wide (the roles' settings): the shared test cluster's roles must
 * keep the production defaults for every other test file. It is the
 * restartable server (tests/helpers/restartable-postgres.ts) on a fresh
 * data directory and a free port; the directory is removed when it stops.
 */
import fs from "node:fs";
import path from "node:path";
import { temporaryDataDir } from "../../services/embedded-postgres";
import { freePort } from "../setup/cluster";
import { startRestartablePostgres } from "./restartable-postgres";

export type DedicatedPostgres = {
  /** Superuser URL of `database` on this server. */
  url(database: string): string;
  stop(): Promise<void>;
};

export async function startDedicatedPostgres(name: string): Promise<DedicatedPostgres> {
  const dataDir = temporaryDataDir(name);
  const server = await startRestartablePostgres(dataDir, await freePort(), "dedicated-superuser-password");
  return {
    url: server.url,
    async stop() {
      await server.stop();
      fs.rmSync(path.dirname(dataDir), { recursive: true, force: true });
    },
  };
}
