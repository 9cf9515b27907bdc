/**
 * The exact surface PostgREST exposes: every relation and function of the
 * `api` schema and who may execute each function. A new table or RPC must
 * be added here on purpose, so nothing is exposed by accident.
 */
import { createMigratedDatabase, type TestDatabase } from "../helpers/database";

let db: TestDatabase;
beforeAll(async () => {
  db = await createMigratedDatabase();
});
afterAll(async () => {
  await db?.drop();
});

const everyone = ["app_admin", "app_client", "web_anon"];
const signedIn = ["app_admin", "app_client"];

const functions: Record<string, string[]> = {
  "admin_dashboard()": signedIn,
  "admin_broadcast(text,text,notification_priority)": signedIn,
  "bi_revenue(date,date,text)": signedIn,
  "cancel_invoice(uuid)": signedIn,
  "cancel_project(uuid)": signedIn,
  "create_project(json,text)": signedIn,
  "health()": everyone,
  "login(text,text)": everyone,
  "logout()": signedIn,
  "mark_notifications_read(uuid[])": signedIn,
  "midtrans_notification(jsonb)": everyone,
  "pay_invoice(uuid)": signedIn,
  "me()": signedIn,
  "project_credentials(uuid)": signedIn,
  "refund_invoice(uuid,text,numeric)": signedIn,
  "register(text,text,text,text)": everyone,
  "reset_circuit_breaker(text)": signedIn,
  "resilience_status()": signedIn,
  "search_content(text,text,integer,integer)": everyone,
  "set_project_credentials(uuid,json)": signedIn,
  "set_project_status(uuid,text)": signedIn,
  "set_user_role(uuid,text)": signedIn,
  "unlock_login(text)": signedIn,
};

test("the api schema holds the 13 blueprint tables, the payment attempts, notifications and refunds, and one view: the offline queue", async () => {
  const rows = await db.query<{ name: string; kind: string }>(
    `select relname as name, relkind::text as kind from pg_class
      where relnamespace = 'api'::regnamespace and relkind in ('r', 'p', 'v', 'm', 'f') order by 1`,
  );
  expect(rows).toEqual(
    [
      "audit_logs",
      "faqs",
      "invoices",
      "pages",
      "payment_attempts",
      "payment_notifications",
      "posts",
      "pricing_plans",
      "projects",
      "real_time_notifications",
      "refunds",
      "templates",
      "users",
      "websocket_connections",
      "websocket_events",
      "websocket_message_queue",
      "websocket_room_memberships",
    ].map((name) => ({
      name,
      kind: ["audit_logs", "websocket_events"].includes(name) ? "p" : name === "websocket_message_queue" ? "v" : "r",
    })),
  );
});

test("the api schema holds exactly the documented functions, each executable only by the roles that need it", async () => {
  const rows = await db.query<{ signature: string; grantees: string[] }>(
    `select replace(p.oid::regprocedure::text, 'api.', '') as signature,
            array(select distinct a.grantee::regrole::text from aclexplode(p.proacl) a
                   where a.privilege_type = 'EXECUTE' and a.grantee <> p.proowner order by 1) as grantees
       from pg_proc p where p.pronamespace = 'api'::regnamespace order by 1`,
  );
  expect(Object.fromEntries(rows.map((r) => [r.signature, r.grantees]))).toEqual(functions);
});

test("nothing in the api schema is executable by PUBLIC", async () => {
  const rows = await db.query<{ signature: string }>(
    `select p.oid::regprocedure::text as signature from pg_proc p
      where p.pronamespace = 'api'::regnamespace and has_function_privilege('public', p.oid, 'execute')`,
  );
  expect(rows).toEqual([]);
});
