/**
 * `npm start` as a new user runs it: on a fresh data directory it comes up,
 * PostgREST lists the public tables and serves the seeded templates to an
 * anonymous request, SIGTERM stops everything cleanly, and a second start
 * reuses the data.
 */
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { projectRoot } from "../../config/paths";
import { freePort } from "../setup/cluster";

type Started = { child: ChildProcessWithoutNullStreams; output: () => string; exit: Promise<number | null> };

/** The caller's environment without any stack setting, so only the test's own apply. */
function withoutStackSettings(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const settings = [
    "DATABASE_URL",
    "JASAWEB_DATA_DIR",
    "PG_PORT",
    "API_PORT",
    "API_HOST",
    "ADMIN_EMAIL",
    "ADMIN_PASSWORD",
    "AUTHENTICATOR_PASSWORD",
    "JWT_SECRET",
  ];
  return Object.fromEntries(Object.entries(env).filter(([k]) => !settings.includes(k) && !k.startsWith("PGRST_")));
}

function startStack(env: Record<string, string>): Started {
  // Same command as `npm start`, without npm in between (npm adds nothing here).
  const child = spawn(process.execPath, ["--import", "tsx", "stack/start.ts"], {
    cwd: projectRoot,
    env: { ...withoutStackSettings(process.env), ...env },
  });
  let output = "";
  child.stdout.on("data", (c: Buffer) => (output += c.toString()));
  child.stderr.on("data", (c: Buffer) => (output += c.toString()));
  const exit = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return { child, output: () => output, exit };
}

async function waitFor(started: Started, pattern: RegExp, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!pattern.test(started.output())) {
    if (started.child.exitCode !== null) throw new Error(`stack exited early:\n${started.output()}`);
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${pattern}:\n${started.output()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function postgresAlive(dataDir: string): boolean {
  const pidFile = path.join(dataDir, "postgres", "postmaster.pid");
  if (!fs.existsSync(pidFile)) return false;
  const pid = Number(fs.readFileSync(pidFile, "utf8").split("\n")[0]);
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe("npm start", () => {
  let dataDir: string;
  let env: Record<string, string>;
  const running: Started[] = [];

  beforeAll(async () => {
    const base = fs.mkdtempSync(path.join(os.tmpdir(), "jasaweb-start-"));
    fs.chmodSync(base, 0o755);
    dataDir = path.join(base, "data");
    env = {
      JASAWEB_DATA_DIR: dataDir,
      PG_PORT: String(await freePort()),
      API_PORT: String(await freePort()),
    };
  });

  afterAll(async () => {
    for (const s of running) {
      if (s.child.exitCode === null) {
        s.child.kill("SIGTERM");
        await s.exit;
      }
    }
    fs.rmSync(path.dirname(dataDir), { recursive: true, force: true });
  });

  test("comes up on a fresh data directory, serves the API, and stops cleanly on SIGTERM", async () => {
    const first = startStack(env);
    running.push(first);
    await waitFor(first, /press Ctrl-C to stop/);
    const api = `http://127.0.0.1:${env.API_PORT}`;
    expect(first.output()).toContain(`REST API:          ${api}/`);
    expect(first.output()).toMatch(/database: +postgres:\/\/postgres:\*\*\*\*@127\.0\.0\.1:\d+\/jasaweb/);
    expect(first.output()).toMatch(/created the admin user admin@jasaweb\.id with the generated password: \S{12,}/);

    const openapi = await fetch(`${api}/`, { headers: { accept: "application/openapi+json" } });
    expect(openapi.status).toBe(200);
    const doc = (await openapi.json()) as { paths: Record<string, unknown> };
    for (const table of ["/templates", "/pricing_plans", "/faqs", "/posts", "/pages"]) {
      expect(Object.keys(doc.paths)).toContain(table);
    }
    // Closed tables are not even listed for an anonymous reader.
    expect(Object.keys(doc.paths)).not.toContain("/users");

    const templates = await fetch(`${api}/templates?select=name,category&order=name`);
    expect(templates.status).toBe(200);
    const rows = (await templates.json()) as { name: string; category: string }[];
    expect(rows.length).toBeGreaterThanOrEqual(3);
    expect(new Set(rows.map((r) => r.category))).toEqual(new Set(["sekolah", "berita", "company"]));

    expect(postgresAlive(dataDir)).toBe(true);
    first.child.kill("SIGTERM");
    const code = await first.exit;
    expect({ code, output: first.output() }).toEqual({ code: 0, output: expect.stringContaining("stopped cleanly") });
    expect(first.output()).toContain("stopped cleanly");
    expect(postgresAlive(dataDir)).toBe(false);
    await expect(fetch(`${api}/`)).rejects.toThrow();
  });

  test("a second start reuses the data (no new admin, same rows)", async () => {
    const second = startStack(env);
    running.push(second);
    await waitFor(second, /press Ctrl-C to stop/);
    expect(second.output()).not.toContain("generated password");
    const templates = await fetch(`http://127.0.0.1:${env.API_PORT}/templates?select=id`);
    const rows = (await templates.json()) as unknown[];
    expect(rows.length).toBe(6);

    // A start while this one holds the ports and data directory says why it cannot.
    const clash = startStack(env);
    running.push(clash);
    expect(await clash.exit).toBe(1);
    expect(clash.output()).toMatch(/Port \d+ is already in use|already running on the data directory/);
    expect(clash.output()).not.toMatch(/\n\s+at /); // a message, not a stack trace

    second.child.kill("SIGINT");
    const code = await second.exit;
    expect({ code, output: second.output() }).toEqual({ code: 0, output: expect.stringContaining("stopped cleanly") });
    expect(postgresAlive(dataDir)).toBe(false);
  });

  test("a bad setting is named, not thrown as a stack trace", async () => {
    const bad = startStack({ ...env, JWT_SECRET: "short" });
    running.push(bad);
    expect(await bad.exit).toBe(1);
    expect(bad.output()).toContain("JWT_SECRET must have at least 32 characters");
  });
});
