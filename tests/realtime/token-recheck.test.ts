/**
 * The hub's periodic re-check of its open sockets' tokens (README, Realtime:
 * WebSocket hub), every 200 ms here: a token signed out through PostgREST,
 * an account whose role an admin changed and an account an admin deleted
 * lose their sockets (an error frame, then close code 4003), within a few
 * intervals; other tokens, other users and a socket that moved to a fresh
 * token keep theirs. PostgreSQL, PostgREST and real `ws` sockets.
 */
import { CLOSE_CODES } from "../../realtime/close-codes";
import type { RealtimeHub } from "../../realtime/hub";
import { startApi, type TestApi } from "../helpers/api";
import { createAdmin, login, registerClient, type SignedIn } from "../helpers/auth";
import { createSeededDatabase, type TestDatabase } from "../helpers/database";
import { connectHub, type HubClient } from "../helpers/realtime-client";
import { startTestHub } from "../helpers/test-hub";

const RECHECK_MS = 200;
/** Far below the 30 s default interval, far above the test's: the re-check closed it. */
const CLOSED_WITHIN_MS = 5_000;

let db: TestDatabase;
let api: TestApi;
let hub: RealtimeHub;
let admin: SignedIn;
const open: HubClient[] = [];

beforeAll(async () => {
  db = await createSeededDatabase();
  api = await startApi(db);
  hub = await startTestHub(db.connections.worker, { tokenRecheckMs: RECHECK_MS });
  admin = await createAdmin(api, db);
});
afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.close()));
});
afterAll(async () => {
  await hub?.stop();
  await api?.stop();
  await db?.drop();
});

const connect = async (token: string): Promise<HubClient> => {
  const client = await connectHub(hub.url, token);
  open.push(client);
  await client.waitFor((f) => f.type === "replayed");
  return client;
};

/** The socket was closed by the re-check: the error frame `code` as its last frame, then 4003 with that reason. */
async function expectClosedByRecheck(client: HubClient, code: string): Promise<void> {
  expect(await client.waitForClose(CLOSED_WITHIN_MS)).toBe(CLOSE_CODES.tokenInvalidated);
  expect(client.closeReason()).toBe(code);
  expect(client.frames.at(-1)).toEqual({ type: "error", code, message: expect.any(String) });
}

/** A broadcast through PostgREST reaches every one of `clients` (so they are open and served). */
async function broadcastReaches(clients: HubClient[]): Promise<void> {
  const { status, body } = await api.request("/rpc/admin_broadcast", {
    method: "POST",
    body: JSON.stringify({ title: "Masih tersambung", message: "Pesan." }),
    token: admin.token,
  });
  expect(status).toBe(200);
  const id = (body as { id: number }).id;
  for (const client of clients) await client.waitFor((f) => f.type === "event" && f.id === id);
  for (const client of clients) expect(client.closed()).toBeUndefined();
}

test("a token signed out through PostgREST loses its socket (TOKEN_REVOKED, 4003); the user's other token and another user keep theirs", async () => {
  const alice = await registerClient(api);
  const aliceElsewhere = await login(api, alice.user.email, "password-123");
  const bob = await registerClient(api);
  const [signedOut, otherToken, other] = [
    await connect(alice.token),
    await connect(aliceElsewhere.token),
    await connect(bob.token),
  ];
  expect((await api.request("/rpc/logout", { method: "POST", token: alice.token })).status).toBeLessThan(300);
  await expectClosedByRecheck(signedOut, "TOKEN_REVOKED");
  // The same re-check looked at the other sockets and left them open.
  await broadcastReaches([otherToken, other]);
});

test("an account whose role an admin changed loses every socket (TOKEN_STALE_ROLE, 4003); another user keeps theirs", async () => {
  const dave = await registerClient(api);
  const daveAgain = await login(api, dave.user.email, "password-123");
  const erin = await registerClient(api);
  const [first, second, other] = [await connect(dave.token), await connect(daveAgain.token), await connect(erin.token)];
  const promoted = await api.request("/rpc/set_user_role", {
    method: "POST",
    body: JSON.stringify({ user_id: dave.user.id, role: "admin" }),
    token: admin.token,
  });
  expect(promoted.status).toBe(200);
  await expectClosedByRecheck(first, "TOKEN_STALE_ROLE");
  await expectClosedByRecheck(second, "TOKEN_STALE_ROLE");
  await broadcastReaches([other]);
});

test("an account an admin deleted loses its sockets (TOKEN_INVALID, 4003)", async () => {
  const fajar = await registerClient(api);
  const gita = await registerClient(api);
  const [doomed, other] = [await connect(fajar.token), await connect(gita.token)];
  const deleted = await api.request(`/users?id=eq.${fajar.user.id}`, { method: "DELETE", token: admin.token });
  expect(deleted.status).toBe(204);
  await expectClosedByRecheck(doomed, "TOKEN_INVALID");
  await broadcastReaches([other]);
});

test("a socket that moved to a fresh token (auth frame) stays open when its first token is signed out", async () => {
  const hana = await registerClient(api);
  const fresh = await login(api, hana.user.email, "password-123");
  const moved = await connect(hana.token);
  // A socket still on the old token shows when a re-check has seen it signed out.
  const canary = await connect(hana.token);
  moved.send({ type: "auth", token: fresh.token });
  await moved.waitFor((f) => f.type === "authenticated");
  expect((await api.request("/rpc/logout", { method: "POST", token: hana.token })).status).toBeLessThan(300);
  await expectClosedByRecheck(canary, "TOKEN_REVOKED");
  await broadcastReaches([moved]);
});
