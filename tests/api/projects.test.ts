/**
 * Ordering a website and moving it along its life cycle, through the real
 * PostgREST: create_project, cancel_project, set_project_status, the status
 * trigger that covers every path, and the per-user limit on orders.
 */
import { startApi, type TestApi } from "../helpers/api";
import { createAdmin, registerClient, type SignedIn } from "../helpers/auth";
import { createSeededDatabase, type TestDatabase } from "../helpers/database";

let db: TestDatabase;
let api: TestApi;
let alice: SignedIn;
let bob: SignedIn;
let admin: SignedIn;

const rpc = (name: string, body: unknown, token?: string) =>
  api.request(`/rpc/${name}`, { method: "POST", body: JSON.stringify(body), token });

type Order = {
  project: { id: string; status: string; user_id: string; type: string; name: string };
  invoice: { id: string; amount: number; status: string; project_id: string };
};

async function order(who: SignedIn, type = "company", name = "Situs Baru"): Promise<Order> {
  const { status, body } = await rpc("create_project", { name, type }, who.token);
  if (status !== 200) throw new Error(`create_project: ${status} ${JSON.stringify(body)}`);
  return body as Order;
}

const count = async (table: string) =>
  Number((await db.query<{ n: string }>(`select count(*) as n from api.${table}`))[0]!.n);

beforeAll(async () => {
  db = await createSeededDatabase();
  api = await startApi(db);
  [alice, bob] = [await registerClient(api), await registerClient(api)];
  admin = await createAdmin(api, db);
});

afterAll(async () => {
  await api?.stop();
  await db?.drop();
});

describe("create_project", () => {
  test.each([
    ["company", 2_500_000],
    ["sekolah", 3_500_000],
    ["berita", 5_000_000],
  ])("creates a pending %s project and its invoice at the plan's price", async (type, price) => {
    const { project, invoice } = await order(alice, type, `  Situs ${type}  `);
    expect(project).toEqual(
      expect.objectContaining({ name: `Situs ${type}`, type, status: "pending_payment", user_id: alice.user.id }),
    );
    expect(invoice).toEqual(expect.objectContaining({ project_id: project.id, amount: price, status: "unpaid" }));
    const mine = await api.request(`/projects?id=eq.${project.id}&select=id,invoices(amount)`, { token: alice.token });
    expect(mine.body).toEqual([{ id: project.id, invoices: [{ amount: price }] }]);
  });

  test("refuses a type whose plan is inactive (PLAN_UNAVAILABLE) and writes nothing", async () => {
    await db.query("update api.pricing_plans set is_active = false where identifier = 'berita'");
    try {
      const before = [await count("projects"), await count("invoices")];
      const { status, body } = await rpc("create_project", { name: "Portal", type: "berita" }, alice.token);
      expect(status).toBe(409);
      expect(body).toEqual(expect.objectContaining({ code: "PLAN_UNAVAILABLE" }));
      expect([await count("projects"), await count("invoices")]).toEqual(before);
    } finally {
      await db.query("update api.pricing_plans set is_active = true where identifier = 'berita'");
    }
  });

  test("a name is any JSON string, trimmed: also one that reads like a number or an array", async () => {
    const carol = await registerClient(api);
    expect((await order(carol, "company", "  123  ")).project.name).toBe("123");
    expect((await order(carol, "company", '["a"]')).project.name).toBe('["a"]');
  });

  test("a name that is not a JSON string is refused (INVALID_NAME) and nothing is created", async () => {
    const before = await count("projects");
    for (const name of [123, ["a"], { a: 1 }, false]) {
      const { status, body } = await rpc("create_project", { name, type: "company" }, alice.token);
      expect({ name, status, code: (body as { code: string }).code }).toEqual({
        name,
        status: 400,
        code: "INVALID_NAME",
      });
    }
    expect(await count("projects")).toBe(before);
  });

  test("anonymous visitors cannot order (401)", async () => {
    const { status } = await rpc("create_project", { name: "Situs", type: "company" });
    expect(status).toBe(401);
  });

  test("is atomic: a failure after the project insert leaves neither row nor audit row", async () => {
    await db.query(`create function public.fail_invoice() returns trigger language plpgsql as $$
                      begin raise exception 'invoice insert failed on purpose'; end $$`);
    await db.query(
      "create trigger fail_invoice before insert on api.invoices for each row execute function public.fail_invoice()",
    );
    try {
      const before = [await count("projects"), await count("invoices"), await count("audit_logs")];
      const { status } = await rpc("create_project", { name: "Tidak Jadi", type: "company" }, alice.token);
      expect(status).toBeGreaterThanOrEqual(400);
      expect([await count("projects"), await count("invoices"), await count("audit_logs")]).toEqual(before);
      expect(await db.query("select 1 from api.projects where name = 'Tidak Jadi'")).toEqual([]);
    } finally {
      await db.query("drop trigger fail_invoice on api.invoices");
      await db.query("drop function public.fail_invoice()");
    }
  });

  test("the per-user limit answers 429 past its limit, spares other users, and resets after its window (RATE_LIMITED)", async () => {
    await db.query(
      "update app_private.rate_limits set max_count = 2, window_seconds = 2 where action = 'create_project'",
    );
    try {
      const carol = await registerClient(api);
      await order(carol);
      await order(carol);
      const third = await rpc("create_project", { name: "Ketiga", type: "company" }, carol.token);
      expect(third.status).toBe(429);
      expect(third.body).toEqual(expect.objectContaining({ code: "RATE_LIMITED" }));
      expect(await db.query("select count(*)::int as n from api.projects where user_id = $1", [carol.user.id])).toEqual(
        [{ n: 2 }],
      );
      const dave = await registerClient(api);
      await order(dave);
      await new Promise((r) => setTimeout(r, 2_200));
      await order(carol);
    } finally {
      await db.query(
        "update app_private.rate_limits set max_count = 20, window_seconds = 3600 where action = 'create_project'",
      );
    }
  });
});

describe("cancel_project", () => {
  test("the owner cancels an unpaid order: project and invoice are gone", async () => {
    const { project, invoice } = await order(alice);
    const { status, body } = await rpc("cancel_project", { project_id: project.id }, alice.token);
    expect(status).toBe(200);
    expect(body).toEqual(
      expect.objectContaining({ cancelled: true, project: expect.objectContaining({ id: project.id }) }),
    );
    expect(await db.query("select id from api.projects where id = $1", [project.id])).toEqual([]);
    expect(await db.query("select id from api.invoices where id = $1", [invoice.id])).toEqual([]);
  });

  test("an admin cancels a client's unpaid order", async () => {
    const { project } = await order(bob);
    expect((await rpc("cancel_project", { project_id: project.id }, admin.token)).status).toBe(200);
  });

  test.each([
    ["paid", 409, "PROJECT_NOT_CANCELLABLE"],
    ["pending", 409, "PROJECT_NOT_CANCELLABLE"],
  ])("refuses when an invoice is %s (PROJECT_NOT_CANCELLABLE)", async (invoiceStatus, status, code) => {
    const { project, invoice } = await order(alice);
    // A charge makes the invoice pending; Midtrans' confirmation makes it paid.
    await db.query("update api.invoices set status = 'pending' where id = $1", [invoice.id]);
    if (invoiceStatus === "paid")
      await db.query("update api.invoices set status = 'paid', paid_at = now() where id = $1", [invoice.id]);
    const response = await rpc("cancel_project", { project_id: project.id }, alice.token);
    expect(response.status).toBe(status);
    expect(response.body).toEqual(expect.objectContaining({ code }));
    expect(await db.query("select status from api.invoices where id = $1", [invoice.id])).toEqual([
      { status: invoiceStatus },
    ]);
  });

  test("another client's project answers like a missing one (PROJECT_NOT_FOUND)", async () => {
    const { project } = await order(alice);
    const theirs = await rpc("cancel_project", { project_id: project.id }, bob.token);
    const missing = await rpc("cancel_project", { project_id: "00000000-0000-4000-8000-000000000000" }, bob.token);
    expect(theirs.status).toBe(404);
    expect(theirs.body).toEqual(missing.body);
    expect(await db.query("select id from api.projects where id = $1", [project.id])).toHaveLength(1);
  });

  test("anonymous callers are refused (401)", async () => {
    const { project } = await order(alice);
    expect((await rpc("cancel_project", { project_id: project.id })).status).toBe(401);
  });
});

describe("project life cycle", () => {
  const move = (projectId: string, status: string, token = admin.token) =>
    rpc("set_project_status", { project_id: projectId, status }, token);

  async function paidProject(): Promise<string> {
    const { project, invoice } = await order(alice);
    await db.query("update api.invoices set status = 'pending' where id = $1", [invoice.id]);
    await db.query("update api.invoices set status = 'paid', paid_at = now() where id = $1", [invoice.id]);
    return project.id;
  }

  test("walks pending_payment → in_progress → review → in_progress → review → completed once paid", async () => {
    const id = await paidProject();
    for (const status of ["in_progress", "review", "in_progress", "review", "completed"]) {
      const response = await move(id, status);
      expect(response.status).toBe(200);
      expect(response.body).toEqual(expect.objectContaining({ id, status }));
    }
  });

  test("an unpaid project cannot start (ILLEGAL_TRANSITION)", async () => {
    const { project } = await order(alice);
    const response = await move(project.id, "in_progress");
    expect(response.status).toBe(409);
    expect(response.body).toEqual(
      expect.objectContaining({ code: "ILLEGAL_TRANSITION", details: "from pending_payment to in_progress" }),
    );
  });

  test.each([
    ["pending_payment", "review"],
    ["pending_payment", "completed"],
    ["in_progress", "completed"],
    ["in_progress", "pending_payment"],
    ["completed", "review"],
    ["completed", "in_progress"],
  ])("refuses %s → %s (ILLEGAL_TRANSITION), through the RPC and through plain SQL", async (from, to) => {
    const id = await paidProject();
    const path: Record<string, string[]> = {
      pending_payment: [],
      in_progress: ["in_progress"],
      completed: ["in_progress", "review", "completed"],
    };
    for (const step of path[from]!) expect((await move(id, step)).status).toBe(200);
    const response = await move(id, to);
    expect(response.status).toBe(409);
    expect(response.body).toEqual(expect.objectContaining({ code: "ILLEGAL_TRANSITION" }));
    await expect(db.query("update api.projects set status = $2 where id = $1", [id, to])).rejects.toThrow(
      /ILLEGAL_TRANSITION/,
    );
    expect(await db.query("select status from api.projects where id = $1", [id])).toEqual([{ status: from }]);
  });

  test("a PATCH by an admin is held to the same life cycle", async () => {
    const { project } = await order(alice);
    const response = await api.request(`/projects?id=eq.${project.id}`, {
      method: "PATCH",
      body: JSON.stringify({ status: "completed" }),
      token: admin.token,
    });
    expect(response.status).toBe(409);
    expect(response.body).toEqual(expect.objectContaining({ code: "ILLEGAL_TRANSITION" }));
  });

  test.each([
    ["a client moving its project", "client", "in_progress", 403, "FORBIDDEN"],
    ["an admin giving an unknown status", "admin", "archived", 400, "INVALID_STATUS"],
  ])("refuses %s (%s → %s: %s %s)", async (_what, who, status, httpStatus, code) => {
    const id = await paidProject();
    const response = await move(id, status, who === "admin" ? admin.token : alice.token);
    expect(response.status).toBe(httpStatus);
    expect(response.body).toEqual(expect.objectContaining({ code }));
    expect(await db.query("select status from api.projects where id = $1", [id])).toEqual([
      { status: "pending_payment" },
    ]);
  });

  test("an unknown project (PROJECT_NOT_FOUND)", async () => {
    const response = await move("00000000-0000-4000-8000-000000000000", "review");
    expect(response.status).toBe(404);
    expect(response.body).toEqual(expect.objectContaining({ code: "PROJECT_NOT_FOUND" }));
  });
});
