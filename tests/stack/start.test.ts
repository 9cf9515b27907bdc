/**
 * `npm start` as a new user runs it: on a fresh data directory it comes up,
 * PostgREST, behind the API edge on API_PORT, lists the public tables and
 * serves the seeded templates to an anonymous request, SIGTERM stops everything cleanly, and a second start
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
    "OWNER_PASSWORD",
    "WORKER_PASSWORD",
    "WORKER_DATABASE_URL",
    "CREDENTIALS_KEY",
    "JWT_SECRET",
  ];
  return Object.fromEntries(
    Object.entries(env).filter(([k]) => !settings.includes(k) && !/^(PGRST|MIDTRANS|SIMULATOR)_/.test(k)),
  );
}

function startStack(env: Record<string, string>): Started {
  // Same command as `npm start`, without npm in between (npm adds nothing here).
  // In a process group of its own, like a command started from a terminal:
  // `interrupt` then sends SIGINT to the group, as Ctrl-C does.
  const child = spawn(process.execPath, ["--import", "tsx", "stack/start.ts"], {
    cwd: projectRoot,
    env: { ...withoutStackSettings(process.env), ...env },
    detached: true,
  });
  let output = "";
  child.stdout.on("data", (c: Buffer) => (output += c.toString()));
  child.stderr.on("data", (c: Buffer) => (output += c.toString()));
  const exit = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return { child, output: () => output, exit };
}

/** Ctrl-C in a terminal: SIGINT to every process of the foreground process group. */
function interrupt(started: Started): void {
  process.kill(-started.child.pid!, "SIGINT");
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
      REALTIME_PORT: String(await freePort()),
      SIMULATOR_PORT: String(await freePort()),
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
    expect(first.output()).toContain(`realtime:          ws://127.0.0.1:${env.REALTIME_PORT}/realtime`);
    const hubHealth = await fetch(`http://127.0.0.1:${env.REALTIME_PORT}/health`);
    expect(hubHealth.status).toBe(200);
    expect(await hubHealth.json()).toMatchObject({ status: "ok", database: true, listening: true });
    expect(first.output()).toMatch(/database: +postgres:\/\/postgres:\*\*\*\*@127\.0\.0\.1:\d+\/jasaweb/);
    expect(first.output()).toMatch(/created the admin user admin@jasaweb\.id with the generated password: \S{12,}/);

    const openapi = await fetch(`${api}/`, { headers: { accept: "application/openapi+json" } });
    expect(openapi.status).toBe(200);
    const doc = (await openapi.json()) as { host: string; paths: Record<string, unknown> };
    // The host it names is the edge's, where clients call, not PostgREST's own loopback port.
    expect(doc.host).toBe(`127.0.0.1:${env.API_PORT}`);
    for (const table of ["/templates", "/pricing_plans", "/faqs", "/posts", "/pages"]) {
      expect(Object.keys(doc.paths)).toContain(table);
    }
    // Closed tables are not even listed for an anonymous reader.
    expect(Object.keys(doc.paths)).not.toContain("/users");

    // API_PORT is the edge's: it answers what PostgREST would answer with a 500.
    const badQuery = await fetch(`${api}/rpc/login?email=a&password=%ED%A0%80`);
    expect([badQuery.status, ((await badQuery.json()) as { code: string }).code]).toEqual([
      400,
      "INVALID_URL_ENCODING",
    ]);

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

  test("Ctrl-C stops without an error line, returns after PostgreSQL exited, and starts again at once, several times under load", async () => {
    // Two busy processes keep both cores loaded, as on a busy machine.
    const load = [0, 1].map(() => spawn(process.execPath, ["-e", "for (;;) {}"], { stdio: "ignore" }));
    try {
      for (let round = 1; round <= 3; round++) {
        const stack = startStack(env);
        running.push(stack);
        await waitFor(stack, /press Ctrl-C to stop/, 120_000);
        const health = await fetch(`http://127.0.0.1:${env.API_PORT}/rpc/health`);
        expect(health.status).toBe(200);
        interrupt(stack);
        const code = await stack.exit;
        // The process ends only after PostgreSQL has: nothing is left running.
        expect(postgresAlive(dataDir)).toBe(false);
        expect({ round, code }).toEqual({ round, code: 0 });
        expect(stack.output()).toContain("stopped cleanly");
        expect(
          stack
            .output()
            .split("\n")
            .filter((line) => /\bERROR\b|\berror:/i.test(line)),
        ).toEqual([]);
      }
    } finally {
      for (const p of load) p.kill("SIGKILL");
    }
  }, 300_000);

  test("a PostgreSQL left running by a killed stack is stopped cleanly by the next start", async () => {
    const killed = startStack(env);
    running.push(killed);
    await waitFor(killed, /press Ctrl-C to stop/);
    killed.child.kill("SIGKILL");
    await killed.exit;
    // Its children outlive it: PostgreSQL on the data directory, PostgREST on the port.
    expect(postgresAlive(dataDir)).toBe(true);

    const next = startStack(env);
    running.push(next);
    await waitFor(next, /press Ctrl-C to stop/, 90_000);
    expect(next.output()).toMatch(/stopped a PostgREST \(pid \d+\) that an earlier start left running/);
    expect(next.output()).toMatch(/stopping a PostgreSQL \(pid \d+\) that an earlier start left running/);
    const templates = await fetch(`http://127.0.0.1:${env.API_PORT}/templates?select=id`);
    expect(((await templates.json()) as unknown[]).length).toBe(6);
    interrupt(next);
    expect(await next.exit).toBe(0);
    expect(postgresAlive(dataDir)).toBe(false);
  }, 180_000);

  test("without MIDTRANS_SERVER_KEY it runs the Midtrans simulator, and a demo invoice can be paid end to end", async () => {
    const stack = startStack(env);
    running.push(stack);
    await waitFor(stack, /press Ctrl-C to stop/);
    const simulatorUrl = /Midtrans: +the local simulator (http:\/\/\S+?)\/ /.exec(stack.output())?.[1];
    expect(simulatorUrl).toBe(`http://127.0.0.1:${env.SIMULATOR_PORT}`);
    const api = `http://127.0.0.1:${env.API_PORT}`;
    const post = async (path: string, body: unknown, token?: string) => {
      const response = await fetch(`${api}${path}`, {
        method: "POST",
        headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
        body: JSON.stringify(body),
      });
      return (await response.json()) as Record<string, unknown>;
    };
    const session = await post("/rpc/register", {
      email: "pembeli@example.id",
      password: "password-123",
      name: "Pembeli",
    });
    const token = session.token as string;
    const ordered = await post("/rpc/create_project", { name: "Website Demo", type: "company" }, token);
    const invoiceId = (ordered.invoice as { id: string }).id;
    const paying = await post("/rpc/pay_invoice", { invoice_id: invoiceId }, token);
    const orderId = paying.midtrans_order_id as string;
    const invoice = async () =>
      (
        (await (
          await fetch(`${api}/invoices?id=eq.${invoiceId}&select=status,qris_url`, {
            headers: { authorization: `Bearer ${token}` },
          })
        ).json()) as {
          status: string;
          qris_url: string | null;
        }[]
      )[0]!;
    const poll = async (done: (i: { status: string; qris_url: string | null }) => boolean) => {
      for (let i = 0; i < 150 && !done(await invoice()); i++) await new Promise((r) => setTimeout(r, 200));
      return invoice();
    };
    expect((await poll((i) => i.qris_url !== null)).qris_url).toContain(simulatorUrl);
    // The payer presses Pay on the simulator's page (a form POST).
    expect((await fetch(`${simulatorUrl}/simulate/pay/${orderId}`, { method: "POST" })).status).toBeLessThan(400);
    expect((await poll((i) => i.status === "paid")).status).toBe("paid");
    stack.child.kill("SIGTERM");
    expect(await stack.exit).toBe(0);
  }, 120_000);

  test("a bad setting is named, not thrown as a stack trace", async () => {
    const bad = startStack({ ...env, JWT_SECRET: "short" });
    running.push(bad);
    expect(await bad.exit).toBe(1);
    expect(bad.output()).toContain("JWT_SECRET must have at least 32 characters");
  });
});
