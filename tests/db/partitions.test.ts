/**
 * Monthly partitions of audit_logs and websocket_events (in app_private):
 * what the migrations create, the maintenance functions that add months,
 * move rows out of the default partition, drop expired months, and refuse
 * bad arguments. Everything that changes partitions runs in a transaction
 * that is rolled back (DDL is transactional in PostgreSQL).
 */
import type { PoolClient, QueryResultRow } from "pg";
import { createMigratedDatabase, inRolledBackTransaction, type TestDatabase } from "../helpers/database";
import { outcomeOf } from "../helpers/sql";

let db: TestDatabase;
const SOCKET = "partition-test-socket";

beforeAll(async () => {
  db = await createMigratedDatabase();
  const [user] = await db.query<{ id: string }>(
    `insert into api.users (email, name) values ('partisi@example.id', 'Partisi') returning id`,
  );
  await db.query(`insert into api.websocket_connections (user_id, connection_id, role) values ($1, $2, 'client')`, [
    user!.id,
    SOCKET,
  ]);
});
afterAll(async () => {
  await db.drop();
});

const rows = async <R extends QueryResultRow>(client: PoolClient, sql: string, params: unknown[] = []) =>
  (await client.query<R>(sql, params)).rows;

/** YYYYMM of the months `offsets` months from the current one (in the session's time zone, like the functions). */
async function yyyymm(...offsets: number[]): Promise<string[]> {
  const rows = await db.query<{ m: string }>(
    `select to_char(date_trunc('month', current_date) + make_interval(months => o), 'YYYYMM') as m
       from unnest($1::int[]) with ordinality u(o, n) order by n`,
    [offsets],
  );
  return rows.map((r) => r.m);
}
/** A date inside the month `offset` months from the current one. */
const dayOfMonth = (offset: number, day = 15) =>
  `(date_trunc('month', current_date) + make_interval(months => ${offset}, days => ${day - 1}))::date`;

/** The partitions of `parent`, by name. */
const partitionsOf = async (client: PoolClient, parent: string) =>
  (
    await rows<{ name: string }>(
      client,
      `select c.relnamespace::regnamespace::text || '.' || c.relname as name
         from pg_inherits i join pg_class c on c.oid = i.inhrelid where i.inhparent = $1::regclass order by 1`,
      [parent],
    )
  )
    .map((r) => r.name)
    .sort();

const parents = [
  {
    parent: "api.audit_logs",
    name: "audit_logs",
    keep: 12,
    /** INSERT rows stamped `at` (an SQL expression over `from`), returning each row's id and partition. */
    insertAt: (at: string, from = "") =>
      `insert into api.audit_logs (action, resource, "timestamp") select 'CREATE', 'projects', ${at} ${from} returning id, tableoid::regclass::text as part`,
  },
  {
    parent: "api.websocket_events",
    name: "websocket_events",
    keep: 3,
    insertAt: (at: string, from = "") =>
      `insert into api.websocket_events (event_type, connection_id, created_at) select 'heartbeat', '${SOCKET}', ${at} ${from} returning id, tableoid::regclass::text as part`,
  },
];

describe.each(parents)("$parent", ({ parent, name, keep, insertAt }) => {
  test(`has app_private.${name}_pYYYYMM partitions for the current month and the next 3, and a default one`, async () => {
    const partitions = await inRolledBackTransaction(db, (client) => partitionsOf(client, parent));
    const months = await yyyymm(0, 1, 2, 3);
    expect(partitions).toEqual(
      [`app_private.${name}_default`, ...months.map((m) => `app_private.${name}_p${m}`)].sort(),
    );
  });

  test("a row goes to the partition of its month, from the month's first instant; before any partition, to the default", async () => {
    const placed = await inRolledBackTransaction(db, async (client) => {
      const at = async (sql: string) => (await rows<{ part: string }>(client, insertAt(sql)))[0]!.part;
      return {
        firstInstant: await at(`date_trunc('month', now()) + interval '2 months'`),
        lastInstantBefore: await at(`date_trunc('month', now()) + interval '2 months' - interval '1 microsecond'`),
        lastMonth: await at(`date_trunc('month', now()) - interval '10 days'`),
        farFuture: await at(`now() + interval '5 years'`),
      };
    });
    const months = await yyyymm(1, 2);
    expect(placed).toEqual({
      firstInstant: `app_private.${name}_p${months[1]}`,
      lastInstantBefore: `app_private.${name}_p${months[0]}`,
      lastMonth: `app_private.${name}_default`,
      farFuture: `app_private.${name}_default`,
    });
  });

  test("create_monthly_partitions(parent, 6) creates just the missing months, and nothing when called again (idempotent)", async () => {
    const result = await inRolledBackTransaction(db, async (client) => {
      const call = async () =>
        (
          await rows<{ p: string }>(client, `select p from app_private.create_monthly_partitions($1, 6) p`, [parent])
        ).map((r) => r.p);
      return { first: await call(), second: await call(), partitions: (await partitionsOf(client, parent)).length };
    });
    const missing = await yyyymm(4, 5, 6);
    expect(result).toEqual({ first: missing.map((m) => `${name}_p${m}`), second: [], partitions: 1 + 7 });
  });

  test("a row beyond the partitions waits in the default partition and moves into its month's partition once created", async () => {
    const result = await inRolledBackTransaction(db, async (client) => {
      const [later] = await rows<{ id: string; part: string }>(client, insertAt(dayOfMonth(8)));
      const [otherMonth] = await rows<{ id: string; part: string }>(client, insertAt(dayOfMonth(9)));
      const created = await rows<{ p: string }>(
        client,
        `select p from app_private.create_monthly_partitions($1, 0, ${dayOfMonth(8, 3)}) p`,
        [parent],
      );
      const where = async (id: string) =>
        (
          await rows<{ part: string }>(client, `select tableoid::regclass::text as part from ${parent} where id = $1`, [
            id,
          ])
        ).map((r) => r.part);
      const inDefault = await rows<{ n: number }>(
        client,
        `select count(*)::int as n from app_private.${name}_default where id = $1`,
        [later!.id],
      );
      return {
        before: later!.part,
        created: created.map((r) => r.p),
        after: await where(later!.id),
        inDefault: inDefault[0]!.n,
        otherMonth: await where(otherMonth!.id),
      };
    });
    const [month] = await yyyymm(8);
    expect(result).toEqual({
      before: `app_private.${name}_default`,
      created: [`${name}_p${month}`],
      after: [`app_private.${name}_p${month}`],
      inDefault: 0,
      otherMonth: [`app_private.${name}_default`],
    });
  });

  test("a partition created later has row level security and every index of its parent", async () => {
    const result = await inRolledBackTransaction(db, async (client) => {
      const [created] = await rows<{ p: string }>(
        client,
        `select p from app_private.create_monthly_partitions($1, 0, ${dayOfMonth(20)}) p`,
        [parent],
      );
      const [row] = await rows<{ rls: boolean; indexes: number; parent_indexes: number }>(
        client,
        `select c.relrowsecurity as rls,
                (select count(*)::int from pg_index where indrelid = c.oid) as indexes,
                (select count(*)::int from pg_index where indrelid = $1::regclass) as parent_indexes
           from pg_class c where c.oid = ('app_private.' || quote_ident($2))::regclass`,
        [parent, created!.p],
      );
      return row!;
    });
    expect(result.rls).toBe(true);
    expect(result.indexes).toBe(result.parent_indexes);
    expect(result.indexes).toBeGreaterThan(1);
  });

  test(`drop_expired_partitions(parent, ${keep}) drops the months older than ${keep} whole months and keeps the rest`, async () => {
    const result = await inRolledBackTransaction(db, async (client) => {
      for (const offset of [-(keep + 2), -(keep + 1), -keep, -1]) {
        await client.query(`select app_private.create_monthly_partitions($1, 0, ${dayOfMonth(offset)})`, [parent]);
      }
      await client.query(insertAt(dayOfMonth(-(keep + 2))));
      const before = await partitionsOf(client, parent);
      const dropped = (
        await rows<{ p: string }>(
          client,
          `select p from app_private.drop_expired_partitions($1, ${keep}) p order by 1`,
          [parent],
        )
      ).map((r) => r.p);
      const again = await rows<{ p: string }>(
        client,
        `select p from app_private.drop_expired_partitions($1, ${keep}) p`,
        [parent],
      );
      return { before, dropped, after: await partitionsOf(client, parent), again: again.length };
    });
    const months = await yyyymm(-(keep + 2), -(keep + 1), -keep, -1);
    const [oldest, older, kept, lastMonth] = months.map((m) => `${name}_p${m}`);
    expect(result.dropped).toEqual([oldest, older]);
    expect(result.after).toEqual(
      result.before.filter((p) => p !== `app_private.${oldest}` && p !== `app_private.${older}`),
    );
    expect(result.after).toEqual(
      expect.arrayContaining([`app_private.${kept}`, `app_private.${lastMonth}`, `app_private.${name}_default`]),
    );
    expect(result.again).toBe(0);
  });
});

// create_monthly_partitions writes the bounds as dates ('2029-05-01') that
// PostgreSQL reads in the calling session's TimeZone: months created by
// sessions in different time zones overlap (ATTACH fails with 42P17
// "would overlap") or leave a gap (rows fall into the default partition).
describe("partition bounds do not depend on the session's TimeZone", () => {
  const { parent, name, insertAt } = parents[0]!;
  test.each([
    { first: "UTC", second: "Asia/Jakarta" },
    { first: "Asia/Jakarta", second: "UTC" },
  ])(
    "months created by sessions in $first, then $second, adjoin (no 42P17 'would overlap', no rows left in the default partition)",
    async ({ first, second }) => {
      const result = await inRolledBackTransaction(db, async (client) => {
        // Two adjoining months far ahead, fixed before the time zone changes.
        const [months] = await rows<{ m30: string; m31: string }>(
          client,
          `select ${dayOfMonth(30, 1)}::text as m30, ${dayOfMonth(31, 1)}::text as m31`,
        );
        await client.query(`set local timezone = '${first}'`);
        await client.query(`select app_private.create_monthly_partitions($1, 0, $2)`, [parent, months!.m30]);
        await client.query(`set local timezone = '${second}'`);
        const created = await outcomeOf(() =>
          client.query(`select app_private.create_monthly_partitions($1, 0, $2)`, [parent, months!.m31]),
        );
        if (created !== "ok") return { created, inDefault: undefined };
        // One row an hour from 12 hours before to 12 hours after the first instant (UTC) of the later month.
        await client.query(
          insertAt("($1::timestamp at time zone 'UTC') + make_interval(hours => h)", "from generate_series(-12, 12) h"),
          [months!.m31],
        );
        const [row] = await rows<{ n: number }>(client, `select count(*)::int as n from app_private.${name}_default`);
        return { created, inDefault: row!.n };
      });
      expect(result).toEqual({ created: "ok", inDefault: 0 });
    },
  );
});

describe("maintain_partitions()", () => {
  test("creates the missing months of both tables, drops the expired ones and reports both as JSON arrays", async () => {
    const result = await inRolledBackTransaction(db, async (client) => {
      const [in3] = await yyyymm(3);
      await client.query(`drop table app_private.audit_logs_p${in3}`);
      await client.query(`drop table app_private.websocket_events_p${in3}`);
      await client.query(`select app_private.create_monthly_partitions('api.audit_logs', 0, ${dayOfMonth(-14)})`);
      await client.query(`select app_private.create_monthly_partitions('api.websocket_events', 0, ${dayOfMonth(-5)})`);
      const [first] = await rows<{ r: unknown }>(client, `select app_private.maintain_partitions() as r`);
      const [second] = await rows<{ r: unknown }>(client, `select app_private.maintain_partitions() as r`);
      const [old, old5] = await yyyymm(-14, -5);
      return { in3, old, old5, first: first!.r, second: second!.r };
    });
    expect(result.first).toEqual({
      created: [`audit_logs_p${result.in3}`, `websocket_events_p${result.in3}`],
      dropped: [`audit_logs_p${result.old}`, `websocket_events_p${result.old5}`],
    });
    expect(result.second).toEqual({ created: [], dropped: [] });
  });
});

describe("bad arguments are refused", () => {
  test.each([
    {
      call: "create_monthly_partitions('api.audit_logs', -1)",
      message: "months_ahead must be between 0 and 120, got -1",
    },
    {
      call: "create_monthly_partitions('api.audit_logs', 121)",
      message: "months_ahead must be between 0 and 120, got 121",
    },
    { call: "create_monthly_partitions('api.users')", message: "api.users is not a partitioned table" },
    { call: "drop_expired_partitions('api.audit_logs', 0)", message: "keep_months must be at least 1, got 0" },
    { call: "drop_expired_partitions('api.audit_logs', -3)", message: "keep_months must be at least 1, got -3" },
  ])("app_private.$call raises '$message' (P0001) and changes nothing", async ({ call, message }) => {
    const [error, partitions] = await inRolledBackTransaction(db, async (client) => {
      const before = await partitionsOf(client, "api.audit_logs");
      await client.query("savepoint attempt");
      const error = await client.query(`select app_private.${call}`).then(
        () => undefined,
        (e: unknown) => e,
      );
      await client.query("rollback to savepoint attempt");
      return [error, { before, after: await partitionsOf(client, "api.audit_logs") }] as const;
    });
    expect(error).toMatchObject({ code: "P0001", message });
    expect(partitions.after).toEqual(partitions.before);
  });
});
