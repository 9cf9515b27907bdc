/**
 * The outbox feed: reads app_private.realtime_messages through
 * app_hidden.realtime_messages_after with a cursor, woken by NOTIFY realtime
 * (pg-listen, which reconnects by itself), on every (re)connect of the
 * listener (catching up what committed during a gap) and by a slow safety
 * timer. Reads never overlap; a wake-up during a read causes one more read.
 */
import createPostgresSubscriber from "pg-listen";
import { APPLICATION_NAMES, type HubDatabase, type OutboxMessage } from "./database";

export type OutboxFeed = {
  /** Whether the LISTEN connection is up. */
  listening(): boolean;
  /** Reads now (also used by the safety timer). */
  wake(): void;
  stop(): Promise<void>;
};

export type OutboxFeedOptions = {
  connectionString: string;
  database: HubDatabase;
  deliver(messages: OutboxMessage[]): void;
  safetyIntervalMs: number;
  onError(error: unknown): void;
};

const PAGE = 500;

export async function startOutboxFeed(options: OutboxFeedOptions): Promise<OutboxFeed> {
  const { database, deliver } = options;
  const subscriber = createPostgresSubscriber(
    {
      connectionString: options.connectionString,
      application_name: APPLICATION_NAMES.listener,
      // A connection attempt that hangs (a server going down as it answers) fails and is retried.
      connectionTimeoutMillis: 5_000,
    },
    {
      parse: (payload: string) => payload,
      retryLimit: Number.POSITIVE_INFINITY,
      retryTimeout: 0,
      retryInterval: (attempt: number) => Math.min(100 * 2 ** attempt, 2_000),
      paranoidChecking: 10_000,
    },
  );
  let listening = false;
  let stopped = false;
  let cursor: unknown = null;
  let reading = false;
  let again = false;

  const read = async (): Promise<void> => {
    if (reading) {
      again = true;
      return;
    }
    reading = true;
    try {
      do {
        again = false;
        // The first read (cursor null) only takes the present as the start.
        for (let more = true; more && !stopped;) {
          const batch = await database.readOutbox(cursor, PAGE);
          cursor = batch.cursor;
          more = batch.more;
          if (batch.messages.length) deliver(batch.messages);
        }
      } while (again && !stopped);
    } catch (error) {
      // The cursor is kept: the next wake-up reads from where this one stopped.
      if (!stopped) options.onError(error);
    } finally {
      reading = false;
    }
  };
  const wake = () => void read();

  subscriber.events.on("connected", () => {
    listening = true;
    wake();
  });
  subscriber.events.on("reconnect", () => {
    listening = false;
  });
  subscriber.events.on("error", (error) => {
    listening = false;
    options.onError(error);
  });
  subscriber.notifications.on("realtime", wake);

  // The start cursor first, so that everything committed after start-up is delivered.
  await read();
  if (cursor === null) throw new Error("the realtime hub could not read the outbox's start");
  await subscriber.connect();
  await subscriber.listenTo("realtime");
  listening = true;
  // A commit between the start cursor and LISTEN is read here.
  wake();
  const timer = setInterval(wake, options.safetyIntervalMs);
  timer.unref();

  return {
    listening: () => listening,
    wake,
    async stop() {
      stopped = true;
      clearInterval(timer);
      listening = false;
      await subscriber.close().catch(() => undefined);
    },
  };
}
