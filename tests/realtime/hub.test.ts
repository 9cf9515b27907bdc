/**
 * The WebSocket hub with every real part: PostgreSQL, PostgREST (where the
 * changes are made, as users make them) and the hub started the way the
 * worker process starts it (startRealtimeHub as app_worker). Clients are
 * real `ws` sockets.
 */
import crypto from "node:crypto";
import type { RealtimeHub } from "../../realtime/hub";
import { CLOSE_CODES } from "../../realtime/close-codes";
import { startApi, type TestApi } from "../helpers/api";
import { createAdmin, registerClient, signToken, type SignedIn } from "../helpers/auth";
import { createSeededDatabase, type TestDatabase } from "../helpers/database";
import { connectHub, refusedUpgrade, type HubClient, type ServerFrame } from "../helpers/realtime-client";
import { startTestHub } from "../helpers/test-hub";

let db: TestDatabase;
let api: TestApi;
let hub: RealtimeHub;
let alice: SignedIn;
let bob: SignedIn;
let admin: SignedIn;
const open: HubClient[] = [];

beforeAll(async () => {
  db = await createSeededDatabase();
  api = await startApi(db);
  hub = await startTestHub(db.connections.worker, { maxPayloadBytes: 4096, maxFramesPerSecond: 20 });
  [alice, bob] = [await registerClient(api), await registerClient(api)];
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

const connect = async (who: SignedIn | string, via: "query" | "protocol" = "query") => {
  const client = await connectHub(hub.url, typeof who === "string" ? who : who.token, via);
  open.push(client);
  return client;
};

async function aliceProject(): Promise<string> {
  const [project] = await db.query<{ id: string }>(
    "insert into api.projects (user_id, name, type, status) values ($1, 'Situs Alice', 'company', 'in_progress') returning id",
    [alice.user.id],
  );
  return project!.id;
}

const setStatus = (projectId: string, status: string) =>
  api.request("/rpc/set_project_status", {
    method: "POST",
    body: JSON.stringify({ project_id: projectId, status }),
    token: admin.token,
  });

const isEvent =
  (event: string, test: (f: ServerFrame) => boolean = () => true) =>
  (f: ServerFrame) =>
    f.type === "event" && f.event === event && test(f);

/** A broadcast through PostgREST; resolves with its outbox id once `clients` all have it. */
async function broadcastReaching(clients: HubClient[], title: string): Promise<number> {
  const { status, body } = await api.request("/rpc/admin_broadcast", {
    method: "POST",
    body: JSON.stringify({ title, message: "Pesan untuk semua." }),
    token: admin.token,
  });
  expect(status).toBe(200);
  const id = (body as { id: number }).id;
  for (const client of clients) await client.waitFor((f) => f.type === "event" && f.id === id);
  return id;
}

describe("delivery", () => {
  test("a project_update reaches its owner within 100 ms of the commit, and the admin; another client gets nothing", async () => {
    const projectId = await aliceProject();
    const [a, b, adm] = [await connect(alice), await connect(bob, "protocol"), await connect(admin)];
    expect(a.socket.protocol).toBe("");
    expect(b.socket.protocol).toBe("jasaweb");
    const { status } = await setStatus(projectId, "review");
    // The request returns after its commit: from here to the frame is commit-to-client latency.
    const committed = Date.now();
    expect(status).toBe(200);
    const event = await a.waitFor(isEvent("project_update"));
    const latency = Date.now() - committed;
    expect(latency).toBeLessThan(100);
    expect(event).toEqual({
      type: "event",
      id: expect.any(Number),
      event: "project_update",
      room: `user:${alice.user.id}`,
      payload: { project_id: projectId, status: "review", previous_status: "in_progress" },
      created_at: expect.any(String),
    });
    const forAdmin = await adm.waitFor(isEvent("project_update"));
    expect(forAdmin).toMatchObject({ id: event.id, room: "admin" });
    // A later broadcast reaches bob: had the project_update been sent to him, it would have come before.
    const marker = await broadcastReaching([b], "Penanda");
    // Earlier broadcasts bob never acked are replayed to him on connect; nothing else is his.
    expect(b.events().filter((e) => e.event !== "admin_broadcast")).toEqual([]);
    expect(b.events().filter((e) => e.id === marker)).toHaveLength(1);
  });

  test("an admin_broadcast reaches every socket once, also a user's second socket and a socket in several of its rooms", async () => {
    const projectId = await aliceProject();
    const clients = [await connect(alice), await connect(alice), await connect(bob), await connect(admin)];
    clients[1]!.send({ type: "join", room: `project:${projectId}` });
    await clients[1]!.waitFor((f) => f.type === "joined" && f.room === `project:${projectId}`);
    const id = await broadcastReaching(clients, "Pemeliharaan");
    // A project update after it: once delivered, the broadcast can no longer be duplicated behind it.
    await setStatus(projectId, "review");
    // (Her sockets may also be replayed updates of earlier tests' projects that no socket acked.)
    const ofThisProject = (e: ServerFrame) =>
      e.type === "event" &&
      e.event === "project_update" &&
      (e.payload as { project_id?: string }).project_id === projectId;
    await clients[1]!.waitFor(ofThisProject);
    await clients[3]!.waitFor(ofThisProject);
    for (const client of clients) {
      const copies = client.events().filter((e) => e.id === id);
      expect(copies).toHaveLength(1);
      expect(copies[0]).toMatchObject({ event: "admin_broadcast", room: "all", payload: { title: "Pemeliharaan" } });
    }
    // alice's second socket is in user:alice and project:<id>, yet got the update once.
    expect(clients[1]!.events().filter(ofThisProject)).toHaveLength(1);
    expect(clients[2]!.events().filter((e) => e.event === "project_update")).toHaveLength(0);
  });
});

describe("rooms", () => {
  test("automatic rooms are announced; the owner and an admin may join a project's room, another client may not", async () => {
    const projectId = await aliceProject();
    const room = `project:${projectId}`;
    const [a, b, adm] = [await connect(alice), await connect(bob), await connect(admin)];
    expect(a.frames.filter((f) => f.type === "joined")).toEqual([{ type: "joined", room: `user:${alice.user.id}` }]);
    await adm.waitFor((f) => f.type === "joined" && f.room === "admin");

    b.send({ type: "join", room });
    expect(await b.waitFor((f) => f.type === "error")).toEqual({
      type: "error",
      code: "ROOM_FORBIDDEN",
      message: expect.any(String),
    });
    b.send({ type: "join", room: `user:${alice.user.id}` });
    b.send({ type: "join", room: "admin" });
    await b.waitFor(() => b.frames.filter((f) => f.type === "error" && f.code === "ROOM_FORBIDDEN").length === 3);

    for (const client of [a, adm]) {
      client.send({ type: "join", room });
      await client.waitFor((f) => f.type === "joined" && f.room === room);
    }
    adm.send({ type: "leave", room });
    await adm.waitFor((f) => f.type === "left" && f.room === room);
    adm.send({ type: "leave", room });
    await adm.waitFor((f) => f.type === "error" && f.code === "NOT_IN_ROOM");
    a.send({ type: "leave", room: `user:${alice.user.id}` });
    await a.waitFor((f) => f.type === "error" && f.code === "ROOM_NOT_LEAVABLE");
    // bob's refused join gave him nothing of alice's project.
    await setStatus(projectId, "review");
    await a.waitFor(isEvent("project_update", (f) => f.room === `user:${alice.user.id}`));
    const marker = await broadcastReaching([b], "Penanda");
    // Earlier broadcasts bob never acked are replayed to him on connect; nothing else is his.
    expect(b.events().filter((e) => e.event !== "admin_broadcast")).toEqual([]);
    expect(b.events().filter((e) => e.id === marker)).toHaveLength(1);
  });
});

describe("auth at the upgrade", () => {
  test("no token, a forged, an expired or a foreign-role token is refused with 401 or 403", async () => {
    expect(await refusedUpgrade(hub.url, undefined)).toEqual({
      status: 401,
      body: expect.objectContaining({ code: "TOKEN_MISSING" }),
    });
    const forged = await signToken({ role: "app_client", sub: alice.user.id }, { secret: "x".repeat(48) });
    expect((await refusedUpgrade(hub.url, forged)).body.code).toBe("TOKEN_INVALID");
    expect((await refusedUpgrade(hub.url, forged, "protocol")).status).toBe(401);
    expect((await refusedUpgrade(hub.url, "not.a.jwt")).status).toBe(401);
    const expired = await signToken({ role: "app_client", sub: alice.user.id }, { expiresIn: "-10s" });
    expect(await refusedUpgrade(hub.url, expired)).toEqual({
      status: 401,
      body: expect.objectContaining({ code: "TOKEN_EXPIRED" }),
    });
    const worker = await signToken({ role: "app_worker", sub: alice.user.id });
    expect(await refusedUpgrade(hub.url, worker)).toEqual({
      status: 403,
      body: expect.objectContaining({ code: "ROLE_NOT_ALLOWED" }),
    });
    const gone = await signToken({ role: "app_client", sub: crypto.randomUUID() });
    expect((await refusedUpgrade(hub.url, gone)).status).toBe(401);
  });

  test("a correctly signed token without exp is refused (401 TOKEN_INVALID), as PostgREST's pre-request hook refuses it", async () => {
    const forever = await signToken({ role: "app_client", sub: alice.user.id }, { expiresIn: null });
    expect(await refusedUpgrade(hub.url, forever)).toEqual({
      status: 401,
      body: expect.objectContaining({ code: "TOKEN_INVALID" }),
    });
    expect((await refusedUpgrade(hub.url, forever, "protocol")).status).toBe(401);
    // The same user with an expiring token is let in.
    await connect(await signToken({ role: "app_client", sub: alice.user.id }));
  });

  test("a token signed out with POST /rpc/logout is refused (401); one whose role changed with set_user_role too (403)", async () => {
    const carol = await registerClient(api);
    await connect(carol);
    expect((await api.request("/rpc/logout", { method: "POST", token: carol.token })).status).toBeLessThan(300);
    expect(await refusedUpgrade(hub.url, carol.token)).toEqual({
      status: 401,
      body: expect.objectContaining({ code: "TOKEN_REVOKED" }),
    });

    const dave = await registerClient(api);
    await connect(dave);
    const promoted = await api.request("/rpc/set_user_role", {
      method: "POST",
      body: JSON.stringify({ user_id: dave.user.id, role: "admin" }),
      token: admin.token,
    });
    expect(promoted.status).toBe(200);
    expect(await refusedUpgrade(hub.url, dave.token, "protocol")).toEqual({
      status: 403,
      body: expect.objectContaining({ code: "TOKEN_STALE_ROLE" }),
    });
  });

  test("a token that expires closes the socket with 4001; a fresh token for the same user keeps it open", async () => {
    const soon = await signToken({ role: "app_client", sub: alice.user.id }, { expiresIn: "2s" });
    const extended = await connect(soon);
    const closing = await connect(soon);
    extended.send({ type: "auth", token: bob.token });
    expect(await extended.waitFor((f) => f.type === "error")).toMatchObject({ code: "AUTH_USER_MISMATCH" });
    extended.send({ type: "auth", token: alice.token });
    expect(await extended.waitFor((f) => f.type === "authenticated")).toEqual({
      type: "authenticated",
      expires_at: expect.any(String),
    });
    expect(await closing.waitForClose()).toBe(CLOSE_CODES.tokenExpired);
    expect(extended.closed()).toBeUndefined();
    await broadcastReaching([extended], "Masih tersambung");
  });
});

describe("robustness", () => {
  test("garbage, unknown types, huge frames and a flood get errors or a close, and others still get their events", async () => {
    const [victim, garbage, huge, flood] = [
      await connect(bob),
      await connect(alice),
      await connect(alice),
      await connect(alice),
    ];
    garbage.send("{not json");
    garbage.send("[1,2]");
    garbage.send({ type: "dance" });
    garbage.send({ type: "ack", id: 7 });
    garbage.socket.send(Buffer.from([0, 1, 2]), { binary: true });
    await garbage.waitFor(() => garbage.frames.filter((f) => f.type === "error").length === 4);
    expect(garbage.frames.filter((f) => f.type === "error").map((f) => f.code)).toEqual([
      "BAD_FRAME",
      "BAD_FRAME",
      "UNKNOWN_TYPE",
      "BAD_FRAME",
    ]);
    huge.send({ type: "join", room: "x".repeat(10_000) });
    expect(await huge.waitForClose()).toBe(CLOSE_CODES.tooBig);
    for (let i = 0; i < 200; i++) flood.send({ type: "ack", id: i + 1 });
    expect(await flood.waitForClose()).toBe(CLOSE_CODES.flood);

    await broadcastReaching([victim, garbage], "Setelah gangguan");
    expect(victim.frames.filter((f) => f.type === "error")).toEqual([]);
    expect(victim.closed()).toBeUndefined();
    expect((await hub.health()).status).toBe("ok");
  });
});

describe("HTTP", () => {
  test("GET /health reports the database, LISTEN and the socket count; other paths are 404", async () => {
    await connect(alice);
    const base = hub.url.replace("ws://", "http://").replace("/realtime", "");
    const response = await fetch(`${base}/health`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: "ok", database: true, listening: true, sockets: 1 });
    expect((await fetch(`${base}/other`)).status).toBe(404);
    expect((await refusedUpgrade(`${base.replace("http", "ws")}/elsewhere`, alice.token)).status).toBe(404);
  });
});

describe("connection records and heartbeats", () => {
  type Row = {
    user_id: string;
    role: string;
    ip_address: string;
    user_agent: string;
    rooms: string[];
    is_alive: boolean;
  };
  const rowOf = async (userId: string): Promise<Row[]> =>
    db.query<Row>(
      `select user_id, role::text, ip_address, user_agent, rooms, is_alive from api.websocket_connections
        where user_id = $1 order by connected_at`,
      [userId],
    );
  const memberships = (userId: string) =>
    db.query<{ room_id: string }>(
      `select m.room_id from api.websocket_room_memberships m join api.websocket_connections c using (connection_id)
        where c.user_id = $1 order by 1`,
      [userId],
    );
  async function eventually<T>(what: string, probe: () => Promise<T>, ok: (v: T) => boolean): Promise<T> {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const value = await probe();
      if (ok(value)) return value;
      if (Date.now() > deadline) throw new Error(`${what}: still ${JSON.stringify(value)} after 20 s`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  test("a socket gets a row with its user, role, address, agent and rooms; joins and leaves are mirrored; a close marks it not alive", async () => {
    const erin = await registerClient(api);
    const [project] = await db.query<{ id: string }>(
      "insert into api.projects (user_id, name, type) values ($1, 'Situs Erin', 'company') returning id",
      [erin.user.id],
    );
    const room = `project:${project!.id}`;
    const client = await connect(erin);
    const [row] = await eventually(
      "the row",
      () => rowOf(erin.user.id),
      (r) => r.length === 1,
    );
    expect(row).toEqual({
      user_id: erin.user.id,
      role: "client",
      ip_address: expect.stringMatching(/127\.0\.0\.1/),
      user_agent: null,
      rooms: [`user:${erin.user.id}`],
      is_alive: true,
    });
    client.send({ type: "join", room });
    await client.waitFor((f) => f.type === "joined" && f.room === room);
    await eventually(
      "the join",
      () => rowOf(erin.user.id),
      (r) => r[0]!.rooms.length === 2,
    );
    expect((await memberships(erin.user.id)).map((m) => m.room_id)).toEqual([room, `user:${erin.user.id}`].sort());
    client.send({ type: "leave", room });
    await eventually(
      "the leave",
      () => rowOf(erin.user.id),
      (r) => r[0]!.rooms.length === 1,
    );
    await client.close();
    const [closed] = await eventually(
      "the close",
      () => rowOf(erin.user.id),
      (r) => !r[0]!.is_alive,
    );
    expect(closed!.rooms).toEqual([`user:${erin.user.id}`]);
    expect(await memberships(erin.user.id)).toEqual([]);
  });

  test("a live socket whose row the cleanup marked not alive (its hub cut off for minutes) is alive again, with its rooms, at its next sign of life", async () => {
    const fina = await registerClient(api);
    const [project] = await db.query<{ id: string }>(
      "insert into api.projects (user_id, name, type) values ($1, 'Situs Fina', 'company') returning id",
      [fina.user.id],
    );
    const room = `project:${project!.id}`;
    const client = await connect(fina);
    client.send({ type: "join", room });
    await client.waitFor((f) => f.type === "joined" && f.room === room);
    await eventually(
      "the join",
      () => rowOf(fina.user.id),
      (r) => r[0]?.rooms.length === 2,
    );
    // What realtime__cleanup does to a row silent for 3 minutes.
    await db.query(
      `with gone as (delete from api.websocket_room_memberships m using api.websocket_connections c
                      where m.connection_id = c.connection_id and c.user_id = $1)
       update api.websocket_connections set is_alive = false, rooms = '{}' where user_id = $1`,
      [fina.user.id],
    );
    client.send({ type: "leave", room: "project:00000000-0000-4000-8000-000000000000" });
    const [revived] = await eventually(
      "the revival",
      () => rowOf(fina.user.id),
      (r) => r[0]!.is_alive,
    );
    expect(revived!.rooms).toEqual([room, `user:${fina.user.id}`].sort());
    expect((await memberships(fina.user.id)).map((m) => m.room_id)).toEqual([room, `user:${fina.user.id}`].sort());
    // A closed socket is not revived by a late sign of life.
    await client.close();
    await eventually(
      "the close",
      () => rowOf(fina.user.id),
      (r) => !r[0]!.is_alive,
    );
  });

  test("a socket that stops answering pings is terminated and marked not alive; one that answers stays", async () => {
    const second = await startTestHub(db.connections.worker, { heartbeatMs: 200 });
    try {
      const frank = await registerClient(api);
      const grace = await registerClient(api);
      const silent = await connectHub(second.url, frank.token);
      const lively = await connectHub(second.url, grace.token);
      // This client's ws no longer answers pings (as if its network went away).
      silent.socket.pong = () => undefined;
      expect(await silent.waitForClose()).toBe(1006);
      await eventually(
        "frank's row",
        () => rowOf(frank.user.id),
        (r) => r.length === 1 && !r[0]!.is_alive,
      );
      expect(lively.closed()).toBeUndefined();
      expect((await rowOf(grace.user.id))[0]!.is_alive).toBe(true);
      // Delivered by the second hub as well: each hub serves its own sockets.
      await broadcastReaching([lively], "Dua hub");
      await lively.close();
    } finally {
      await second.stop();
    }
  });
});
