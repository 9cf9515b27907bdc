/**
 * What an anonymous visitor gets from the real PostgREST: the public content
 * (templates, active pricing plans, active FAQs, published posts, pages) and
 * nothing else.
 */
import { startApi, type TestApi } from "../helpers/api";
import { createAdmin, registerClient } from "../helpers/auth";
import { createSeededDatabase, type TestDatabase } from "../helpers/database";

let db: TestDatabase;
let api: TestApi;

beforeAll(async () => {
  db = await createSeededDatabase();
  await db.query(`insert into api.pricing_plans (identifier, name, price, description, is_active)
                  values ('legacy', 'Paket Lama', 1000000, 'Tidak dijual lagi', false)`);
  await db.query(
    `insert into api.faqs (question, answer, is_active) values ('Pertanyaan lama?', 'Jawaban lama', false)`,
  );
  api = await startApi(db);
});

afterAll(async () => {
  await api?.stop();
  await db?.drop();
});

describe("anonymous visitors", () => {
  test("read the template catalogue", async () => {
    const { status, body } = await api.request("/templates?select=name,category,image_url,demo_url");
    expect(status).toBe(200);
    expect((body as unknown[]).length).toBe(6);
    expect(body).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ category: "berita", image_url: expect.stringMatching(/^https:\/\//) }),
      ]),
    );
  });

  test("read only active pricing plans", async () => {
    const { status, body } = await api.request("/pricing_plans?select=identifier,price,features&order=sort_order");
    expect(status).toBe(200);
    const plans = body as { identifier: string; price: number; features: string[] }[];
    expect(plans.map((p) => p.identifier)).toEqual(["company", "sekolah", "berita"]);
    expect(plans.every((p) => p.features.length > 0)).toBe(true);
    const legacy = await api.request("/pricing_plans?identifier=eq.legacy");
    expect(legacy.body).toEqual([]);
  });

  test("read only active FAQs", async () => {
    const { body } = await api.request("/faqs?select=question");
    const questions = (body as { question: string }[]).map((f) => f.question);
    expect(questions).not.toContain("Pertanyaan lama?");
    expect(questions.length).toBe(4);
  });

  test("read only published posts", async () => {
    const { body } = await api.request("/posts?select=slug,status");
    const posts = body as { slug: string; status: string }[];
    expect(posts.length).toBe(4);
    expect(posts.every((p) => p.status === "published")).toBe(true);
    const draft = await api.request("/posts?slug=eq.rencana-fitur-baru");
    expect(draft.body).toEqual([]);
  });

  test("read pages", async () => {
    const { status, body } = await api.request("/pages?slug=eq.tentang-kami&select=title");
    expect(status).toBe(200);
    expect(body).toEqual([{ title: "Tentang Kami" }]);
  });

  test.each([
    "users",
    "projects",
    "invoices",
    "audit_logs",
    "real_time_notifications",
    "websocket_connections",
    "websocket_events",
    "websocket_message_queue",
    "websocket_room_memberships",
  ])("cannot read %s", async (table) => {
    const { status } = await api.request(`/${table}`);
    expect(status).toBe(401);
  });

  test.each(["templates", "pricing_plans", "faqs", "posts", "pages"])("cannot write %s", async (table) => {
    const insert = await api.request(`/${table}`, { method: "POST", body: JSON.stringify({}) });
    expect(insert.status).toBe(401);
    const del = await api.request(`/${table}?id=not.is.null`, { method: "DELETE" });
    expect(del.status).toBe(401);
  });

  test("cannot reach app_private through the API", async () => {
    const { status } = await api.request("/user_secrets");
    expect(status).toBe(404);
    const profile = await api.request("/settings", { headers: { "accept-profile": "app_private" } });
    expect(profile.status).toBe(406);
    const rows = await db.query("select count(*)::int as n from app_private.user_secrets");
    expect(rows[0]!.n).toBe(1);
  });
});

describe("scheduled posts (published, dated in the future)", () => {
  let scheduledId: string;
  beforeAll(async () => {
    const [row] = await db.query<{ id: string }>(
      `insert into api.posts (title, slug, content, status, published_at)
       values ('Peluncuran paket baru', 'peluncuran-paket-baru', 'Paket toko daring segera hadir.', 'published', now() + interval '1 day')
       returning id`,
    );
    scheduledId = row!.id;
  });

  test("are hidden from anonymous visitors and clients until their time; admins see them", async () => {
    const client = await registerClient(api);
    const admin = await createAdmin(api, db);
    const path = "/posts?slug=eq.peluncuran-paket-baru&select=id";
    expect(await api.request(path)).toMatchObject({ status: 200, body: [] });
    expect(await api.request(path, { token: client.token })).toMatchObject({ status: 200, body: [] });
    expect(await api.request(path, { token: admin.token })).toMatchObject({ status: 200, body: [{ id: scheduledId }] });
    const listed = (await api.request("/posts?select=slug")).body as { slug: string }[];
    expect(listed.map((p) => p.slug)).not.toContain("peluncuran-paket-baru");
  });

  test("appear once their published_at has passed: the rule is read at each request, nothing has to run", async () => {
    await db.query(`update api.posts set published_at = now() - interval '1 second' where id = $1`, [scheduledId]);
    expect(await api.request("/posts?slug=eq.peluncuran-paket-baru&select=id")).toMatchObject({
      status: 200,
      body: [{ id: scheduledId }],
    });
  });
});
