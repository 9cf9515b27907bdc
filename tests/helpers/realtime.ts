/**
 * The realtime sources seen from outside: a real LISTENing pg client on
 * channel `realtime`, and the outbox rows a change wrote.
 *
 * To prove that a commit sent exactly N notifications (or none), the
 * listener sends a marker NOTIFY of its own after the change committed and
 * waits for it: PostgreSQL delivers notifications in commit order, so once
 * the marker has arrived, every notification of the change has too.
 */
import { Client } from "pg";
import type { TestDatabase } from "./database";

export type OutboxMessage = {
  id: string;
  event: string;
  rooms: string[];
  payload: Record<string, unknown>;
  priority: string;
  expires_in_hours: number;
};

export type RealtimeListener = {
  /** Every notification payload received on `realtime` since the last `take()` (markers excluded). */
  take(): Promise<string[]>;
  stop(): Promise<void>;
};

export async function listenRealtime(db: TestDatabase): Promise<RealtimeListener> {
  const client = new Client({ connectionString: db.url });
  await client.connect();
  const received: string[] = [];
  client.on("notification", (n) => {
    if (n.channel === "realtime") received.push(n.payload ?? "");
  });
  await client.query("listen realtime");
  let markers = 0;
  return {
    async take() {
      const marker = `marker:${++markers}`;
      // A separate connection, like any other committing session.
      await db.query("select pg_notify('realtime', $1)", [marker]);
      const deadline = Date.now() + 20_000;
      while (!received.includes(marker)) {
        if (Date.now() > deadline) throw new Error(`the marker NOTIFY ${marker} did not arrive within 20 s`);
        await new Promise((r) => setTimeout(r, 10));
      }
      const upToMarker = received.splice(0, received.indexOf(marker) + 1);
      return upToMarker.filter((p) => !p.startsWith("marker:"));
    },
    async stop() {
      await client.end();
    },
  };
}

/** The highest outbox id so far (0 if none): outboxAfter(db, mark) then returns what came since. */
export async function outboxMark(db: TestDatabase): Promise<string> {
  const [row] = await db.query<{ id: string }>(
    "select coalesce(max(id), 0)::text as id from app_private.realtime_messages",
  );
  return row!.id;
}

/** Outbox rows with an id above `mark`, in id order. */
export function outboxAfter(db: TestDatabase, mark: string): Promise<OutboxMessage[]> {
  return db.query<OutboxMessage>(
    `select id::text, event, rooms, payload, priority::text,
            round(extract(epoch from expires_at - created_at) / 3600)::int as expires_in_hours
       from app_private.realtime_messages where id > $1::bigint order by id`,
    [mark],
  );
}
