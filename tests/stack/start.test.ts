/**
 * `npm start` as a new user runs it: on a fresh data directory it comes up,
 * prints exactly the README's start-up block (the generated admin password
 * in a file, not on the console), PostgREST, behind the API edge on API_PORT,
 * lists the public tables and serves the seeded templates to an anonymous
 * request, SIGTERM stops everything cleanly, and a second start reuses the
 * data. A start that cannot run (a busy port) creates nothing.
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { interrupt, normalisedLines, readmeStartBlock, startStack, waitFor, type Started } from "../helpers/npm-start";
import { freePort } from "../setup/cluster";

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

  // A failed test must not leave its stack holding the ports and data directory for the next.
  afterEach(async () => {
    for (const s of running) {
      if (s.child.exitCode === null) {
        s.child.kill("SIGTERM");
        await s.exit;
      }
    }
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
    // Exactly the README's block, line for line: no PostgREST start-up lines
    // or readiness probe, no worker chatter, no line without its prefix.
    const startedOutput = first.output();
    expect(normalisedLines(startedOutput, dataDir)).toEqual(readmeStartBlock());
    expect(first.output()).toContain(`REST API:          ${api}/`);
    expect(first.output()).toContain(`realtime:          ws://127.0.0.1:${env.REALTIME_PORT}/realtime`);
    const hubHealth = await fetch(`http://127.0.0.1:${env.REALTIME_PORT}/health`);
    expect(hubHealth.status).toBe(200);
    expect(await hubHealth.json()).toMatchObject({ status: "ok", database: true, listening: true });
    expect(first.output()).toMatch(/database: +postgres:\/\/postgres:\*\*\*\*@127\.0\.0\.1:\d+\/jasaweb/);

    // The generated admin password is in a file only its owner may read, and nowhere in the output.
    const passwordFile = path.join(dataDir, "admin-password.txt");
    expect(first.output()).toContain(`admin:             admin@jasaweb.id, generated password in ${passwordFile}`);
    expect(fs.statSync(passwordFile).mode & 0o777).toBe(0o600);
    const adminPassword = fs.readFileSync(passwordFile, "utf8").trim();
    expect(adminPassword).toMatch(/^\S{12,}$/);
    expect(first.output()).not.toContain(adminPassword);
    const adminLogin = await fetch(`${api}/rpc/login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email: "admin@jasaweb.id", password: adminPassword }),
    });
    expect(adminLogin.status).toBe(200);
    expect(((await adminLogin.json()) as { user: { role: string } }).user.role).toBe("admin");

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

    // Under load no line per answer: a burst of bad logins, answered 401,
    // 429 and (every password-hash slot taken) 503 BUSY, prints nothing.
    const burst = await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        fetch(`${api}/rpc/login`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ email: `nobody${i}@example.id`, password: "wrong-password" }),
        }).then((r) => r.status),
      ),
    );
    expect(burst).toContain(503);

    // Requests, refused ones among them, print nothing.
    expect(first.output()).toBe(startedOutput);

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
    // The README's block without the first start's admin line.
    expect(normalisedLines(second.output(), dataDir)).toEqual(
      readmeStartBlock().filter((line) => !line.startsWith("[jasaweb] admin:")),
    );
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

  test.each([
    ["API_PORT", "the REST API"],
    ["REALTIME_PORT", "the realtime hub"],
    ["PG_PORT", "the embedded PostgreSQL"],
  ])("a busy %s on a fresh data directory is refused in one sentence, creating nothing", async (setting, part) => {
    const fresh = path.join(path.dirname(dataDir), `fresh-${setting}`);
    const holder = net.createServer();
    await new Promise<void>((resolve) => holder.listen(Number(env[setting]), "127.0.0.1", resolve));
    try {
      const refused = startStack({ ...env, JASAWEB_DATA_DIR: fresh });
      running.push(refused);
      expect(await refused.exit).toBe(1);
      expect(refused.output()).toBe(
        `[jasaweb] could not start: Port ${env[setting]} on 127.0.0.1 is already in use, so ${part} cannot listen ` +
          `on it: stop whatever holds it (another \`npm start\`?) or choose another port with ${setting}=<port>.\n`,
      );
      expect(fs.existsSync(fresh)).toBe(false);
    } finally {
      await new Promise((resolve) => holder.close(resolve));
    }
  });

  test("LOG_LEVEL=debug shows the parts' own logs, every line prefixed; ADMIN_PASSWORD given writes no file", async () => {
    const fresh = path.join(path.dirname(dataDir), "debug");
    const stack = startStack({
      ...env,
      JASAWEB_DATA_DIR: fresh,
      LOG_LEVEL: "debug",
      ADMIN_PASSWORD: "chosen-password-1",
    });
    running.push(stack);
    await waitFor(stack, /press Ctrl-C to stop/, 90_000);
    expect(fs.existsSync(path.join(fresh, "admin-password.txt"))).toBe(false);
    expect(stack.output()).not.toContain("[jasaweb] admin:");
    const login = await fetch(`http://127.0.0.1:${env.API_PORT}/rpc/login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email: "admin@jasaweb.id", password: "chosen-password-1" }),
    });
    expect(login.status).toBe(200);
    interrupt(stack);
    expect(await stack.exit).toBe(0);
    const lines = stack.output().trimEnd().split("\n");
    const prefixes = new Set(lines.map((line) => /^\[(\w+)\] /.exec(line)?.[1] ?? `no prefix: ${line}`));
    expect([...prefixes].sort()).toEqual(["jasaweb", "migrate", "postgres", "postgrest", "worker"]);
    expect(stack.output()).toMatch(/\[postgrest\] .*Schema cache loaded/);
    // PostgREST starts once: it is not asked over HTTP before its schema cache
    // is loaded (a 503 then made PostgREST 12.0.2 connect again).
    expect(stack.output().match(/Starting PostgREST/g)).toHaveLength(1);
    expect(stack.output()).not.toMatch(/"GET \/ HTTP\/1\.1" 503/);
    expect(stack.output()).toMatch(/\[jasaweb\] applied \d+ migration\(s\)/);
  }, 120_000);

  test("a bad setting is named, not thrown as a stack trace", async () => {
    const bad = startStack({ ...env, JWT_SECRET: "short" });
    running.push(bad);
    expect(await bad.exit).toBe(1);
    expect(bad.output()).toContain("JWT_SECRET must have at least 32 characters");
    const level = startStack({ ...env, LOG_LEVEL: "verbose" });
    running.push(level);
    expect(await level.exit).toBe(1);
    // Named, on a line of its own that still carries the prefix.
    expect(level.output()).toMatch(/^\[jasaweb\] +LOG_LEVEL: .*debug/m);
  });
});
