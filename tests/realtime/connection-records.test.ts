/**
 * The hub's batched records (realtime/connection-records.ts) as app_worker
 * writes them: a batch written again (its commit's answer lost in an outage)
 * loses nothing, and a record the database refuses costs only itself, not
 * the other sockets' records and acks of its batch; a batch whose connection
 * the server ends mid-transaction (a shutdown) is kept, and the process lives.
 */
import crypto from "node:crypto";
import { connectionRecords, type ConnectionRecords } from "../../realtime/connection-records";
import { APPLICATION_NAMES } from "../../realtime/database";
import { startApi, type TestApi } from "../helpers/api";
import { registerClient, type SignedIn } from "../helpers/auth";
import { createSeededDatabase, type TestDatabase } from "../helpers/database";
import { until } from "../helpers/until";

let db: TestDatabase;
let api: TestApi;
let records: ConnectionRecords;
const errors: string[] = [];

beforeAll(async () => {
  db = await createSeededDatabase();
  api = await startApi(db);
  // Flushed by the tests (the timer's interval is beyond their length).
  records = connectionRecords(db.connections.worker, {
    flushIntervalMs: 600_000,
    onError: (error) => errors.push((error as Error).message),
  });
});
afterAll(async () => {
  await records?.stop();
  await api?.stop();
  await db?.drop();
});

const opened = (connectionId: string, who: SignedIn) =>
  records.opened({
    connectionId,
    userId: who.user.id,
    role: "client",
    ip: "203.0.113.5",
    userAgent: null,
    rooms: [`user:${who.user.id}`],
  });

/** A notification for the user; resolves with its outbox message id. */
async function notify(userId: string): Promise<number> {
  const [row] = await db.query<{ id: string }>(
    `insert into api.real_time_notifications (user_id, type, title, message)
     values ($1, 'new_feature', 'Judul', 'Isi.') returning id`,
    [userId],
  );
  const [message] = await db.query<{ id: string }>(
    "select id from app_private.realtime_messages where payload ->> 'notification_id' = $1",
    [row!.id],
  );
  return Number(message!.id);
}

const acked = async (userId: string, messageId: number) =>
  (
    await db.query<{ delivered: boolean }>(
      "select delivered_at is not null as delivered from app_private.realtime_deliveries where user_id = $1 and message_id = $2",
      [userId, messageId],
    )
  )[0]?.delivered ?? false;

test("a batch written again (its commit's answer lost) loses nothing and writes its socket's row once", async () => {
  const alice = await registerClient(api);
  const socket = crypto.randomUUID();
  opened(socket, alice);
  await records.flush();
  const message = await notify(alice.user.id);
  // The same batch again, as after a lost answer to its commit, with an ack queued since.
  opened(socket, alice);
  records.sent(socket, message, `user:${alice.user.id}`);
  records.acked(socket, alice.user.id, message);
  await records.flush();
  expect(await acked(alice.user.id, message)).toBe(true);
  expect(await db.query("select is_alive from api.websocket_connections where connection_id = $1", [socket])).toEqual([
    { is_alive: true },
  ]);
  expect(errors).toEqual([]);
});

test("a record refused by the database (the room of a socket whose account was just deleted) costs only itself", async () => {
  const [gone, bob] = [await registerClient(api), await registerClient(api)];
  const [goneSocket, bobSocket] = [crypto.randomUUID(), crypto.randomUUID()];
  opened(goneSocket, gone);
  await records.flush();
  // The account is deleted (its socket's row goes with it) while its join is still queued.
  await db.query("delete from api.users where id = $1", [gone.user.id]);
  const [project] = await db.query<{ id: string }>(
    "insert into api.projects (user_id, name, type) values ($1, 'Situs Bob', 'company') returning id",
    [bob.user.id],
  );
  records.joined(goneSocket, `project:${project!.id}`);
  opened(bobSocket, bob);
  const message = await notify(bob.user.id);
  records.sent(bobSocket, message, `user:${bob.user.id}`);
  records.acked(bobSocket, bob.user.id, message);
  await records.flush();

  expect(errors.some((e) => e.includes("websocket_room_memberships"))).toBe(true);
  expect(await acked(bob.user.id, message)).toBe(true);
  expect(
    await db.query("select is_delivered from api.websocket_events where connection_id = $1 and message_id = $2", [
      bobSocket,
      message,
    ]),
  ).toEqual([{ is_delivered: true }]);
  expect(await db.query("select 1 from api.websocket_room_memberships where connection_id = $1", [goneSocket])).toEqual(
    [],
  );
});

test("a batch whose connection the server ends mid-transaction (as a shutdown does) is kept and written later; nothing crashes", async () => {
  const ivan = await registerClient(api);
  const socket = crypto.randomUUID();
  const errorsBefore = errors.length;
  // The batch waits on a lock the test holds, so that it is in flight when its connection is ended.
  const blocker = await db.pool.connect();
  try {
    await blocker.query("begin");
    await blocker.query("lock table api.websocket_connections in access exclusive mode");
    opened(socket, ivan);
    const flushed = records.flush();
    const [backend] = await until("the batch waiting on the lock", async () => {
      const rows = await db.query<{ pid: number }>(
        "select pid from pg_stat_activity where application_name = $1 and wait_event_type = 'Lock'",
        [APPLICATION_NAMES.records],
      );
      return rows.length ? rows : undefined;
    });
    // FATAL 57P01 to that backend, then its socket closes: what each session gets in a fast shutdown.
    await db.query("select pg_terminate_backend($1)", [backend!.pid]);
    await flushed;
  } finally {
    await blocker.query("rollback");
    blocker.release();
  }
  expect(errors.slice(errorsBefore).join("\n")).toContain("terminating connection due to administrator command");
  await records.flush();
  expect(await db.query("select is_alive from api.websocket_connections where connection_id = $1", [socket])).toEqual([
    { is_alive: true },
  ]);
});
