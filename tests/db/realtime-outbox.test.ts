/**
 * The realtime outbox and the hub's reader (app_hidden.realtime_messages_after),
 * read with the worker's real login: every committed message is returned
 * exactly once, whatever order transactions commit in, page by page, and
 * nothing of a rolled-back transaction; no API role can read the outbox.
 */
import { Client } from "pg";
import { withClient } from "../../db/pg";
import { createMigratedDatabase, type TestDatabase } from "../helpers/database";
import { asRole, sqlErrorOf } from "../helpers/roles";

let db: TestDatabase;
let userId: string;

beforeAll(async () => {
  db = await createMigratedDatabase();
  const [user] = await db.query<{ id: string }>(
    "insert into api.users (email, name) values ('pembaca@example.id', 'Pembaca') returning id",
  );
  userId = user!.id;
});
afterAll(async () => {
  await db?.drop();
});

type Message = { id: number; event: string; rooms: string[]; payload: Record<string, unknown> };
type Batch = { messages: Message[]; cursor: unknown; more: boolean };

/** One call of the reader as app_worker (its own login). */
const read = (cursor: unknown, maxRows = 500): Promise<Batch> =>
  withClient(
    db.connections.worker,
    async (worker) =>
      (
        await worker.query<{ batch: Batch }>("select app_hidden.realtime_messages_after($1, $2) as batch", [
          cursor === null ? null : JSON.stringify(cursor),
          maxRows,
        ])
      ).rows[0]!.batch,
  );

/** Reads until `more` is false; returns every message and the last cursor. */
async function drain(cursor: unknown, maxRows = 500): Promise<{ messages: Message[]; cursor: unknown }> {
  const messages: Message[] = [];
  for (;;) {
    const batch = await read(cursor, maxRows);
    expect(batch.messages.length).toBeLessThanOrEqual(maxRows);
    messages.push(...batch.messages);
    cursor = batch.cursor;
    if (!batch.more) return { messages, cursor };
  }
}

const startCursor = async () => (await read(null)).cursor;

/** A connection of its own (a superuser, as the sources' triggers would write as the owner). */
async function connect(): Promise<Client> {
  const client = new Client({ connectionString: db.url });
  await client.connect();
  return client;
}

const insertMessage = async (client: Client, tag: string): Promise<number> =>
  Number(
    (
      await client.query<{ id: string }>(
        `insert into app_private.realtime_messages (event, rooms, payload)
         values ('notification', array['user:' || $1], jsonb_build_object('tag', $2::text)) returning id`,
        [userId, tag],
      )
    ).rows[0]!.id,
  );

const tags = (messages: Message[]) => messages.map((m) => m.payload.tag);

describe("the reader under out-of-order commits", () => {
  test("a message whose transaction took the smaller id but committed later is still returned, once", async () => {
    let cursor = await startCursor();
    const a = await connect();
    const b = await connect();
    try {
      await a.query("begin");
      await b.query("begin");
      const idA = await insertMessage(a, "A");
      const idB = await insertMessage(b, "B");
      expect(idA).toBeLessThan(idB);
      await b.query("commit");

      let batch = await read(cursor);
      expect(tags(batch.messages)).toEqual(["B"]);
      cursor = batch.cursor;
      // A reader that remembered "last id seen = idB" would now skip A forever.
      await a.query("commit");

      batch = await read(cursor);
      expect(tags(batch.messages)).toEqual(["A"]);
      expect(batch.messages[0]!.id).toBe(idA);
      cursor = batch.cursor;
      expect((await read(cursor)).messages).toEqual([]);
    } finally {
      await a.end();
      await b.end();
    }
  });

  test("nothing of a rolled-back transaction is ever returned", async () => {
    let cursor = await startCursor();
    const a = await connect();
    const b = await connect();
    try {
      await a.query("begin");
      await b.query("begin");
      await insertMessage(a, "rolled back");
      await insertMessage(b, "kept");
      let batch = await read(cursor);
      expect(batch.messages).toEqual([]);
      cursor = batch.cursor;
      await a.query("rollback");
      await b.query("commit");
      batch = await read(cursor);
      expect(tags(batch.messages)).toEqual(["kept"]);
      expect((await read(batch.cursor)).messages).toEqual([]);
    } finally {
      await a.end();
      await b.end();
    }
  });

  test("a long batch is read page by page; a commit between pages comes in the next batch, nothing twice", async () => {
    let cursor = await startCursor();
    const writer = await connect();
    const late = await connect();
    try {
      await writer.query("begin");
      for (let i = 1; i <= 5; i++) await insertMessage(writer, `bulk ${i}`);
      await writer.query("commit");
      await late.query("begin");
      await insertMessage(late, "late");

      const first = await read(cursor, 2);
      expect(first.more).toBe(true);
      expect(tags(first.messages)).toEqual(["bulk 1", "bulk 2"]);
      await late.query("commit");
      const second = await read(first.cursor, 2);
      expect(tags(second.messages)).toEqual(["bulk 3", "bulk 4"]);
      expect(second.more).toBe(true);
      const third = await read(second.cursor, 2);
      expect(tags(third.messages)).toEqual(["bulk 5"]);
      expect(third.more).toBe(false);
      cursor = third.cursor;
      const next = await read(cursor, 2);
      expect(tags(next.messages)).toEqual(["late"]);
      expect((await read(next.cursor, 2)).messages).toEqual([]);
    } finally {
      await writer.end();
      await late.end();
    }
  });

  test("four writers committing at random while the reader polls: every committed message exactly once", async () => {
    let cursor = await startCursor();
    const seen: Message[] = [];
    const committed: number[] = [];
    let writing = true;
    const writer = async (name: string) => {
      const client = await connect();
      try {
        for (let i = 0; i < 20; i++) {
          await client.query("begin");
          const ids = [await insertMessage(client, `${name}-${i}-a`), await insertMessage(client, `${name}-${i}-b`)];
          await new Promise((r) => setTimeout(r, Math.random() * 15));
          if (i % 5 === 4) {
            await client.query("rollback");
          } else {
            await client.query("commit");
            committed.push(...ids);
          }
        }
      } finally {
        await client.end();
      }
    };
    const reader = (async () => {
      while (writing) {
        const { messages, cursor: next } = await drain(cursor, 7);
        seen.push(...messages);
        cursor = next;
      }
    })();
    await Promise.all(["w1", "w2", "w3", "w4"].map(writer));
    writing = false;
    await reader;
    seen.push(...(await drain(cursor, 7)).messages);

    const ids = seen.map((m) => Number(m.id));
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort((x, y) => x - y)).toEqual([...committed].sort((x, y) => x - y));
    expect(committed).toHaveLength(4 * 16 * 2);
  });

  test("a new reader (null cursor) starts at the present", async () => {
    const client = await connect();
    try {
      await insertMessage(client, "before the reader");
      const start = await read(null);
      expect(start).toEqual({ messages: [], more: false, cursor: { since: expect.any(String) } });
      await insertMessage(client, "after the reader");
      expect(tags((await read(start.cursor)).messages)).toEqual(["after the reader"]);
    } finally {
      await client.end();
    }
  });

  test("max_rows outside 1-1000 is refused (INVALID_INPUT)", async () => {
    const cursor = await startCursor();
    for (const maxRows of [0, 1001]) {
      const error = await sqlErrorOf(read(cursor, maxRows));
      expect(error.message).toContain("INVALID_INPUT");
    }
  });
});

describe("who may read the outbox", () => {
  test.each(["web_anon", "app_client", "app_admin"] as const)(
    "%s can neither read the table nor call the reader (42501)",
    async (role) => {
      const claims = role === "web_anon" ? {} : { sub: userId, role };
      expect(
        (await sqlErrorOf(asRole(db, role, (c) => c.query("select * from app_private.realtime_messages"), { claims })))
          .code,
      ).toBe("42501");
      expect(
        (
          await sqlErrorOf(
            asRole(db, role, (c) => c.query("select app_hidden.realtime_messages_after(null)"), { claims }),
          )
        ).code,
      ).toBe("42501");
    },
  );

  test("the worker reads through the reader only, not the table", async () => {
    const error = await sqlErrorOf(
      withClient(db.connections.worker, (w) => w.query("select * from app_private.realtime_messages")),
    );
    expect(error.code).toBe("42501");
  });
});

test("prune_realtime_messages removes expired messages only (worker)", async () => {
  await db.query(
    `insert into app_private.realtime_messages (event, rooms, created_at, expires_at)
     values ('notification', array['admin'], now() - interval '8 days', now() - interval '1 day'),
            ('notification', array['admin'], now(), now() + interval '1 day')`,
  );
  const before = await db.query<{ n: number }>("select count(*)::int as n from app_private.realtime_messages");
  const removed = await withClient(
    db.connections.worker,
    async (w) => (await w.query<{ n: number }>("select app_hidden.prune_realtime_messages() as n")).rows[0]!.n,
  );
  const after = await db.query<{ n: number; expired: number }>(
    "select count(*)::int as n, count(*) filter (where expires_at < now())::int as expired from app_private.realtime_messages",
  );
  expect(removed).toBe(1);
  expect(after[0]).toEqual({ n: before[0]!.n - 1, expired: 0 });
  const client = await asRole(
    db,
    "app_admin",
    (c) => sqlErrorOf(c.query("select app_hidden.prune_realtime_messages()")),
    {
      claims: { sub: userId, role: "app_admin" },
    },
  );
  expect(client.code).toBe("42501");
});
