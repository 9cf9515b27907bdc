/**
 * `npm run simulator` as a user runs it: it prints its URL, server key and
 * how to pay, serves midtrans-client, and exits 0 on SIGTERM; a bad setting
 * or a taken port is one line without a stack trace.
 */
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import net from "node:net";
import { projectRoot } from "../../config/paths";
import { freePort } from "../../services/ports";
import { coreApiFor } from "../helpers/midtrans-client";
import { orderId, qrisCharge } from "../helpers/simulator";

type Started = {
  child: ChildProcessWithoutNullStreams;
  stdout: () => string;
  stderr: () => string;
  exit: Promise<number | null>;
};

const running: Started[] = [];

/** The caller's environment without SIMULATOR_* settings, so only the test's own apply. */
const withoutSimulatorSettings = (env: NodeJS.ProcessEnv) =>
  Object.fromEntries(Object.entries(env).filter(([name]) => !name.startsWith("SIMULATOR_")));

function runSimulator(env: Record<string, string>): Started {
  // The command of `npm run simulator`, without npm in between.
  const child = spawn(process.execPath, ["--import", "tsx", "stack/simulator.ts"], {
    cwd: projectRoot,
    env: { ...withoutSimulatorSettings(process.env), ...env },
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
  child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
  const exit = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  const started = { child, stdout: () => stdout, stderr: () => stderr, exit };
  running.push(started);
  return started;
}

async function waitForOutput(started: Started, pattern: RegExp, timeoutMs = 30_000): Promise<RegExpMatchArray> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = started.stdout().match(pattern);
    if (found) return found;
    if (started.child.exitCode !== null) throw new Error(`exited early:\n${started.stdout()}${started.stderr()}`);
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${pattern}:\n${started.stdout()}${started.stderr()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

afterAll(async () => {
  for (const s of running) {
    if (s.child.exitCode === null) {
      s.child.kill("SIGKILL");
      await s.exit;
    }
  }
});

test("prints its URL, key and how to pay; serves midtrans-client; SIGTERM exits 0", async () => {
  const port = await freePort();
  const started = runSimulator({ SIMULATOR_PORT: String(port), SIMULATOR_SERVER_KEY: "SB-Mid-server-spawned" });
  const [, url] = await waitForOutput(started, /Midtrans simulator \(Core API v2\): (\S+)/);
  expect(url).toBe(`http://127.0.0.1:${port}`);
  await waitForOutput(started, /Ctrl-C to stop/);
  expect(started.stdout()).toContain("server key:    SB-Mid-server-spawned");
  expect(started.stdout()).toContain(`open ${url}/ and press Pay`);
  expect(started.stdout()).toContain(`curl -X POST ${url}/simulate/pay/<order_id>`);

  const core = coreApiFor(url!, { serverKey: "SB-Mid-server-spawned" });
  const order = orderId("spawned");
  expect(await core.charge(qrisCharge(order, 275000))).toMatchObject({ status_code: "201", order_id: order });
  await waitForOutput(started, /POST \/v2\/charge → HTTP 200, status_code 201/);

  started.child.kill("SIGTERM");
  expect(await started.exit).toBe(0);
  expect(started.stderr()).toBe("");
});

test.each([
  [{ SIMULATOR_PORT: "abc" }, /^simulator: Invalid setting SIMULATOR_PORT="abc": must be a port number \(0–65535\)\.$/],
  [{ SIMULATOR_NOTIFICATION_RETRY_SCALE: "2" }, /^simulator: Invalid setting SIMULATOR_NOTIFICATION_RETRY_SCALE="2": /],
  [{ SIMULATOR_NOTIFICATION_URL: "not a url" }, /^simulator: Invalid setting SIMULATOR_NOTIFICATION_URL="not a url": /],
])("a bad setting %j is named in one line, without a stack trace, exit 1", async (env, message) => {
  const started = runSimulator(env);
  expect(await started.exit).toBe(1);
  const lines = started.stderr().trimEnd().split("\n");
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(message);
});

test("a port in use is one line saying what to do", async () => {
  const holder = net.createServer();
  await new Promise<void>((resolve) => holder.listen(0, "127.0.0.1", resolve));
  const { port } = holder.address() as net.AddressInfo;
  try {
    const started = runSimulator({ SIMULATOR_PORT: String(port) });
    expect(await started.exit).toBe(1);
    expect(started.stderr().trimEnd().split("\n")).toEqual([
      expect.stringMatching(
        new RegExp(`^simulator: Port ${port} on 127\\.0\\.0\\.1 is already in use.*SIMULATOR_PORT=<port>\\.$`),
      ),
    ]);
  } finally {
    await new Promise((r) => holder.close(r));
  }
});
