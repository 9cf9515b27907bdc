/**
 * The invoice life cycle is enforced in the database for every path: each of
 * the 8 × 8 status moves is tried as the worker (the role that records
 * payments), and exactly the moves of the payment life cycle are accepted;
 * any other answers ILLEGAL_TRANSITION (409) and changes nothing.
 */
import { createMigratedDatabase, type TestDatabase } from "../helpers/database";
import { asRole } from "../helpers/roles";

const STATUSES = [
  "unpaid",
  "pending",
  "paid",
  "failed",
  "cancelled",
  "expired",
  "refunded",
  "partial_refunded",
] as const;

/** The life cycle, written out independently of the SQL. */
const ALLOWED = new Set([
  "unpaid>pending",
  "unpaid>cancelled",
  "pending>paid",
  "pending>failed",
  "pending>expired",
  "pending>cancelled",
  "failed>pending",
  "failed>cancelled",
  "expired>pending",
  "expired>cancelled",
  "paid>refunded",
  "paid>partial_refunded",
  "partial_refunded>refunded",
]);

describe("invoice state machine", () => {
  let db: TestDatabase;
  let projectId: string;
  beforeAll(async () => {
    db = await createMigratedDatabase();
    const [user] = await db.query<{ id: string }>(
      "insert into api.users (email, name) values ('budi@example.id', 'Budi') returning id",
    );
    const [project] = await db.query<{ id: string }>(
      "insert into api.projects (user_id, name, type) values ($1, 'Sekolah Budi', 'sekolah') returning id",
      [user!.id],
    );
    projectId = project!.id;
  });
  afterAll(async () => {
    await db.drop();
  });

  const pairs = STATUSES.flatMap((from) => STATUSES.filter((to) => to !== from).map((to) => [from, to] as const));

  test.each(pairs)("%s → %s is accepted exactly when the life cycle allows it", async (from, to) => {
    const [invoice] = await db.query<{ id: string }>(
      `insert into api.invoices (project_id, amount, status, paid_at) values ($1, 2500000, $2::api.invoice_status, case when $2::text = 'paid' then now() end) returning id`,
      [projectId, from],
    );
    const outcome = await asRole(db, "app_worker", async (client) => {
      try {
        await client.query("update api.invoices set status = $2, paid_at = coalesce(paid_at, now()) where id = $1", [
          invoice!.id,
          to,
        ]);
        return "accepted";
      } catch (error) {
        const { code, message } = error as { code?: string; message: string };
        return code === "PGRST" ? (JSON.parse(message) as { code: string }).code : `${code}: ${message}`;
      }
    });
    expect(outcome).toBe(ALLOWED.has(`${from}>${to}`) ? "accepted" : "ILLEGAL_TRANSITION");
    // asRole rolls back: the invoice keeps its status either way.
    expect(await db.query("select status from api.invoices where id = $1", [invoice!.id])).toEqual([{ status: from }]);
  });

  test("an update that leaves the status alone is not a move", async () => {
    const [invoice] = await db.query<{ id: string }>(
      "insert into api.invoices (project_id, amount, status) values ($1, 2500000, 'pending') returning id",
      [projectId],
    );
    await db.query("update api.invoices set status = 'pending', qris_url = 'https://qr.example.id/1' where id = $1", [
      invoice!.id,
    ]);
    expect(await db.query("select status, qris_url from api.invoices where id = $1", [invoice!.id])).toEqual([
      { status: "pending", qris_url: "https://qr.example.id/1" },
    ]);
  });
});
