/**
 * Checks that read the enums instead of retyping them (migration 000034),
 * through the real PostgREST: create_project, set_project_status and
 * set_user_role accept exactly the labels of api.project_type,
 * api.project_status and api.user_role and name them in their message (the
 * same text as before); admin_dashboard counts by every label, zeros
 * included; a label added later is accepted and counted with no function
 * edited. Also: an admin's writes through PostgREST pass, or fail by name,
 * the CHECK constraints that now call the app_hidden helpers.
 */
import { startApi, type TestApi } from "../helpers/api";
import { createAdmin, registerClient, type SignedIn } from "../helpers/auth";
import { createSeededDatabase, type TestDatabase } from "../helpers/database";

let db: TestDatabase;
let api: TestApi;
let client: SignedIn;
let admin: SignedIn;

const rpc = (name: string, body: unknown, token?: string) =>
  api.request(`/rpc/${name}`, { method: "POST", body: JSON.stringify(body), token });

const labelsOf = async (type: string): Promise<string[]> =>
  (await db.query<{ label: string }>(`select unnest(enum_range(null::${type}))::text as label`)).map((r) => r.label);

/** "a, b or c", as the functions' messages list the accepted values. */
const orList = (items: string[]): string =>
  items.length < 2 ? (items[0] ?? "") : `${items.slice(0, -1).join(", ")} or ${items.at(-1)}`;

type ApiError = { code: string; message: string };

beforeAll(async () => {
  db = await createSeededDatabase();
  api = await startApi(db);
  client = await registerClient(api);
  admin = await createAdmin(api, db);
});

afterAll(async () => {
  await api?.stop();
  await db?.drop();
});

describe("create_project", () => {
  test("accepts every label of api.project_type that has an active plan, and answers PLAN_UNAVAILABLE for the others", async () => {
    const types = await labelsOf("api.project_type");
    expect(types.length).toBeGreaterThan(0);
    let ordered = 0;
    for (const type of types) {
      const [plan] = await db.query<{ active: boolean }>(
        "select exists (select 1 from api.pricing_plans where identifier = $1 and is_active) as active",
        [type],
      );
      const { status, body } = await rpc("create_project", { name: `Situs ${type}`, type }, client.token);
      if (plan!.active) {
        ordered++;
        expect({ type, status, projectType: (body as { project: { type: string } }).project.type }).toEqual({
          type,
          status: 200,
          projectType: type,
        });
      } else {
        expect({ type, status, code: (body as ApiError).code }).toEqual({
          type,
          status: 409,
          code: "PLAN_UNAVAILABLE",
        });
      }
    }
    expect(ordered).toBeGreaterThan(0);
  });

  test.each(["website", "Sekolah", "sekolah ", "", "company,berita"])(
    "refuses the type %j with INVALID_PROJECT_TYPE, naming every type",
    async (type) => {
      const { status, body } = await rpc("create_project", { name: "Situs", type }, client.token);
      expect(status).toBe(400);
      expect(body).toEqual(
        expect.objectContaining({
          code: "INVALID_PROJECT_TYPE",
          message: `The type must be ${orList(await labelsOf("api.project_type"))}.`,
        }),
      );
    },
  );

  test("the message is the one the retyped list gave", async () => {
    const { body } = await rpc("create_project", { name: "Situs", type: "website" }, client.token);
    expect((body as ApiError).message).toBe("The type must be sekolah, berita or company.");
  });
});

describe("set_project_status", () => {
  test("accepts every label of api.project_status (the life cycle then decides) and refuses others with INVALID_STATUS", async () => {
    const { body } = await rpc("create_project", { name: "Situs Status", type: "company" }, client.token);
    const projectId = (body as { project: { id: string } }).project.id;
    for (const status of await labelsOf("api.project_status")) {
      const answer = await rpc("set_project_status", { project_id: projectId, status }, admin.token);
      // pending_payment is where it is; the others need a paid invoice first.
      expect({ status, code: answer.status === 200 ? "ok" : (answer.body as ApiError).code }).toEqual({
        status,
        code: status === "pending_payment" ? "ok" : "ILLEGAL_TRANSITION",
      });
    }
    const refused = await rpc("set_project_status", { project_id: projectId, status: "cancelled" }, admin.token);
    expect(refused.status).toBe(400);
    expect(refused.body).toEqual(
      expect.objectContaining({
        code: "INVALID_STATUS",
        message: "The status must be pending_payment, in_progress, review or completed.",
      }),
    );
  });
});

describe("set_user_role", () => {
  test("accepts every label of api.user_role and refuses others with INVALID_ROLE", async () => {
    const other = await registerClient(api);
    for (const role of [...(await labelsOf("api.user_role")).reverse(), "client"]) {
      const answer = await rpc("set_user_role", { user_id: other.user.id, role }, admin.token);
      expect({ role, status: answer.status, now: (answer.body as { role: string }).role }).toEqual({
        role,
        status: 200,
        now: role,
      });
    }
    const refused = await rpc("set_user_role", { user_id: other.user.id, role: "superuser" }, admin.token);
    expect(refused.status).toBe(400);
    expect(refused.body).toEqual(
      expect.objectContaining({ code: "INVALID_ROLE", message: "The role must be admin or client." }),
    );
  });
});

type Dashboard = {
  users: { total: number; by_role: Record<string, number> };
  projects: { total: number; by_status: Record<string, number>; by_type: Record<string, number> };
  invoices: { by_status: Record<string, { count: number; amount: number }> };
};

/** Row counts per label, zeros included, in the enum's order. */
async function countsBy(table: string, column: string, type: string): Promise<[string, number][]> {
  const rows = await db.query<{ label: string; n: number }>(
    `select l::text as label, (select count(*) from ${table} t where t.${column} = l)::int as n
       from unnest(enum_range(null::${type})) l`,
  );
  return rows.map((r) => [r.label, r.n]);
}

describe("admin_dashboard", () => {
  test("has a key for every label, in the enum's order, with zeros where no row has it", async () => {
    const { status, body } = await api.request("/rpc/admin_dashboard", { token: admin.token });
    expect(status).toBe(200);
    const dashboard = body as Dashboard;
    expect(Object.entries(dashboard.users.by_role)).toEqual(await countsBy("api.users", "role", "api.user_role"));
    expect(Object.entries(dashboard.projects.by_status)).toEqual(
      await countsBy("api.projects", "status", "api.project_status"),
    );
    expect(Object.entries(dashboard.projects.by_type)).toEqual(
      await countsBy("api.projects", "type", "api.project_type"),
    );
    expect(Object.keys(dashboard.invoices.by_status)).toEqual(await labelsOf("api.invoice_status"));
    // The seeded database has no completed project: its zero is there.
    expect(dashboard.projects.by_status.completed).toBe(0);
    const [totals] = await db.query<{ users: number; projects: number }>(
      "select (select count(*) from api.users)::int as users, (select count(*) from api.projects)::int as projects",
    );
    expect([dashboard.users.total, dashboard.projects.total]).toEqual([totals!.users, totals!.projects]);
  });
});

describe("admin writes through PostgREST meet the helper-based CHECK constraints", () => {
  const post = (path: string, row: unknown) =>
    api.request(path, {
      method: "POST",
      body: JSON.stringify(row),
      token: admin.token,
      headers: { prefer: "return=minimal" },
    });

  test("a valid template and post are created (the admin role executes the helpers)", async () => {
    expect(
      (
        await post("/templates", {
          name: "Toko Online",
          category: "company",
          image_url: "https://cdn.jasaweb.id/t/toko.png",
          demo_url: "https://demo.jasaweb.id/toko",
        })
      ).status,
    ).toBe(201);
    expect((await post("/posts", { title: "Tips SEO", slug: "tips-seo-uji", content: "Isi." })).status).toBe(201);
  });

  test.each([
    {
      path: "/templates",
      constraint: "templates_url_format",
      row: { name: "X", category: "company", image_url: "https://cdn.id/x.png", demo_url: "demo.id" },
    },
    {
      path: "/templates",
      constraint: "templates_name_not_blank",
      row: { name: " ", category: "company", image_url: "https://cdn.id/x.png", demo_url: "https://demo.id" },
    },
    { path: "/posts", constraint: "posts_slug_format", row: { title: "Judul", slug: "Judul-Besar", content: "Isi." } },
    {
      path: "/posts",
      constraint: "posts_featured_image_format",
      row: { title: "Judul", slug: "judul", content: "Isi.", featured_image: "ftp://cdn.id/x.png" },
    },
    { path: "/pages", constraint: "pages_title_not_blank", row: { title: "\t", slug: "halaman", content: "Isi." } },
    { path: "/faqs", constraint: "faqs_answer_not_blank", row: { question: "Apa?", answer: " " } },
    {
      path: "/templates",
      constraint: "templates_name_length",
      row: {
        name: "a".repeat(201),
        category: "company",
        image_url: "https://cdn.id/x.png",
        demo_url: "https://demo.id",
      },
    },
    {
      path: "/posts",
      constraint: "posts_title_length",
      row: { title: "a".repeat(301), slug: "panjang", content: "Isi." },
    },
    {
      path: "/pages",
      constraint: "pages_title_length",
      row: { title: "a".repeat(301), slug: "panjang", content: "Isi." },
    },
  ])("POST $path with a bad value answers 400 23514 naming $constraint", async ({ path, row, constraint }) => {
    const { status, body } = await post(path, row);
    expect({ status, code: (body as ApiError).code }).toEqual({ status: 400, code: "23514" });
    expect((body as ApiError).message).toContain(`"${constraint}"`);
  });

  test("a 201-character name is reported as too long (users_name_length, projects_name_length), a blank one as blank", async () => {
    const patch = (path: string, body: unknown, token: string) =>
      api.request(path, { method: "PATCH", body: JSON.stringify(body), token });
    const long = await patch(`/users?id=eq.${client.user.id}`, { name: "a".repeat(201) }, client.token);
    expect({ status: long.status, code: (long.body as ApiError).code }).toEqual({ status: 400, code: "23514" });
    expect((long.body as ApiError).message).toContain('"users_name_length"');
    const blank = await patch(`/users?id=eq.${client.user.id}`, { name: "  " }, client.token);
    expect((blank.body as ApiError).message).toContain('"users_name_not_blank"');

    const ordered = await rpc("create_project", { name: "Situs Panjang", type: "company" }, client.token);
    const projectId = (ordered.body as { project: { id: string } }).project.id;
    const longProject = await patch(`/projects?id=eq.${projectId}`, { name: "a".repeat(201) }, client.token);
    expect((longProject.body as ApiError).message).toContain('"projects_name_length"');
  });
});

describe("a label added to an enum later", () => {
  // Last in this file: the label stays in this file's database.
  beforeAll(async () => {
    await db.query("alter type api.project_type add value 'toko'");
  });

  test("is accepted by create_project (no plan yet: PLAN_UNAVAILABLE) and named in its message", async () => {
    const ordered = await rpc("create_project", { name: "Toko", type: "toko" }, client.token);
    expect({ status: ordered.status, code: (ordered.body as ApiError).code }).toEqual({
      status: 409,
      code: "PLAN_UNAVAILABLE",
    });
    const refused = await rpc("create_project", { name: "Toko", type: "warung" }, client.token);
    expect((refused.body as ApiError).message).toBe("The type must be sekolah, berita, company or toko.");
  });

  test("is counted by admin_dashboard", async () => {
    const { body } = await api.request("/rpc/admin_dashboard", { token: admin.token });
    expect(Object.keys((body as Dashboard).projects.by_type)).toEqual(["sekolah", "berita", "company", "toko"]);
    expect((body as Dashboard).projects.by_type.toko).toBe(0);
  });
});
