/**
 * The WebSocket hub's database checks (app_hidden.realtime_token_status, its
 * batch form app_hidden.realtime_token_statuses for the periodic re-check of
 * open sockets, and app_hidden.realtime_may_join_project), called with the worker's real
 * login: the same token rules as PostgREST's pre-request hook, and project
 * rooms for their owner and admins only. No API role may call them.
 */
import crypto from "node:crypto";
import { withClient } from "../../db/pg";
import { createMigratedDatabase, type TestDatabase } from "../helpers/database";
import { asRole, sqlErrorOf } from "../helpers/roles";

let db: TestDatabase;
let client: string;
let other: string;
let admin: string;
let project: string;

beforeAll(async () => {
  db = await createMigratedDatabase();
  const users = await db.query<{ id: string }>(
    `insert into api.users (email, name, role) values
       ('klien@example.id', 'Klien', 'client'), ('lain@example.id', 'Lain', 'client'), ('admin2@example.id', 'Admin', 'admin')
     returning id`,
  );
  [client, other, admin] = users.map((u) => u.id) as [string, string, string];
  const [p] = await db.query<{ id: string }>(
    "insert into api.projects (user_id, name, type) values ($1, 'Toko', 'company') returning id",
    [client],
  );
  project = p!.id;
});
afterAll(async () => {
  await db?.drop();
});

const asWorker = <T>(sql: string, params: unknown[]): Promise<T> =>
  withClient(db.connections.worker, async (w) => (await w.query<{ r: T }>(sql, params)).rows[0]!.r);
const status = (sub: string, jti: string, role: string) =>
  asWorker<string>("select app_hidden.realtime_token_status($1, $2, $3) as r", [sub, jti, role]);
const mayJoin = (user: string, projectId: string) =>
  asWorker<boolean>("select app_hidden.realtime_may_join_project($1, $2) as r", [user, projectId]);

test("a token is valid, revoked, of a stale or foreign role, or of an account that is gone", async () => {
  const jti = crypto.randomUUID();
  expect(await status(client, jti, "app_client")).toBe("valid");
  expect(await status(admin, jti, "app_admin")).toBe("valid");
  expect(await status(client, jti, "app_admin")).toBe("stale_role");
  expect(await status(admin, jti, "app_client")).toBe("stale_role");
  expect(await status(client, jti, "app_worker")).toBe("foreign_role");
  expect(await status(crypto.randomUUID(), jti, "app_client")).toBe("unknown_user");
  await db.query(
    "insert into app_private.revoked_tokens (jti, user_id, expires_at) values ($1, $2, now() + interval '1 hour')",
    [jti, client],
  );
  expect(await status(client, jti, "app_client")).toBe("revoked");
});

test("many tokens are checked in one call, by the same rules, one row per token; a malformed list is INVALID_INPUT", async () => {
  const [valid, revoked, stale, gone, foreign] = Array.from({ length: 5 }, () => crypto.randomUUID()) as [
    string,
    string,
    string,
    string,
    string,
  ];
  await db.query(
    "insert into app_private.revoked_tokens (jti, user_id, expires_at) values ($1, $2, now() + interval '1 hour')",
    [revoked, client],
  );
  const tokens = [
    { sub: client, jti: valid, role: "app_client" },
    { sub: client, jti: revoked, role: "app_client" },
    { sub: admin, jti: stale, role: "app_client" },
    { sub: crypto.randomUUID(), jti: gone, role: "app_admin" },
    { sub: other, jti: foreign, role: "app_worker" },
  ];
  const rows = await withClient(
    db.connections.worker,
    async (w) =>
      (
        await w.query<{ jti: string; status: string }>(
          "select jti, status from app_hidden.realtime_token_statuses($1) order by status",
          [JSON.stringify(tokens)],
        )
      ).rows,
  );
  expect(rows).toEqual([
    { jti: foreign, status: "foreign_role" },
    { jti: revoked, status: "revoked" },
    { jti: stale, status: "stale_role" },
    { jti: gone, status: "unknown_user" },
    { jti: valid, status: "valid" },
  ]);
  // The one-token check gives the same answers.
  for (const token of tokens)
    expect(await status(token.sub, token.jti, token.role)).toBe(rows.find((r) => r.jti === token.jti)!.status);
  expect(
    await withClient(
      db.connections.worker,
      async (w) => (await w.query("select * from app_hidden.realtime_token_statuses('[]')")).rows,
    ),
  ).toEqual([]);
  for (const malformed of ['{"sub": null}', JSON.stringify([{ sub: client, role: "app_client" }])]) {
    const failed = await withClient(db.connections.worker, (w) =>
      sqlErrorOf(w.query("select * from app_hidden.realtime_token_statuses($1)", [malformed])),
    );
    expect(failed.message).toContain("INVALID_INPUT");
  }
});

test("a project's room is for its owner and admins only; an unknown project for admins only", async () => {
  expect(await mayJoin(client, project)).toBe(true);
  expect(await mayJoin(admin, project)).toBe(true);
  expect(await mayJoin(other, project)).toBe(false);
  expect(await mayJoin(client, crypto.randomUUID())).toBe(false);
});

test("no API role may call them", async () => {
  for (const role of ["web_anon", "app_client", "app_admin"] as const) {
    await asRole(db, role, async (c) => {
      const failed = await sqlErrorOf(
        c.query("select app_hidden.realtime_token_status($1, $1, 'app_client')", [client]),
      );
      expect(failed.code).toBe("42501");
    });
    await asRole(db, role, async (c) => {
      expect((await sqlErrorOf(c.query("select app_hidden.realtime_token_statuses('[]')"))).code).toBe("42501");
    });
    await asRole(db, role, async (c) => {
      expect((await sqlErrorOf(c.query("select app_hidden.realtime_may_join_project($1, $1)", [client]))).code).toBe(
        "42501",
      );
    });
  }
});
