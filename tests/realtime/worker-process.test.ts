/**
 * The hub as the stand-alone worker process runs it (`node --import tsx
 * stack/worker.ts`, what `npm run worker` runs, with JWT_SECRET), next to a
 * second hub on the same database: a broadcast through PostgREST reaches a
 * client on either exactly once; SIGTERM closes the process's sockets with
 * 1001, marks them not alive and exits 0.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { projectRoot } from "../../config/paths";
import { CLOSE_CODES } from "../../realtime/close-codes";
import type { RealtimeHub } from "../../realtime/hub";
import { startApi, type TestApi } from "../helpers/api";
import { createAdmin, registerClient, type SignedIn } from "../helpers/auth";
import { createSeededDatabase, type TestDatabase } from "../helpers/database";
import { connectHub } from "../helpers/realtime-client";
import { freePort, TEST_JWT_SECRET } from "../setup/cluster";
import { startTestHub } from "../helpers/test-hub";

let db: TestDatabase;
let api: TestApi;
let other: RealtimeHub;
let admin: SignedIn;
let child: ChildProcess | undefined;

beforeAll(async () => {
  db = await createSeededDatabase();
  api = await startApi(db);
  other = await startTestHub(db.connections.worker);
  admin = await createAdmin(api, db);
});
afterAll(async () => {
  if (child && child.exitCode === null) child.kill("SIGKILL");
  await other?.stop();
  await api?.stop();
  await db?.drop();
});

test("the worker process runs a hub; with a second hub, each client gets a broadcast exactly once; SIGTERM closes with 1001", async () => {
  const port = await freePort();
  const { DATABASE_URL: _ignored, ...inherited } = process.env;
  child = spawn(process.execPath, ["--import", "tsx", "stack/worker.ts"], {
    cwd: projectRoot,
    env: {
      ...inherited,
      WORKER_DATABASE_URL: db.connections.worker,
      JWT_SECRET: TEST_JWT_SECRET,
      REALTIME_PORT: String(port),
      WORKER_SHUTDOWN_TIMEOUT_MS: "1500",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child!.on("exit", (code) => resolve(code)));
  const deadline = Date.now() + 30_000;
  while (!output.includes("worker: realtime hub on")) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`the worker's hub did not start:\n${output}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const url = `ws://127.0.0.1:${port}/realtime`;
  expect(output).toContain(`worker: realtime hub on ${url}`);

  const alice = await registerClient(api);
  const bob = await registerClient(api);
  const onWorker = await connectHub(url, alice.token);
  const onOther = await connectHub(other.url, bob.token);
  const { status, body } = await api.request("/rpc/admin_broadcast", {
    method: "POST",
    body: JSON.stringify({ title: "Dua instans", message: "Sekali saja." }),
    token: admin.token,
  });
  expect(status).toBe(200);
  const id = (body as { id: number }).id;
  for (const client of [onWorker, onOther]) await client.waitFor((f) => f.type === "event" && f.id === id);
  // A second broadcast after it: the first cannot still arrive twice behind it.
  const second = await api.request("/rpc/admin_broadcast", {
    method: "POST",
    body: JSON.stringify({ title: "Penanda", message: "Sesudahnya." }),
    token: admin.token,
  });
  const secondId = (second.body as { id: number }).id;
  for (const client of [onWorker, onOther]) {
    await client.waitFor((f) => f.type === "event" && f.id === secondId);
    expect(client.events().map((e) => e.id)).toEqual([id, secondId]);
  }

  child.kill("SIGTERM");
  expect(await onWorker.waitForClose()).toBe(CLOSE_CODES.goingAway);
  expect(await exited).toBe(0);
  expect(await db.query("select is_alive from api.websocket_connections where user_id = $1", [alice.user.id])).toEqual([
    { is_alive: false },
  ]);
  // The other hub's client is untouched.
  expect(onOther.closed()).toBeUndefined();
  await onOther.close();
});
