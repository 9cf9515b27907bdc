/**
 * The hub's records of its sockets: a row per socket in
 * api.websocket_connections and its rooms in api.websocket_room_memberships
 * (app_worker's own grants and policies), and the delivery records: each
 * message sent to a socket and each ack (app_hidden.realtime_record_deliveries,
 * written after the batch's connection rows, so a socket's row exists before
 * its events). Writes are queued and flushed in
 * batches on a timer, one transaction per batch, so that they never delay
 * delivery; a batch that fails (database away) is kept and tried again, so
 * every write is idempotent (a batch whose commit's answer was lost is
 * written again). A batch refused for its data (SQLSTATE 22/23: e.g. the
 * room of a socket whose account was just deleted) is written again one
 * record at a time, so that only the refused record is lost.
 */
import { Pool } from "pg";
import { APPLICATION_NAMES } from "./database";

type Op =
  | {
      kind: "opened";
      connectionId: string;
      userId: string;
      role: "admin" | "client";
      ip: string | null;
      userAgent: string | null;
      rooms: string[];
    }
  | { kind: "joined" | "left"; connectionId: string; room: string }
  | { kind: "closed"; connectionId: string }
  | { kind: "sent"; connectionId: string; messageId: number; room: string }
  | { kind: "acked"; connectionId: string; userId: string; messageId: number };

export type ConnectionRecords = {
  opened(record: Omit<Extract<Op, { kind: "opened" }>, "kind">): void;
  joined(connectionId: string, room: string): void;
  left(connectionId: string, room: string): void;
  closed(connectionId: string): void;
  /** An outbox message sent to a socket (a row in api.websocket_events). */
  sent(connectionId: string, messageId: number, room: string): void;
  /** The socket's client acked the message: its event row is delivered, and its user's queue entry. */
  acked(connectionId: string, userId: string, messageId: number): void;
  /** A sign of life (a pong or a frame): last_activity is moved on the next flush. */
  touched(connectionId: string): void;
  /** Writes what is queued now (the timer does it too). */
  flush(): Promise<void>;
  /** Flushes, then closes the pool. */
  stop(): Promise<void>;
};

const MAX_QUEUED = 50_000;

export function connectionRecords(
  connectionString: string,
  options: {
    flushIntervalMs: number;
    onError(error: unknown): void;
    /**
     * The rooms of a socket that is still open (undefined once it closed). A live socket whose
     * row the cleanup marked not alive (its hub was cut off from the database for minutes) is
     * revived with them.
     */
    roomsOf?(connectionId: string): readonly string[] | undefined;
  },
): ConnectionRecords {
  const pool = new Pool({
    connectionString,
    application_name: APPLICATION_NAMES.records,
    max: 1,
    connectionTimeoutMillis: 5_000,
    // A query whose connection went silent (no answer, no reset) fails instead of holding
    // up every later read or batch; the broken connection is then dropped.
    query_timeout: 30_000,
  });
  pool.on("error", () => undefined);
  let queue: Op[] = [];
  let touched = new Set<string>();
  let flushing: Promise<void> | undefined;

  const write = async (ops: Op[], alive: string[]): Promise<void> => {
    const client = await pool.connect();
    // A connection that breaks while this batch holds it (a server shutting down ends it
    // after failing the running query) also emits 'error' on the client, and the pool
    // listens only to the clients it holds: unheard, that event would end the process.
    let broken: Error | undefined;
    const onError = (error: Error) => void (broken ??= error);
    client.on("error", onError);
    const release = (error?: Error) => {
      client.removeListener("error", onError);
      // A broken connection is not given back to the pool.
      client.release(error ?? broken);
    };
    try {
      await client.query("begin");
      const sent: { connection_id: string; message_id: number; room: string }[] = [];
      const acks: { connection_id: string; user_id: string; message_id: number }[] = [];
      for (const op of ops) {
        switch (op.kind) {
          case "sent":
            sent.push({ connection_id: op.connectionId, message_id: op.messageId, room: op.room });
            break;
          case "acked":
            acks.push({ connection_id: op.connectionId, user_id: op.userId, message_id: op.messageId });
            break;
          case "opened":
            await client.query(
              `insert into api.websocket_connections (connection_id, user_id, role, ip_address, user_agent, rooms)
               values ($1, $2, $3, $4, $5, $6) on conflict (connection_id) do nothing`,
              [op.connectionId, op.userId, op.role, op.ip, op.userAgent, op.rooms],
            );
            await client.query(
              `insert into api.websocket_room_memberships (connection_id, room_id)
               select $1, unnest($2::text[]) on conflict do nothing`,
              [op.connectionId, op.rooms],
            );
            break;
          case "joined":
          case "left":
            await client.query(
              op.kind === "joined"
                ? "insert into api.websocket_room_memberships (connection_id, room_id) values ($1, $2) on conflict do nothing"
                : "delete from api.websocket_room_memberships where connection_id = $1 and room_id = $2",
              [op.connectionId, op.room],
            );
            await client.query(
              `update api.websocket_connections c
                  set rooms = coalesce((select array_agg(m.room_id order by m.room_id) from api.websocket_room_memberships m
                                         where m.connection_id = c.connection_id), '{}'),
                      last_activity = now()
                where c.connection_id = $1`,
              [op.connectionId],
            );
            break;
          case "closed":
            // The row stays (not alive) until the cleanup removes it; its memberships go.
            await client.query("delete from api.websocket_room_memberships where connection_id = $1", [
              op.connectionId,
            ]);
            await client.query(
              "update api.websocket_connections set is_alive = false, last_activity = now() where connection_id = $1",
              [op.connectionId],
            );
            break;
        }
      }
      // Sends before acks (the function does them in that order), after the connection rows.
      if (sent.length || acks.length)
        await client.query("select app_hidden.realtime_record_deliveries($1, $2)", [
          JSON.stringify(sent),
          JSON.stringify(acks),
        ]);
      if (alive.length) {
        const { rows: dead } = await client.query<{ connection_id: string }>(
          `with moved as (
             update api.websocket_connections set last_activity = now()
              where connection_id = any($1) returning connection_id, is_alive)
           select connection_id from moved where not is_alive`,
          [alive],
        );
        // Rows marked not alive by realtime__cleanup while their socket stayed open (the hub
        // could not report for minutes): alive again, with the socket's rooms.
        for (const { connection_id: connectionId } of dead) {
          const rooms = options.roomsOf?.(connectionId);
          if (!rooms) continue;
          await client.query(
            "update api.websocket_connections set is_alive = true, rooms = $2 where connection_id = $1",
            [connectionId, [...rooms].sort()],
          );
          await client.query(
            `insert into api.websocket_room_memberships (connection_id, room_id)
             select $1, unnest($2::text[]) on conflict do nothing`,
            [connectionId, [...rooms]],
          );
        }
      }
      await client.query("commit");
    } catch (error) {
      await client.query("rollback").catch(() => undefined);
      release(error as Error);
      throw error;
    }
    release();
  };

  /** The data itself was refused (SQLSTATE classes 22 and 23): trying it again would fail again. */
  const refused = (error: unknown): boolean => {
    const code = String((error as { code?: unknown }).code ?? "");
    return code.startsWith("22") || code.startsWith("23");
  };

  /** Kept for the next flush, before what was queued since, unless the queue has grown beyond reason. */
  const keep = (ops: Op[]): void => {
    if (ops.length + queue.length <= MAX_QUEUED) queue = [...ops, ...queue];
  };

  /** A refused batch, one record at a time: the refused ones are dropped; what the database was away for is kept. */
  const writeSingly = async (ops: Op[]): Promise<void> => {
    for (let i = 0; i < ops.length; i++) {
      try {
        await write([ops[i]!], []);
      } catch (error) {
        options.onError(error);
        if (!refused(error)) return keep(ops.slice(i));
      }
    }
  };

  const flush = (): Promise<void> => {
    if (flushing) return flushing;
    if (!queue.length && !touched.size) return Promise.resolve();
    const ops = queue;
    const alive = [...touched];
    queue = [];
    touched = new Set();
    flushing = write(ops, alive)
      .catch(async (error: unknown) => {
        options.onError(error);
        if (!refused(error)) return keep(ops);
        if (ops.length > 1) await writeSingly(ops);
      })
      .finally(() => {
        flushing = undefined;
      });
    return flushing;
  };
  const timer = setInterval(() => void flush(), options.flushIntervalMs);
  timer.unref();

  return {
    opened: (record) => void queue.push({ kind: "opened", ...record }),
    joined: (connectionId, room) => void queue.push({ kind: "joined", connectionId, room }),
    left: (connectionId, room) => void queue.push({ kind: "left", connectionId, room }),
    closed: (connectionId) => void queue.push({ kind: "closed", connectionId }),
    sent: (connectionId, messageId, room) => void queue.push({ kind: "sent", connectionId, messageId, room }),
    acked: (connectionId, userId, messageId) => void queue.push({ kind: "acked", connectionId, userId, messageId }),
    touched: (connectionId) => void touched.add(connectionId),
    async flush() {
      await flushing;
      await flush();
    },
    async stop() {
      clearInterval(timer);
      await flushing;
      await flush();
      await pool.end().catch(() => undefined);
    },
  };
}
