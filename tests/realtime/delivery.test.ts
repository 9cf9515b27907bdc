/**
 * At-least-once delivery (README, Realtime: delivery and the offline queue):
 * delivery records and acks, and the replay of what a user missed, with every
 * real part: PostgreSQL, PostgREST (to sign users up), the hub as the worker
 * runs it, and real `ws` clients. Notifications are created as the business
 * functions create them, by inserting api.real_time_notifications rows (the
 * table's trigger writes the outbox message).
 */
import type { RealtimeHub } from "../../realtime/hub";
import { startApi, type TestApi } from "../helpers/api";
import { createAdmin, registerClient, type SignedIn } from "../helpers/auth";
import { createSeededDatabase, type TestDatabase } from "../helpers/database";
import { connectHub, type HubClient, type ServerFrame } from "../helpers/realtime-client";
import { until } from "../helpers/until";
import { startTestHub } from "../helpers/test-hub";

let db: TestDatabase;
let api: TestApi;
let hub: RealtimeHub;
const open: HubClient[] = [];

beforeAll(async () => {
  db = await createSeededDatabase();
  api = await startApi(db);
  hub = await startTestHub(db.connections.worker);
});
afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.close()));
});
afterAll(async () => {
  await hub?.stop();
  await api?.stop();
  await db?.drop();
});

/** Connects (token in Sec-WebSocket-Protocol, so the URL can carry last_id) and waits for the replay. */
async function connect(who: SignedIn, lastId?: number): Promise<{ client: HubClient; replayed: ServerFrame[] }> {
  const url = lastId === undefined ? hub.url : `${hub.url}?last_id=${lastId}`;
  const client = await connectHub(url, who.token, "protocol");
  open.push(client);
  const done = await client.waitFor((f) => f.type === "replayed");
  // The replay is sent in one go right before its "replayed" frame. A message committed just
  // before the connect may also come live, ahead of it (clients de-duplicate by id): not counted.
  const before = client.frames.slice(0, client.frames.indexOf(done)).filter((f) => f.type === "event");
  const count = done.count as number;
  const replayed = count === 0 ? [] : before.slice(-count);
  expect(replayed).toHaveLength(count);
  return { client, replayed };
}

/** A notification for the user (its own transaction); resolves with its outbox message id. */
async function notify(userId: string, title: string, priority = "medium"): Promise<number> {
  const [row] = await db.query<{ id: string }>(
    `insert into api.real_time_notifications (user_id, type, title, message, priority)
     values ($1, 'new_feature', $2, 'Isi pemberitahuan.', $3) returning id`,
    [userId, title, priority],
  );
  const [message] = await db.query<{ id: string }>(
    "select id from app_private.realtime_messages where payload ->> 'notification_id' = $1",
    [row!.id],
  );
  return Number(message!.id);
}

const eventRows = (messageId: number) =>
  db.query<{ connection_id: string; event_type: string; is_delivered: boolean; delivered: boolean }>(
    `select connection_id, event_type, is_delivered, delivered_at is not null as delivered
       from api.websocket_events where message_id = $1 order by created_at`,
    [messageId],
  );

const ids = (frames: ServerFrame[]) => frames.map((f) => f.id);

test("notifications made while a client was offline arrive on reconnect, critical first then oldest; acked ones are not replayed again", async () => {
  const alice = await registerClient(api);
  const low = await notify(alice.user.id, "Rendah", "low");
  const critical = await notify(alice.user.id, "Kritis", "critical");
  const medium = await notify(alice.user.id, "Sedang", "medium");
  const high1 = await notify(alice.user.id, "Tinggi 1", "high");
  const high2 = await notify(alice.user.id, "Tinggi 2", "high");

  const { client, replayed } = await connect(alice);
  expect(ids(replayed)).toEqual([critical, high1, high2, medium, low]);
  expect(replayed[0]).toMatchObject({ type: "event", event: "notification", room: `user:${alice.user.id}` });
  for (const id of ids(replayed)) client.send({ type: "ack", id });
  await until("the acks were recorded", async () => {
    const [row] = await db.query<{ n: string }>(
      "select count(*) as n from app_private.realtime_deliveries where user_id = $1 and delivered_at is not null",
      [alice.user.id],
    );
    return Number(row!.n) === 5 ? true : undefined;
  });
  await client.close();

  const again = await connect(alice);
  expect(again.replayed).toEqual([]);
});

test("an expired notification is not replayed; one still valid is", async () => {
  const bob = await registerClient(api);
  const expired = await notify(bob.user.id, "Sudah kedaluwarsa");
  const valid = await notify(bob.user.id, "Masih berlaku");
  await db.query(
    "update app_private.realtime_messages set expires_at = created_at + interval '1 millisecond' where id = $1",
    [expired],
  );
  const { replayed } = await connect(bob);
  expect(ids(replayed)).toEqual([valid]);
});

test("a message never acked is replayed on each of max_attempts (5) reconnects, then no longer", async () => {
  const carol = await registerClient(api);
  const id = await notify(carol.user.id, "Tidak pernah di-ack");
  for (let attempt = 1; attempt <= 5; attempt++) {
    const { client, replayed } = await connect(carol);
    expect(ids(replayed)).toEqual([id]);
    await client.close();
  }
  const [state] = await db.query<{ attempts: number; max_attempts: number; delivered_at: Date | null }>(
    "select attempts, max_attempts, delivered_at from app_private.realtime_deliveries where user_id = $1 and message_id = $2",
    [carol.user.id, id],
  );
  expect(state).toEqual({ attempts: 5, max_attempts: 5, delivered_at: null });
  const { replayed } = await connect(carol);
  expect(replayed).toEqual([]);
});

test("a socket dropped between send and ack gets the message again on reconnect; it is marked delivered only once acked", async () => {
  const dewi = await registerClient(api);
  const first = await connect(dewi);
  expect(first.replayed).toEqual([]);
  const id = await notify(dewi.user.id, "Terputus sebelum ack", "high");
  await first.client.waitFor((f) => f.type === "event" && f.id === id);
  first.client.socket.terminate();
  await first.client.waitForClose();

  // Sent once, not delivered.
  const sent = await until("the send was recorded", async () => {
    const rows = await eventRows(id);
    return rows.length === 1 ? rows : undefined;
  });
  expect(sent[0]).toMatchObject({ event_type: "notification", is_delivered: false, delivered: false });

  const second = await connect(dewi);
  expect(ids(second.replayed)).toEqual([id]);
  const beforeAck = await until("the replay was recorded", async () => {
    const rows = await eventRows(id);
    return rows.length === 2 ? rows : undefined;
  });
  expect(beforeAck.map((r) => r.is_delivered)).toEqual([false, false]);

  second.client.send({ type: "ack", id });
  const afterAck = await until("the ack was recorded", async () => {
    const rows = await eventRows(id);
    return rows[1]?.is_delivered ? rows : undefined;
  });
  // Only the socket that acked has it delivered.
  expect(afterAck.map((r) => [r.is_delivered, r.delivered])).toEqual([
    [false, false],
    [true, true],
  ]);
  await second.client.close();
  expect((await connect(dewi)).replayed).toEqual([]);
});

test("last_id on connect counts as the ack of the message the client last saw", async () => {
  const eko = await registerClient(api);
  const seen = await notify(eko.user.id, "Sudah dilihat");
  const unseen = await notify(eko.user.id, "Belum dilihat");
  const { replayed } = await connect(eko, seen);
  expect(ids(replayed)).toEqual([unseen]);
});

test("another user's message id sent as an ack or last_id changes nothing for its owner", async () => {
  const fajar = await registerClient(api);
  const gita = await registerClient(api);
  const forGita = await notify(gita.user.id, "Untuk Gita");
  const { client } = await connect(fajar, forGita);
  client.send({ type: "ack", id: forGita });
  // Acks are written every 100 ms here: five flushes pass before Gita connects.
  await new Promise((r) => setTimeout(r, 500));
  await client.close();
  expect(ids((await connect(gita)).replayed)).toEqual([forGita]);
});

type QueueRow = {
  user_id: string;
  message_id: number;
  event_type: string;
  priority: string;
  attempts: number;
  max_attempts: number;
  expires_at: string;
};
const queueOf = async (who: SignedIn, query = "") => {
  const { status, body } = await api.request(
    `/websocket_message_queue?select=user_id,message_id,event_type,priority,attempts,max_attempts,expires_at${query}`,
    { token: who.token },
  );
  expect(status).toBe(200);
  return body as QueueRow[];
};

test("GET /websocket_message_queue shows what the hub owes: a client its own messages, an admin everyone's; acked, expired and given-up ones leave it", async () => {
  const hana = await registerClient(api);
  const indra = await registerClient(api);
  const admin = await createAdmin(api, db);
  const low = await notify(hana.user.id, "Rendah", "low");
  const critical = await notify(hana.user.id, "Kritis", "critical");
  const expired = await notify(hana.user.id, "Kedaluwarsa");
  const twoTries = await notify(hana.user.id, "Dua kali saja", "high");
  const forIndra = await notify(indra.user.id, "Untuk Indra");
  await db.query(
    "update app_private.realtime_messages set expires_at = created_at + interval '1 millisecond' where id = $1",
    [expired],
  );
  await db.query("update app_private.realtime_messages set max_attempts = 2 where id = $1", [twoTries]);

  const own = await queueOf(hana, "&order=message_id");
  expect(own.map((r) => [r.message_id, r.user_id, r.event_type, r.priority, r.attempts, r.max_attempts])).toEqual([
    [low, hana.user.id, "notification", "low", 0, 5],
    [critical, hana.user.id, "notification", "critical", 0, 5],
    [twoTries, hana.user.id, "notification", "high", 0, 2],
  ]);
  expect((await queueOf(indra)).map((r) => r.message_id)).toEqual([forIndra]);
  const seenByAdmin = await queueOf(admin, `&user_id=in.(${hana.user.id},${indra.user.id})&order=message_id`);
  expect(seenByAdmin.map((r) => r.message_id)).toEqual([low, critical, twoTries, forIndra]);
  // Anonymous callers have no queue; nobody writes it through the API (refused by the grants, never a 500).
  expect((await api.request("/websocket_message_queue")).status).toBe(401);
  for (const [who, status] of [
    [hana, 403],
    [admin, 403],
  ] as const) {
    for (const method of ["DELETE", "PATCH", "POST"]) {
      const { status: got, body } = await api.request(`/websocket_message_queue?message_id=eq.${low}`, {
        method,
        token: who.token,
        body: method === "DELETE" ? undefined : JSON.stringify({ priority: "critical" }),
      });
      expect([method, got, (body as { code: string }).code]).toEqual([method, status, "42501"]);
    }
  }
  expect((await api.request("/websocket_message_queue", { method: "DELETE" })).status).toBe(401);

  // A replay counts an attempt each; an ack removes the message.
  const first = await connect(hana);
  expect(ids(first.replayed)).toEqual([critical, twoTries, low]);
  first.client.send({ type: "ack", id: critical });
  await until("the ack was recorded", async () => {
    const rows = await queueOf(hana);
    return rows.some((r) => r.message_id === critical) ? undefined : rows;
  });
  await first.client.close();
  expect((await queueOf(hana, "&order=message_id")).map((r) => [r.message_id, r.attempts])).toEqual([
    [low, 1],
    [twoTries, 1],
  ]);

  // The message with max_attempts 2 is replayed once more, then given up.
  const second = await connect(hana);
  expect(ids(second.replayed)).toEqual([twoTries, low]);
  await second.client.close();
  expect((await queueOf(hana)).map((r) => [r.message_id, r.attempts])).toEqual([[low, 2]]);
  expect(ids((await connect(hana)).replayed)).toEqual([low]);
});

test("a client that acks each of 150 replayed messages at once stays connected (acks of sent events are not a flood), and nothing is replayed again", async () => {
  const joko = await registerClient(api);
  const ids150: number[] = [];
  for (let i = 0; i < 150; i++) ids150.push(await notify(joko.user.id, `Pesan ${i}`));
  const { client, replayed } = await connect(joko);
  expect(replayed).toHaveLength(150);
  for (const frame of replayed) client.send({ type: "ack", id: frame.id });
  await until("every ack was recorded", async () => {
    const [row] = await db.query<{ n: string }>(
      "select count(*) as n from app_private.realtime_deliveries where user_id = $1 and delivered_at is not null",
      [joko.user.id],
    );
    return Number(row!.n) === 150 ? true : undefined;
  });
  expect(client.closed()).toBeUndefined();
  await client.close();
  expect((await connect(joko)).replayed).toEqual([]);
});

test("acks of ids the socket was not sent still count against the flood limit (4008)", async () => {
  const lia = await registerClient(api);
  const { client } = await connect(lia);
  for (let i = 0; i < 60; i++) client.send({ type: "ack", id: 1_000_000 + i });
  expect(await client.waitForClose()).toBe(4008);
});
