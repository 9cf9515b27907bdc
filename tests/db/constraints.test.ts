/**
 * The data rules the schema enforces by itself, whoever writes: every CHECK
 * constraint (values on both sides of each boundary), every UNIQUE key, every
 * enum, the delete behaviour of every foreign key, and the defaults and
 * updated_at triggers. Each attempt runs in a transaction that is rolled back.
 */
import type { PoolClient as Client } from "pg";
import { createMigratedDatabase, inRolledBackTransaction, type TestDatabase } from "../helpers/database";
import { insertRow, outcomeOf, violation, type Outcome, type Row } from "../helpers/sql";

let db: TestDatabase;
/** Committed parent rows the attempts refer to. */
const fx = { userId: "", projectId: "", invoiceId: "", connectionId: "fixture-connection", messageId: 0 };

beforeAll(async () => {
  db = await createMigratedDatabase();
  const [user] = await db.query<{ id: string }>(
    `insert into api.users (email, name) values ('pemilik@example.id', 'Pemilik') returning id`,
  );
  fx.userId = user!.id;
  const [project] = await db.query<{ id: string }>(
    `insert into api.projects (user_id, name, type) values ($1, 'Website SMA 1', 'sekolah') returning id`,
    [fx.userId],
  );
  fx.projectId = project!.id;
  const [invoice] = await db.query<{ id: string }>(
    `insert into api.invoices (project_id, amount) values ($1, 2500000) returning id`,
    [fx.projectId],
  );
  fx.invoiceId = invoice!.id;
  await db.query(`insert into api.websocket_connections (user_id, connection_id, role) values ($1, $2, 'client')`, [
    fx.userId,
    fx.connectionId,
  ]);
  const [message] = await db.query<{ id: string }>(
    `insert into app_private.realtime_messages (event, rooms) values ('notification', array['user:' || $1]) returning id`,
    [fx.userId],
  );
  fx.messageId = Number(message!.id);
});
afterAll(async () => {
  await db.drop();
});

/** An id no row has. */
const missingParentId = "00000000-0000-4000-8000-000000000000";

/** A valid row of each table; a case overrides the columns it is about. */
const validRow: Record<string, () => Row> = {
  "api.users": () => ({ email: "siti@example.id", name: "Siti Nurhaliza" }),
  "api.projects": () => ({ user_id: fx.userId, name: "Portal Berita Kota", type: "berita" }),
  "api.invoices": () => ({ project_id: fx.projectId, amount: 2_500_000 }),
  "api.payment_notifications": () => ({ signature_valid: true, body: { order_id: "JW-x-1" } }),
  "api.payment_attempts": () => ({
    invoice_id: fx.invoiceId,
    order_id: `JW-${Math.random().toString(36).slice(2)}-1`,
    amount: 2_500_000,
  }),
  "api.refunds": () => ({
    invoice_id: fx.invoiceId,
    order_id: "JW-refunded-1",
    amount: 500_000,
    reason: "Klien membatalkan",
    refund_key: `JW-R-${Math.random().toString(36).slice(2)}`,
  }),
  "api.templates": () => ({
    name: "Sekolah Ceria",
    category: "sekolah",
    image_url: "https://cdn.jasaweb.id/templates/sekolah-ceria.png",
    demo_url: "https://demo.jasaweb.id/sekolah-ceria",
  }),
  "api.posts": () => ({ title: "Halo Dunia", slug: "halo-dunia", content: "Isi tulisan." }),
  "api.pages": () => ({ title: "Tentang Kami", slug: "tentang-kami", content: "Kami membuat website." }),
  "api.pricing_plans": () => ({
    identifier: "premium",
    name: "Premium",
    price: 7_500_000,
    description: "Paket lengkap",
  }),
  "api.faqs": () => ({ question: "Berapa lama?", answer: "Dua minggu." }),
  "api.audit_logs": () => ({ action: "CREATE", resource: "projects" }),
  "api.websocket_connections": () => ({ user_id: fx.userId, connection_id: "socket-2", role: "client" }),
  "api.websocket_room_memberships": () => ({ connection_id: fx.connectionId, room_id: "admin" }),
  "api.websocket_events": () => ({ event_type: "heartbeat", connection_id: fx.connectionId }),
  "api.real_time_notifications": () => ({
    user_id: fx.userId,
    type: "new_feature",
    title: "Fitur baru",
    message: "Dasbor klien kini menampilkan progres.",
  }),
  "app_private.user_secrets": () => ({
    user_id: fx.userId,
    password_hash: "$2a$10$CdV8my4Q0XmSa9GL4ZkU5u7aKSVTS531QHrt3Fhfy0i7xCW45ZDQW",
  }),
  "app_private.project_secrets": () => ({ project_id: fx.projectId, credentials_encrypted: Buffer.from([1, 2, 3]) }),
  "app_private.settings": () => ({ name: "test_setting", value: "nilai" }),
  "app_private.revoked_tokens": () => ({ jti: "11111111-1111-4111-8111-111111111111", expires_at: new Date() }),
  "app_private.breaker_snapshots": () => ({
    instance_id: `worker-host:4242:${Math.random().toString(16).slice(2, 8)}`,
    breaker: "midtrans",
    state: "closed",
    heartbeat_ms: 15_000,
    started_at: new Date(),
  }),
  "app_private.breaker_reset_requests": () => ({
    breaker: `breaker-${Math.random().toString(36).slice(2, 10)}`,
    requested_at: new Date(),
  }),
  "app_private.realtime_messages": () => ({
    event: "project_update",
    rooms: [`user:${fx.userId}`, `project:${fx.projectId}`, "admin"],
    payload: { project_id: fx.projectId },
  }),
  "app_private.realtime_deliveries": () => ({ user_id: fx.userId, message_id: fx.messageId }),
  "app_private.post_search_vectors": () => ({ post_id: missingParentId, english: "", indonesian: "" }),
  "app_private.page_search_vectors": () => ({ page_id: missingParentId, english: "", indonesian: "" }),
  "app_private.rate_limits": () => ({
    action: `test_action_${Math.random().toString(36).slice(2)}`,
    max_count: 5,
    window_seconds: 60,
  }),
};

/** Inserts the table's valid row with `overrides`, in a transaction that is rolled back. */
const attempt = (table: string, overrides: Row = {}): Promise<Outcome> =>
  inRolledBackTransaction(db, (client) =>
    outcomeOf(() => insertRow(client, table, { ...validRow[table]!(), ...overrides })),
  );

type CheckCase = { title: string; table: string; row: Row; expected: Outcome };
const checkCases: CheckCase[] = [];
/** Rows `accepts` must insert; rows `refuses` must fail with 23514 naming `constraint`. */
function check(constraint: string, table: string, accepts: Record<string, Row>, refuses: Record<string, Row>): void {
  for (const [what, row] of Object.entries(accepts)) {
    checkCases.push({ title: `accepts ${what} (${constraint})`, table, row, expected: "ok" });
  }
  for (const [what, row] of Object.entries(refuses)) {
    checkCases.push({ title: `refuses ${what} (${constraint})`, table, row, expected: violation("23514", constraint) });
  }
}

const digits = (n: number) => "1234567890".repeat(2).slice(0, n);
const BCRYPT = "$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW";

check(
  "users_email_format",
  "api.users",
  {
    "a dotted, plus-tagged address on a sub-domain": { email: "siti.nur+web@sekolah-ku.sch.id" },
    "an address with _ and % in the local part": { email: "a_b%c@example.co" },
  },
  {
    "an address without a top-level domain": { email: "siti@localhost" },
    "a one-letter top-level domain": { email: "siti@example.i" },
    "an address with a space": { email: "siti nur@example.id" },
    "an address without @": { email: "siti.example.id" },
    "an address with an empty local part": { email: "@example.id" },
    "an address with two @": { email: "siti@@example.id" },
  },
);
check(
  "users_email_lowercase",
  "api.users",
  {},
  {
    "a capitalised address": { email: "Siti@example.id" },
    "an all upper-case address": { email: "SITI@EXAMPLE.ID" },
  },
);
check(
  "users_email_length",
  "api.users",
  { "an address of 254 characters": { email: `${"a".repeat(243)}@example.id` } },
  { "an address of 255 characters": { email: `${"a".repeat(244)}@example.id` } },
);
check(
  "users_phone_format",
  "api.users",
  {
    "no phone (null)": { phone: null },
    "a phone of 8 digits": { phone: digits(8) },
    "a phone of +8 digits": { phone: `+${digits(8)}` },
    "a phone of 15 digits": { phone: digits(15) },
    "a phone of +15 digits": { phone: `+${digits(15)}` },
    "an Indonesian mobile number": { phone: "+6281234567890" },
  },
  {
    "a phone of 7 digits": { phone: digits(7) },
    "a phone of +7 digits": { phone: `+${digits(7)}` },
    "a phone of 16 digits": { phone: digits(16) },
    "a phone of +16 digits": { phone: `+${digits(16)}` },
    "a phone with dashes": { phone: "0812-3456-7890" },
    "a phone with spaces": { phone: "+62 812 3456 7890" },
    "a phone with two leading +": { phone: "++6281234567" },
    "an empty phone": { phone: "" },
  },
);
check(
  "users_name_not_blank",
  "api.users",
  { "a name of one letter between spaces": { name: "  a  " } },
  {
    "an empty name": { name: "" },
    "a name of spaces": { name: "   " },
  },
);
check(
  "users_name_length",
  "api.users",
  { "a name of 200 characters": { name: "a".repeat(200) } },
  { "a name of 201 characters": { name: "a".repeat(201) } },
);

const badUrls = {
  "an ftp URL": "ftp://sman1.sch.id",
  "a URL without scheme": "sman1.sch.id",
  "a URL with nothing after the scheme": "https://",
  "a URL whose host starts with a dot": "https://.example.id",
  "a URL with a space": "https://sman1.sch.id/profil sekolah",
};
const urlCases = (column: string, good: string) => ({
  accepts: {
    [`an https ${column}`]: { [column]: good },
    [`an http ${column} with port and query`]: { [column]: "http://localhost:3000/preview?id=1" },
  },
  refuses: Object.fromEntries(
    Object.entries(badUrls).map(([what, url]) => [`${what} as ${column}`, { [column]: url }]),
  ),
});
{
  const { accepts, refuses } = urlCases("url", "https://sman1.sch.id");
  check("projects_url_format", "api.projects", { "no url (null)": { url: null }, ...accepts }, refuses);
}
check(
  "projects_name_not_blank",
  "api.projects",
  { "a name of one letter between spaces": { name: "  a  " } },
  {
    "an empty name": { name: "" },
    "a name of spaces": { name: "  " },
  },
);
check(
  "projects_name_length",
  "api.projects",
  { "a name of 200 characters": { name: "a".repeat(200) } },
  { "a name of 201 characters": { name: "a".repeat(201) } },
);
check(
  "invoices_amount_positive",
  "api.invoices",
  { "an amount of 1 rupiah": { amount: 1 } },
  {
    "a zero amount": { amount: 0 },
    "a negative amount": { amount: -1 },
    "an amount that rounds to 0.00": { amount: "0.001" },
  },
);
check(
  "invoices_amount_whole_rupiah",
  "api.invoices",
  { "a whole amount written with .00": { amount: "2500000.00" } },
  { "half a rupiah": { amount: 0.5 }, "an amount with sen": { amount: "2500000.50" } },
);
check(
  "invoices_midtrans_order_id_format",
  "api.invoices",
  {
    "no order id (null)": { midtrans_order_id: null },
    "an order id of letters, digits, - _ ~ .": { midtrans_order_id: "JW-2026_11.a~1" },
    "an order id of 50 characters": { midtrans_order_id: "a".repeat(50) },
  },
  {
    "an empty order id": { midtrans_order_id: "" },
    "an order id of 51 characters": { midtrans_order_id: "a".repeat(51) },
    "an order id with a space": { midtrans_order_id: "JW 2026" },
    "an order id with a slash": { midtrans_order_id: "JW/2026/1" },
  },
);
{
  const { accepts, refuses } = urlCases("qris_url", "https://api.midtrans.com/v2/qris/abc123/qr-code");
  check("invoices_qris_url_format", "api.invoices", { "no qris_url (null)": { qris_url: null }, ...accepts }, refuses);
}
check(
  "payment_attempts_amount_positive",
  "api.payment_attempts",
  { "an amount of 1 rupiah": { amount: 1 } },
  { "a zero amount": { amount: 0 }, "a negative amount": { amount: -2500000 } },
);
check(
  "payment_attempts_amount_whole_rupiah",
  "api.payment_attempts",
  { "a whole amount written with .00": { amount: "2500000.00" } },
  { "an amount with sen": { amount: "2500000.50" } },
);
check(
  "payment_attempts_order_id_format",
  "api.payment_attempts",
  {
    "the order id pay_invoice makes (50 characters)": { order_id: `JW-${"0123456789abcdef".repeat(2)}-1234567890123` },
    "an order id of letters, digits, - _ ~ .": { order_id: "JW-2026_11.a~1" },
  },
  {
    "an empty order id": { order_id: "" },
    "an order id of 51 characters": { order_id: "a".repeat(51) },
    "an order id with a slash": { order_id: "JW/2026/1" },
  },
);
check(
  "payment_attempts_midtrans_status_valid",
  "api.payment_attempts",
  {
    "no status yet (null)": { midtrans_status: null },
    settlement: { midtrans_status: "settlement" },
    partial_refund: { midtrans_status: "partial_refund" },
  },
  { "a status Midtrans does not have": { midtrans_status: "paid" }, "an empty status": { midtrans_status: "" } },
);
{
  const { accepts, refuses } = urlCases("qris_url", "https://api.midtrans.com/v2/qris/abc123/qr-code");
  check(
    "payment_attempts_qris_url_format",
    "api.payment_attempts",
    { "no qris_url (null)": { qris_url: null }, ...accepts },
    refuses,
  );
}
check(
  "refunds_amount_positive",
  "api.refunds",
  { "a refund of 1 rupiah": { amount: 1 } },
  { "a zero refund": { amount: 0 }, "a negative refund": { amount: -500000 } },
);
check(
  "refunds_amount_whole_rupiah",
  "api.refunds",
  { "a whole refund written with .00": { amount: "500000.00" } },
  { "a refund with sen": { amount: "500000.50" } },
);
check(
  "refunds_reason_not_blank",
  "api.refunds",
  { "a reason of one letter between spaces": { reason: "  a  " } },
  {
    "an empty reason": { reason: "" },
    "a reason of spaces": { reason: "   " },
  },
);
check(
  "refunds_reason_length",
  "api.refunds",
  { "a reason of 500 characters": { reason: "a".repeat(500) } },
  { "a reason of 501 characters": { reason: "a".repeat(501) } },
);
check(
  "refunds_refund_key_format",
  "api.refunds",
  {
    "the key refund_invoice makes": { refund_key: `JW-R-${"0123456789abcdef".repeat(2)}` },
    "a key of 64 characters": { refund_key: "k".repeat(64) },
  },
  {
    "an empty key": { refund_key: "" },
    "a key of 65 characters": { refund_key: "k".repeat(65) },
    "a key with a dot (Midtrans allows letters, digits, - and _)": { refund_key: "JW.R.1" },
  },
);
check(
  "refunds_status_valid",
  "api.refunds",
  { "a succeeded refund": { status: "succeeded", completed_at: new Date() } },
  { "a status that is not ours": { status: "refund", completed_at: new Date() } },
);
check(
  "refunds_failure_reason_when_failed",
  "api.refunds",
  {
    "a failed refund with its reason": {
      status: "failed",
      completed_at: new Date(),
      failure_reason: "414 invalid amount",
    },
  },
  {
    "a failed refund without a reason": { status: "failed", completed_at: new Date(), failure_reason: null },
    "a requested refund with a failure reason": { failure_reason: "414" },
  },
);
check(
  "refunds_completed_at_when_done",
  "api.refunds",
  { "a requested refund without completed_at": { completed_at: null } },
  {
    "a requested refund with completed_at": { completed_at: new Date() },
    "a succeeded refund without completed_at": { status: "succeeded", completed_at: null },
  },
);
check(
  "payment_notifications_body_object",
  "api.payment_notifications",
  { "a JSON object": { body: { order_id: "JW-1-1", transaction_status: "settlement" } } },
  { "a JSON array": { body: JSON.stringify([1, 2]) }, "a JSON string": { body: JSON.stringify("settlement") } },
);
check(
  "invoices_paid_has_paid_at",
  "api.invoices",
  {
    "a paid invoice with paid_at": { status: "paid", paid_at: new Date() },
    "an unpaid invoice without paid_at": { status: "unpaid", paid_at: null },
  },
  { "a paid invoice without paid_at": { status: "paid", paid_at: null } },
);
{
  const image = urlCases("image_url", "https://cdn.jasaweb.id/a.png");
  const demo = urlCases("demo_url", "https://demo.jasaweb.id/a");
  check(
    "templates_url_format",
    "api.templates",
    { ...image.accepts, ...demo.accepts },
    { ...image.refuses, ...demo.refuses },
  );
}
check(
  "templates_name_not_blank",
  "api.templates",
  { "a name of one letter between spaces": { name: "  a  " } },
  {
    "an empty name": { name: "" },
    "a name of spaces": { name: "  " },
  },
);
check(
  "templates_name_length",
  "api.templates",
  { "a name of 200 characters": { name: "a".repeat(200) } },
  { "a name of 201 characters": { name: "a".repeat(201) } },
);

const slugCases = {
  accepts: {
    "a slug of lower-case words and digits joined by hyphens": { slug: "tips-2026-memilih-website" },
    "a one-word slug": { slug: "halo" },
    "a slug of 200 characters": { slug: "a".repeat(200) },
  },
  refuses: {
    "an upper-case slug": { slug: "Halo-Dunia" },
    "a slug with a space": { slug: "halo dunia" },
    "a slug with an underscore": { slug: "halo_dunia" },
    "a slug with a leading hyphen": { slug: "-halo" },
    "a slug with a trailing hyphen": { slug: "halo-" },
    "a slug with a double hyphen": { slug: "halo--dunia" },
    "an empty slug": { slug: "" },
    "a slug of 201 characters": { slug: "a".repeat(201) },
  },
};
check("posts_slug_format", "api.posts", slugCases.accepts, slugCases.refuses);
{
  const { accepts, refuses } = urlCases("featured_image", "https://cdn.jasaweb.id/posts/cover.jpg");
  check(
    "posts_featured_image_format",
    "api.posts",
    { "no featured image (null)": { featured_image: null }, ...accepts },
    refuses,
  );
}
check(
  "posts_title_not_blank",
  "api.posts",
  { "a title of one letter between spaces": { title: "  a  " } },
  {
    "an empty title": { title: "" },
    "a title of spaces": { title: "   " },
  },
);
check(
  "posts_title_length",
  "api.posts",
  { "a title of 300 characters": { title: "a".repeat(300) } },
  { "a title of 301 characters": { title: "a".repeat(301) } },
);
check(
  "posts_published_has_date",
  "api.posts",
  {
    "a published post with published_at": { status: "published", published_at: new Date() },
    "a draft without published_at": { status: "draft", published_at: null },
  },
  { "a published post without published_at": { status: "published", published_at: null } },
);
check("pages_slug_format", "api.pages", slugCases.accepts, slugCases.refuses);
check(
  "pages_title_not_blank",
  "api.pages",
  { "a title of one letter between spaces": { title: "  a  " } },
  {
    "an empty title": { title: "" },
    "a title of spaces": { title: "   " },
  },
);
check(
  "pages_title_length",
  "api.pages",
  { "a title of 300 characters": { title: "a".repeat(300) } },
  { "a title of 301 characters": { title: "a".repeat(301) } },
);
check(
  "pricing_plans_identifier_format",
  "api.pricing_plans",
  {
    "an identifier of lower-case letters, digits, _ and -": { identifier: "paket_premium-2" },
    "an identifier of 50 characters": { identifier: "a".repeat(50) },
  },
  {
    "an upper-case identifier": { identifier: "Company" },
    "an identifier with a space": { identifier: "paket premium" },
    "an identifier with a dot": { identifier: "paket.premium" },
    "an empty identifier": { identifier: "" },
    "an identifier of 51 characters": { identifier: "a".repeat(51) },
  },
);
check(
  "pricing_plans_price_positive",
  "api.pricing_plans",
  { "a price of 1 rupiah": { price: 1 } },
  { "a price of 0": { price: 0 }, "a price of -1": { price: -1 } },
);
check(
  "pricing_plans_price_whole_rupiah",
  "api.pricing_plans",
  { "a whole price written with .00": { price: "7500000.00" } },
  { "a price of 0.5": { price: 0.5 }, "a price with sen": { price: "7500000.25" } },
);
check(
  "pricing_plans_sort_order_non_negative",
  "api.pricing_plans",
  { "a sort_order of 0": { sort_order: 0 } },
  { "a sort_order of -1": { sort_order: -1 } },
);
check(
  "pricing_plans_features_array",
  "api.pricing_plans",
  {
    "an empty features array": { features: "[]" },
    "an array of feature texts": { features: '["Hosting 1 tahun", "SEO dasar"]' },
  },
  {
    "a features object": { features: '{"hosting": true}' },
    "a features string": { features: '"Hosting 1 tahun"' },
    "a JSON null as features": { features: "null" },
  },
);
check(
  "pricing_plans_name_not_blank",
  "api.pricing_plans",
  { "a name of one letter between spaces": { name: "  a  " } },
  {
    "an empty name": { name: "" },
    "a name of spaces": { name: "  " },
  },
);
check(
  "pricing_plans_name_length",
  "api.pricing_plans",
  { "a name of 200 characters": { name: "a".repeat(200) } },
  { "a name of 201 characters": { name: "a".repeat(201) } },
);
check(
  "faqs_sort_order_non_negative",
  "api.faqs",
  { "a sort_order of 0": { sort_order: 0 } },
  { "a sort_order of -1": { sort_order: -1 } },
);
check(
  "faqs_question_not_blank",
  "api.faqs",
  {},
  { "an empty question": { question: "" }, "a question of spaces": { question: "  " } },
);
check(
  "faqs_answer_not_blank",
  "api.faqs",
  {},
  { "an empty answer": { answer: "" }, "an answer of spaces": { answer: "  " } },
);
check(
  "audit_logs_resource_not_blank",
  "api.audit_logs",
  {},
  { "an empty resource": { resource: "" }, "a resource of spaces": { resource: "  " } },
);
check(
  "websocket_connections_connection_id_not_blank",
  "api.websocket_connections",
  {},
  { "an empty connection_id": { connection_id: "" }, "a connection_id of spaces": { connection_id: "  " } },
);
check(
  "websocket_room_memberships_room_id_not_blank",
  "api.websocket_room_memberships",
  {},
  { "an empty room_id": { room_id: "" }, "a room_id of spaces": { room_id: "  " } },
);
check(
  "websocket_events_delivery_consistent",
  "api.websocket_events",
  {
    "a delivered event with delivered_at": { is_delivered: true, delivered_at: new Date() },
    "an undelivered event without delivered_at": { is_delivered: false, delivered_at: null },
  },
  {
    "a delivered event without delivered_at": { is_delivered: true, delivered_at: null },
    "an undelivered event with delivered_at": { is_delivered: false, delivered_at: new Date() },
  },
);
check(
  "real_time_notifications_title_not_blank",
  "api.real_time_notifications",
  {},
  { "an empty title": { title: "" }, "a title of spaces": { title: "   " } },
);
check(
  "real_time_notifications_unread_has_no_read_at",
  "api.real_time_notifications",
  {
    "a read notification with read_at": { read: true, read_at: new Date() },
    "an unread notification without read_at": { read: false, read_at: null },
  },
  { "an unread notification with read_at": { read: false, read_at: new Date() } },
);
check(
  "user_secrets_password_hash_bcrypt",
  "app_private.user_secrets",
  {
    "a $2b$ bcrypt hash": { password_hash: BCRYPT },
    "a $2y$ bcrypt hash": { password_hash: BCRYPT.replace("$2b$", "$2y$") },
  },
  {
    "a plain-text password": { password_hash: "rahasia123" },
    "an md5-crypt hash": { password_hash: "$1$saltsalt$qjXMvbEw8oaL.CzflDugX/" },
    "a bcrypt hash with a one-digit cost": {
      password_hash: "$2a$4$CdV8my4Q0XmSa9GL4ZkU5u7aKSVTS531QHrt3Fhfy0i7xCW45ZDQW",
    },
  },
);
check(
  "settings_name_format",
  "app_private.settings",
  { "a snake_case name": { name: "jwt_secret_2" } },
  {
    "an upper-case name": { name: "JWT_SECRET" },
    "a name starting with a digit": { name: "2fa_key" },
    "a name starting with _": { name: "_secret" },
    "a name with a hyphen": { name: "jwt-secret" },
    "an empty name": { name: "" },
  },
);

check(
  "rate_limits_max_count_positive",
  "app_private.rate_limits",
  { "a limit of 1": { max_count: 1 } },
  { "a limit of 0": { max_count: 0 }, "a negative limit": { max_count: -5 } },
);
check(
  "rate_limits_window_positive",
  "app_private.rate_limits",
  { "a one-second window": { window_seconds: 1 } },
  { "a zero window": { window_seconds: 0 }, "a negative window": { window_seconds: -60 } },
);

check(
  "breaker_snapshots_instance_id_format",
  "app_private.breaker_snapshots",
  {
    "hostname:pid:random": { instance_id: "web-1.jasaweb.id:4242:a1b2c3" },
    "a configured id": { instance_id: "worker_2@eu" },
  },
  {
    "an empty id": { instance_id: "" },
    "an id with a space": { instance_id: "worker 1" },
    "an id over 200 characters": { instance_id: "w".repeat(201) },
  },
);
check(
  "breaker_snapshots_breaker_format",
  "app_private.breaker_snapshots",
  { "a lower-case name": { breaker: "midtrans" }, "a name with - and _": { breaker: "mail_relay-2" } },
  {
    "an upper-case name": { breaker: "Midtrans" },
    "an empty name": { breaker: "" },
    "a leading digit": { breaker: "2x" },
  },
);
check(
  "breaker_snapshots_state_valid",
  "app_private.breaker_snapshots",
  { open: { state: "open" }, "half-open": { state: "half-open" } },
  { "half_open with an underscore": { state: "half_open" }, "an upper-case state": { state: "OPEN" } },
);
check(
  "breaker_snapshots_consecutive_failures_not_negative",
  "app_private.breaker_snapshots",
  { "0 failures": { consecutive_failures: 0 } },
  { "-1 failures": { consecutive_failures: -1 } },
);
check(
  "breaker_snapshots_half_open_successes_not_negative",
  "app_private.breaker_snapshots",
  { "1 success": { half_open_successes: 1 } },
  { "-1 successes": { half_open_successes: -1 } },
);
check(
  "breaker_snapshots_last_failure_complete",
  "app_private.breaker_snapshots",
  {
    "a failure with time and reason": {
      last_failure_at: new Date(),
      last_failure_reason: "MidtransTransientError: 503",
      total_calls: 1,
      total_failures: 1,
    },
  },
  {
    "a failure time without a reason": { last_failure_at: new Date() },
    "a reason without a time": { last_failure_reason: "503" },
  },
);
check(
  "breaker_snapshots_last_failure_reason_length",
  "app_private.breaker_snapshots",
  { "a reason of 1000 characters": { last_failure_at: new Date(), last_failure_reason: "x".repeat(1000) } },
  { "a reason of 1001 characters": { last_failure_at: new Date(), last_failure_reason: "x".repeat(1001) } },
);
check(
  "breaker_snapshots_totals_consistent",
  "app_private.breaker_snapshots",
  { "failures and rejections adding up to the calls": { total_calls: 5, total_failures: 3, total_rejections: 2 } },
  {
    "more failures and rejections than calls": { total_calls: 4, total_failures: 3, total_rejections: 2 },
    "negative failures": { total_calls: 1, total_failures: -1 },
    "negative rejections": { total_calls: 1, total_rejections: -1 },
  },
);
check(
  "breaker_snapshots_heartbeat_ms_range",
  "app_private.breaker_snapshots",
  { "a 100 ms beat": { heartbeat_ms: 100 }, "an hourly beat": { heartbeat_ms: 3_600_000 } },
  { "a 99 ms beat": { heartbeat_ms: 99 }, "a beat over an hour": { heartbeat_ms: 3_600_001 } },
);

check(
  "breaker_reset_requests_breaker_format",
  "app_private.breaker_reset_requests",
  { "a lower-case name": { breaker: "midtrans" }, "a name with - and _": { breaker: "mail_relay-2" } },
  { "an upper-case name": { breaker: "Midtrans" }, "an empty name": { breaker: "" } },
);
check(
  "breaker_reset_requests_requested_at_milliseconds",
  "app_private.breaker_reset_requests",
  { "a time in whole milliseconds": { requested_at: "2025-03-01T10:00:00.123Z" } },
  { "a time with microseconds": { requested_at: "2025-03-01T10:00:00.123456Z" } },
);
const UUID_A = "0b4c7f0e-5d7a-4f4e-9c1a-2f3e4d5c6b7a";
check(
  "realtime_messages_event_valid",
  "app_private.realtime_messages",
  {
    payment_received: { event: "payment_received" },
    "notification (not in api.websocket_event_type)": { event: "notification" },
    admin_broadcast: { event: "admin_broadcast", rooms: ["all"] },
  },
  { "an unknown event": { event: "heartbeat" }, "an upper-case event": { event: "PROJECT_UPDATE" } },
);
check(
  "realtime_messages_rooms_valid",
  "app_private.realtime_messages",
  {
    "one user room": { rooms: [`user:${UUID_A}`] },
    everyone: { rooms: ["all"] },
    "admins only": { rooms: ["admin"] },
  },
  {
    "no room": { rooms: [] },
    "four rooms": { rooms: ["admin", "all", `user:${UUID_A}`, `project:${UUID_A}`] },
    "a room that is not a uuid": { rooms: ["user:42"] },
    "an unknown kind of room": { rooms: [`team:${UUID_A}`] },
    "a null room": { rooms: ["admin", null] },
    "an upper-case uuid": { rooms: [`user:${UUID_A.toUpperCase()}`] },
  },
);
check(
  "realtime_messages_payload_small",
  "app_private.realtime_messages",
  { "a payload of ids": { payload: { invoice_id: UUID_A } }, "16 kB": { payload: { x: "a".repeat(16375) } } },
  {
    "a payload over 16 kB": { payload: { x: "a".repeat(16376) } },
    "an array": { payload: JSON.stringify([UUID_A]) },
    "a string": { payload: JSON.stringify("x") },
  },
);
check(
  "realtime_messages_expires_at_after_created_at",
  "app_private.realtime_messages",
  { "a one-minute life": { expires_at: new Date(Date.now() + 60_000) } },
  { "already expired": { expires_at: new Date(Date.now() - 60_000) } },
);
check(
  "realtime_messages_max_attempts_range",
  "app_private.realtime_messages",
  { "one attempt": { max_attempts: 1 }, "a hundred attempts": { max_attempts: 100 } },
  { "no attempt": { max_attempts: 0 }, "more than a hundred": { max_attempts: 101 } },
);
check(
  "realtime_deliveries_attempts_valid",
  "app_private.realtime_deliveries",
  { "5 attempts of 5": { attempts: 5, max_attempts: 5 }, "none yet": { attempts: 0 } },
  {
    "negative attempts": { attempts: -1 },
    "max_attempts 0": { max_attempts: 0 },
    "more attempts than max_attempts": { attempts: 6, max_attempts: 5 },
  },
);
check(
  "websocket_events_event_type_valid",
  "api.websocket_events",
  { notification: { event_type: "notification" }, admin_broadcast: { event_type: "admin_broadcast" } },
  { "an unknown event": { event_type: "ping" }, "an upper-case event": { event_type: "HEARTBEAT" } },
);

describe("CHECK constraints", () => {
  test.each(checkCases)("$title", async ({ table, row, expected }) => {
    expect(await attempt(table, row)).toEqual(expected);
  });

  test("the cases above cover every CHECK constraint of the schema", async () => {
    const rows = await db.query<{ conname: string }>(
      `select distinct con.conname
         from pg_constraint con
         join pg_class c on c.oid = con.conrelid
         join pg_namespace n on n.oid = c.relnamespace
        where con.contype = 'c' and n.nspname in ('api', 'app_private') and not c.relispartition
        order by 1`,
    );
    const tested = [
      ...new Set(
        checkCases.filter((c) => c.expected !== "ok").map((c) => (c.expected as { constraint: string }).constraint),
      ),
    ];
    expect(tested.sort()).toEqual(rows.map((r) => r.conname).sort());
  });

  // The *_not_blank checks are written btrim(x) <> '', and btrim trims
  // spaces only: a value of tabs and newlines still shows up blank.
  test("refuses text of only tabs and newlines in every *_not_blank column (users_name_not_blank, faqs_answer_not_blank, …)", async () => {
    const blankColumns: [constraint: string, table: string, column: string][] = [
      ["users_name_not_blank", "api.users", "name"],
      ["projects_name_not_blank", "api.projects", "name"],
      ["templates_name_not_blank", "api.templates", "name"],
      ["posts_title_not_blank", "api.posts", "title"],
      ["pages_title_not_blank", "api.pages", "title"],
      ["pricing_plans_name_not_blank", "api.pricing_plans", "name"],
      ["faqs_question_not_blank", "api.faqs", "question"],
      ["faqs_answer_not_blank", "api.faqs", "answer"],
      ["audit_logs_resource_not_blank", "api.audit_logs", "resource"],
      ["websocket_connections_connection_id_not_blank", "api.websocket_connections", "connection_id"],
      ["websocket_room_memberships_room_id_not_blank", "api.websocket_room_memberships", "room_id"],
      ["real_time_notifications_title_not_blank", "api.real_time_notifications", "title"],
    ];
    const accepted: string[] = [];
    for (const [constraint, table, column] of blankColumns) {
      const result = await attempt(table, { [column]: "\t\n" });
      if (result === "ok") accepted.push(constraint);
      else expect(result).toEqual(violation("23514", constraint));
    }
    expect(accepted).toEqual([]);
  });
});

describe("UNIQUE keys", () => {
  const uniques: { key: string; table: string; first: Row; second: Row }[] = [
    {
      key: "users_email_key",
      table: "api.users",
      first: { email: "ani@example.id" },
      second: { email: "ani@example.id", name: "Ani Lain" },
    },
    {
      key: "posts_slug_key",
      table: "api.posts",
      first: { slug: "halo" },
      second: { slug: "halo", title: "Judul lain" },
    },
    {
      key: "pages_slug_key",
      table: "api.pages",
      first: { slug: "kontak" },
      second: { slug: "kontak", title: "Kontak 2" },
    },
    { key: "pricing_plans_identifier_key", table: "api.pricing_plans", first: {}, second: { name: "Premium Lain" } },
    {
      key: "invoices_midtrans_order_id_key",
      table: "api.invoices",
      first: { midtrans_order_id: "JW-1" },
      second: { midtrans_order_id: "JW-1" },
    },
    { key: "websocket_connections_connection_id_key", table: "api.websocket_connections", first: {}, second: {} },
    {
      key: "payment_attempts_order_id_key",
      table: "api.payment_attempts",
      first: { order_id: "JW-dup-1" },
      second: { order_id: "JW-dup-1" },
    },
    {
      key: "refunds_refund_key_key",
      table: "api.refunds",
      first: { refund_key: "JW-R-dup" },
      second: { refund_key: "JW-R-dup", amount: 1 },
    },
    {
      key: "websocket_room_memberships_connection_id_room_id_key",
      table: "api.websocket_room_memberships",
      first: { room_id: "project:1" },
      second: { room_id: "project:1" },
    },
  ];
  test.each(uniques)("refuses a duplicate (23505 $key)", async ({ key, table, first, second }) => {
    const result = await inRolledBackTransaction(db, async (client) => {
      await insertRow(client, table, { ...validRow[table]!(), ...first });
      return outcomeOf(() => insertRow(client, table, { ...validRow[table]!(), ...second }));
    });
    expect(result).toEqual(violation("23505", key));
  });

  test("the cases above cover every UNIQUE constraint of the schema", async () => {
    const rows = await db.query<{ conname: string }>(
      `select con.conname from pg_constraint con join pg_class c on c.oid = con.conrelid
        where con.contype = 'u' and c.relnamespace in ('api'::regnamespace, 'app_private'::regnamespace) and not c.relispartition`,
    );
    expect(uniques.map((u) => u.key).sort()).toEqual(rows.map((r) => r.conname).sort());
  });

  test("allows many invoices without a Midtrans order id (invoices_midtrans_order_id_key)", async () => {
    const count = await inRolledBackTransaction(db, async (client) => {
      for (let i = 0; i < 3; i++)
        await insertRow(client, "api.invoices", { ...validRow["api.invoices"]!(), midtrans_order_id: null });
      const { rows } = await client.query<{ n: number }>(
        "select count(*)::int as n from api.invoices where midtrans_order_id is null and id <> $1",
        [fx.invoiceId],
      );
      return rows[0]!.n;
    });
    expect(count).toBe(3);
  });

  test("lets a connection join several rooms and a room hold several connections (websocket_room_memberships_connection_id_room_id_key)", async () => {
    const count = await inRolledBackTransaction(db, async (client) => {
      await insertRow(client, "api.websocket_connections", validRow["api.websocket_connections"]!());
      for (const [connection_id, room_id] of [
        [fx.connectionId, "admin"],
        [fx.connectionId, `user:${fx.userId}`],
        ["socket-2", "admin"],
      ]) {
        await insertRow(client, "api.websocket_room_memberships", { connection_id, room_id });
      }
      const { rows } = await client.query<{ n: number }>(
        "select count(*)::int as n from api.websocket_room_memberships",
      );
      return rows[0]!.n;
    });
    expect(count).toBe(3);
  });
});

describe("enums", () => {
  const enums: { type: string; labels: string[]; wrong: string; table: string; column: string; extra?: Row }[] = [
    { type: "user_role", labels: ["admin", "client"], wrong: "Admin", table: "api.users", column: "role" },
    {
      type: "project_type",
      labels: ["sekolah", "berita", "company"],
      wrong: "toko",
      table: "api.projects",
      column: "type",
    },
    {
      type: "project_status",
      labels: ["pending_payment", "in_progress", "review", "completed"],
      wrong: "done",
      table: "api.projects",
      column: "status",
    },
    {
      type: "invoice_status",
      labels: ["unpaid", "paid", "pending", "failed", "cancelled", "expired", "refunded", "partial_refunded"],
      wrong: "canceled",
      table: "api.invoices",
      column: "status",
      extra: { paid_at: new Date() },
    },
    {
      type: "post_status",
      labels: ["draft", "published"],
      wrong: "archived",
      table: "api.posts",
      column: "status",
      extra: { published_at: new Date() },
    },
    {
      type: "pricing_plan_color",
      labels: ["primary", "success", "warning"],
      wrong: "danger",
      table: "api.pricing_plans",
      column: "color",
    },
    {
      type: "audit_action",
      labels: [
        "CREATE",
        "UPDATE",
        "DELETE",
        "LOGIN",
        "LOGOUT",
        "VIEW",
        "PAYMENT_INIT",
        "PAYMENT_SUCCESS",
        "PAYMENT_FAILED",
        "EXPORT",
        "IMPORT",
        "ROLE_CHANGE",
      ],
      wrong: "create",
      table: "api.audit_logs",
      column: "action",
    },
    {
      type: "notification_type",
      labels: [
        "project_status_change",
        "payment_received",
        "system_announcement",
        "admin_alert",
        "deadline_reminder",
        "new_feature",
      ],
      wrong: "promo",
      table: "api.real_time_notifications",
      column: "type",
    },
    {
      type: "notification_priority",
      labels: ["low", "medium", "high", "critical"],
      wrong: "urgent",
      table: "api.real_time_notifications",
      column: "priority",
    },
  ];

  test.each(enums)("api.$type has exactly its labels, in order", async ({ type, labels }) => {
    const rows = await db.query<{ label: string }>(
      `select enumlabel as label from pg_enum where enumtypid = $1::regtype order by enumsortorder`,
      [`api.${type}`],
    );
    expect(rows.map((r) => r.label)).toEqual(labels);
  });

  test.each(enums)("$table.$column accepts every api.$type label", async ({ labels, table, column, extra }) => {
    const outcomes: Record<string, Outcome> = {};
    for (const label of labels) outcomes[label] = await attempt(table, { ...extra, [column]: label });
    expect(outcomes).toEqual(Object.fromEntries(labels.map((l) => [l, "ok"])));
  });

  test.each(enums)(
    "$table.$column refuses '$wrong' (22P02 invalid input value for enum api.$type)",
    async ({ type, wrong, table, column, extra }) => {
      const error = await inRolledBackTransaction(db, (client) =>
        insertRow(client, table, { ...validRow[table]!(), ...extra, [column]: wrong }).then(
          () => undefined,
          (e: unknown) => e,
        ),
      );
      expect(error).toMatchObject({ code: "22P02", message: `invalid input value for enum api.${type}: "${wrong}"` });
    },
  );

  test("templates.category takes the project types (api.project_type)", async () => {
    expect(await attempt("api.templates", { category: "company" })).toBe("ok");
    expect(await attempt("api.templates", { category: "toko" })).toEqual({ code: "22P02", constraint: undefined });
  });
});

describe("foreign keys", () => {
  type Graph = {
    userId: string;
    projectId: string;
    invoiceId: string;
    connectionId: string;
    eventId: string;
    membershipId: string;
    notificationId: string;
    auditId: string;
  };
  const one = async (client: Client, sql: string, params: unknown[]) =>
    (await client.query<{ id: string }>(sql, params)).rows[0]!.id;

  /** A user with one row in every table that hangs off it. */
  async function userWithEverything(client: Client, tag: string): Promise<Graph> {
    const userId = await one(client, `insert into api.users (email, name) values ($1, $2) returning id`, [
      `${tag}@example.id`,
      tag,
    ]);
    await client.query(`insert into app_private.user_secrets (user_id, password_hash) values ($1, $2)`, [
      userId,
      BCRYPT,
    ]);
    const projectId = await one(
      client,
      `insert into api.projects (user_id, name, type) values ($1, 'Proyek', 'company') returning id`,
      [userId],
    );
    await client.query(
      `insert into app_private.project_secrets (project_id, credentials_encrypted) values ($1, '\\x00')`,
      [projectId],
    );
    const invoiceId = await one(
      client,
      `insert into api.invoices (project_id, amount) values ($1, 2500000) returning id`,
      [projectId],
    );
    const connectionId = `${tag}-socket`;
    await client.query(
      `insert into api.websocket_connections (user_id, connection_id, role) values ($1, $2, 'client')`,
      [userId, connectionId],
    );
    const eventId = await one(
      client,
      `insert into api.websocket_events (event_type, connection_id) values ('heartbeat', $1) returning id`,
      [connectionId],
    );
    const membershipId = await one(
      client,
      `insert into api.websocket_room_memberships (connection_id, room_id) values ($1, 'admin') returning id`,
      [connectionId],
    );
    const notificationId = await one(
      client,
      `insert into api.real_time_notifications (user_id, type, title, message) values ($1, 'new_feature', 'Baru', 'Pesan') returning id`,
      [userId],
    );
    const auditId = await one(
      client,
      `insert into api.audit_logs (user_id, action, resource) values ($1, 'LOGIN', 'users') returning id`,
      [userId],
    );
    return { userId, projectId, invoiceId, connectionId, eventId, membershipId, notificationId, auditId };
  }

  const count = async (client: Client, sql: string, param: string) =>
    (await client.query<{ n: number }>(`select count(*)::int as n ${sql}`, [param])).rows[0]!.n;

  const userChildren: { what: string; fkeys: string; sql: string; key: keyof Graph }[] = [
    { what: "projects", fkeys: "projects_user_id_fkey", sql: "from api.projects where id = $1", key: "projectId" },
    {
      what: "their invoices",
      fkeys: "projects_user_id_fkey → invoices_project_id_fkey",
      sql: "from api.invoices where id = $1",
      key: "invoiceId",
    },
    {
      what: "their project secrets",
      fkeys: "projects_user_id_fkey → project_secrets_project_id_fkey",
      sql: "from app_private.project_secrets where project_id = $1",
      key: "projectId",
    },
    {
      what: "the password hash",
      fkeys: "user_secrets_user_id_fkey",
      sql: "from app_private.user_secrets where user_id = $1",
      key: "userId",
    },
    {
      what: "websocket connections",
      fkeys: "websocket_connections_user_id_fkey",
      sql: "from api.websocket_connections where connection_id = $1",
      key: "connectionId",
    },
    {
      what: "their websocket events",
      fkeys: "websocket_connections_user_id_fkey → websocket_events_connection_id_fkey",
      sql: "from api.websocket_events where id = $1",
      key: "eventId",
    },
    {
      what: "their room memberships",
      fkeys: "websocket_connections_user_id_fkey → websocket_room_memberships_connection_id_fkey",
      sql: "from api.websocket_room_memberships where id = $1",
      key: "membershipId",
    },
    {
      what: "notifications",
      fkeys: "real_time_notifications_user_id_fkey",
      sql: "from api.real_time_notifications where id = $1",
      key: "notificationId",
    },
  ];

  test.each(userChildren)(
    "deleting a user deletes $what, not another user's (cascade $fkeys)",
    async ({ sql, key }) => {
      const [gone, kept] = await inRolledBackTransaction(db, async (client) => {
        const deleted = await userWithEverything(client, "hapus");
        const other = await userWithEverything(client, "tetap");
        expect(await count(client, sql, deleted[key])).toBe(1);
        await client.query("delete from api.users where id = $1", [deleted.userId]);
        return [await count(client, sql, deleted[key]), await count(client, sql, other[key])];
      });
      expect({ gone, kept }).toEqual({ gone: 0, kept: 1 });
    },
  );

  test("deleting a user keeps their audit rows with user_id set to NULL (audit_logs_user_id_fkey on delete set null)", async () => {
    const rows = await inRolledBackTransaction(db, async (client) => {
      const deleted = await userWithEverything(client, "hapus");
      const other = await userWithEverything(client, "tetap");
      await client.query("delete from api.users where id = $1", [deleted.userId]);
      const { rows } = await client.query<{ mine: boolean; user_id: string | null; action: string }>(
        `select id = $1 as mine, user_id, action::text from api.audit_logs where id in ($1, $2) order by mine desc`,
        [deleted.auditId, other.auditId],
      );
      return rows.map((r) => ({ ...r, user_id: r.user_id === other.userId ? "other" : r.user_id }));
    });
    expect(rows).toEqual([
      { mine: true, user_id: null, action: "LOGIN" },
      { mine: false, user_id: "other", action: "LOGIN" },
    ]);
  });

  test("deleting a user keeps the breaker reset they requested, with requested_by NULL (breaker_reset_requests_requested_by_fkey on delete set null)", async () => {
    const rows = await inRolledBackTransaction(db, async (client) => {
      const deleted = await userWithEverything(client, "hapus");
      await client.query(
        "insert into app_private.breaker_reset_requests (breaker, requested_at, requested_by) values ('set-null-test', '2025-03-01T10:00:00Z', $1)",
        [deleted.userId],
      );
      await client.query("delete from api.users where id = $1", [deleted.userId]);
      const { rows } = await client.query(
        "select requested_by from app_private.breaker_reset_requests where breaker = 'set-null-test'",
      );
      return rows;
    });
    expect(rows).toEqual([{ requested_by: null }]);
  });

  test("deleting a post or a page deletes its stored search vectors (post_search_vectors_post_id_fkey, page_search_vectors_page_id_fkey)", async () => {
    const left = await inRolledBackTransaction(db, async (client) => {
      const post = await client.query<{ id: string }>(
        "insert into api.posts (title, slug, content) values ('Sementara', 'sementara', 'Isi.') returning id",
      );
      const page = await client.query<{ id: string }>(
        "insert into api.pages (title, slug, content) values ('Sementara', 'sementara', 'Isi.') returning id",
      );
      const [postId, pageId] = [post.rows[0]!.id, page.rows[0]!.id];
      const stored = {
        post: await count(client, "from app_private.post_search_vectors where post_id = $1", postId),
        page: await count(client, "from app_private.page_search_vectors where page_id = $1", pageId),
      };
      await client.query("delete from api.posts where id = $1", [postId]);
      await client.query("delete from api.pages where id = $1", [pageId]);
      return {
        stored,
        after: {
          post: await count(client, "from app_private.post_search_vectors where post_id = $1", postId),
          page: await count(client, "from app_private.page_search_vectors where page_id = $1", pageId),
        },
      };
    });
    expect(left).toEqual({ stored: { post: 1, page: 1 }, after: { post: 0, page: 0 } });
  });

  test("deleting a project deletes its invoices and secrets and keeps its owner (invoices_project_id_fkey, project_secrets_project_id_fkey)", async () => {
    const left = await inRolledBackTransaction(db, async (client) => {
      const g = await userWithEverything(client, "proyek");
      await client.query("delete from api.projects where id = $1", [g.projectId]);
      return {
        invoices: await count(client, "from api.invoices where id = $1", g.invoiceId),
        secrets: await count(client, "from app_private.project_secrets where project_id = $1", g.projectId),
        owner: await count(client, "from api.users where id = $1", g.userId),
      };
    });
    expect(left).toEqual({ invoices: 0, secrets: 0, owner: 1 });
  });

  const missingParent = "00000000-0000-4000-8000-000000000000";
  const orphans: { fkey: string; table: string; row: Row }[] = [
    { fkey: "projects_user_id_fkey", table: "api.projects", row: { user_id: missingParent } },
    { fkey: "invoices_project_id_fkey", table: "api.invoices", row: { project_id: missingParent } },
    { fkey: "payment_attempts_invoice_id_fkey", table: "api.payment_attempts", row: { invoice_id: missingParent } },
    { fkey: "refunds_invoice_id_fkey", table: "api.refunds", row: { invoice_id: missingParent } },
    { fkey: "refunds_requested_by_fkey", table: "api.refunds", row: { requested_by: missingParent } },
    { fkey: "user_secrets_user_id_fkey", table: "app_private.user_secrets", row: { user_id: missingParent } },
    {
      fkey: "project_secrets_project_id_fkey",
      table: "app_private.project_secrets",
      row: { project_id: missingParent },
    },
    { fkey: "websocket_connections_user_id_fkey", table: "api.websocket_connections", row: { user_id: missingParent } },
    {
      fkey: "websocket_room_memberships_connection_id_fkey",
      table: "api.websocket_room_memberships",
      row: { connection_id: "no-such-socket" },
    },
    {
      fkey: "websocket_events_connection_id_fkey",
      table: "api.websocket_events",
      row: { connection_id: "no-such-socket" },
    },
    {
      fkey: "real_time_notifications_user_id_fkey",
      table: "api.real_time_notifications",
      row: { user_id: missingParent },
    },
    { fkey: "audit_logs_user_id_fkey", table: "api.audit_logs", row: { user_id: missingParent } },
    {
      fkey: "breaker_reset_requests_requested_by_fkey",
      table: "app_private.breaker_reset_requests",
      row: { requested_by: missingParent },
    },
    {
      fkey: "realtime_deliveries_user_id_fkey",
      table: "app_private.realtime_deliveries",
      row: { user_id: missingParent },
    },
    {
      fkey: "realtime_deliveries_message_id_fkey",
      table: "app_private.realtime_deliveries",
      row: { message_id: 999_999_999 },
    },
    {
      fkey: "revoked_tokens_user_id_fkey",
      table: "app_private.revoked_tokens",
      row: { user_id: missingParent },
    },
    { fkey: "post_search_vectors_post_id_fkey", table: "app_private.post_search_vectors", row: {} },
    { fkey: "page_search_vectors_page_id_fkey", table: "app_private.page_search_vectors", row: {} },
  ];
  test.each(orphans)(
    "refuses a row whose parent does not exist in $table (23503 $fkey)",
    async ({ fkey, table, row }) => {
      expect(await attempt(table, row)).toEqual(violation("23503", fkey));
    },
  );

  test("the cases above cover every foreign key of the schema", async () => {
    const rows = await db.query<{ conname: string }>(
      `select distinct con.conname
         from pg_constraint con
         join pg_class c on c.oid = con.conrelid
         join pg_namespace n on n.oid = c.relnamespace
        where con.contype = 'f' and n.nspname in ('api', 'app_private') and not c.relispartition
        order by 1`,
    );
    expect(orphans.map((o) => o.fkey).sort()).toEqual(rows.map((r) => r.conname).sort());
  });
});

describe("defaults", () => {
  const uuidV4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
  const tables: { table: string; createdAt: string; second?: Row }[] = [
    { table: "api.users", createdAt: "created_at", second: { email: "dua@example.id" } },
    { table: "api.projects", createdAt: "created_at" },
    { table: "api.invoices", createdAt: "created_at" },
    { table: "api.templates", createdAt: "created_at" },
    { table: "api.posts", createdAt: "created_at", second: { slug: "kedua" } },
    { table: "api.pages", createdAt: "created_at", second: { slug: "kedua" } },
    { table: "api.pricing_plans", createdAt: "created_at", second: { identifier: "kedua" } },
    { table: "api.faqs", createdAt: "created_at" },
    { table: "api.audit_logs", createdAt: "timestamp" },
    { table: "api.websocket_connections", createdAt: "connected_at", second: { connection_id: "socket-3" } },
    { table: "api.websocket_room_memberships", createdAt: "joined_at", second: { room_id: "project:2" } },
    { table: "api.websocket_events", createdAt: "created_at" },
    { table: "api.real_time_notifications", createdAt: "created_at" },
    { table: "api.refunds", createdAt: "created_at" },
  ];
  test.each(tables)(
    "$table gets a random UUID id and $createdAt = now() from the database",
    async ({ table, createdAt, second }) => {
      const rows = await inRolledBackTransaction(db, async (client) => {
        const returning = `id::text, "${createdAt}" = now() as stamped_now`;
        return [
          await insertRow<{ id: string; stamped_now: boolean }>(client, table, validRow[table]!(), returning),
          await insertRow<{ id: string; stamped_now: boolean }>(
            client,
            table,
            { ...validRow[table]!(), ...second },
            returning,
          ),
        ];
      });
      expect(rows).toEqual([
        { id: expect.stringMatching(uuidV4), stamped_now: true },
        { id: expect.stringMatching(uuidV4), stamped_now: true },
      ]);
      expect(rows[0]!.id).not.toBe(rows[1]!.id);
    },
  );

  const columnDefaults: { table: string; expected: Row }[] = [
    { table: "api.users", expected: { role: "client", phone: null } },
    { table: "api.projects", expected: { status: "pending_payment", url: null } },
    { table: "api.invoices", expected: { status: "unpaid", paid_at: null, midtrans_order_id: null } },
    { table: "api.posts", expected: { status: "draft", published_at: null } },
    {
      table: "api.pricing_plans",
      expected: { features: [], popular: false, color: "primary", sort_order: 0, is_active: true },
    },
    { table: "api.faqs", expected: { sort_order: 0, is_active: true } },
    { table: "api.websocket_connections", expected: { is_alive: true, rooms: [] } },
    { table: "api.websocket_events", expected: { payload: {}, is_delivered: false, delivered_at: null } },
    { table: "api.real_time_notifications", expected: { priority: "medium", read: false, read_at: null } },
    {
      table: "api.refunds",
      expected: { status: "requested", failure_reason: null, completed_at: null, midtrans_refund_id: null },
    },
  ];
  test.each(columnDefaults)("a new row of $table starts as $expected", async ({ table, expected }) => {
    const row = await inRolledBackTransaction(db, (client) => insertRow(client, table, validRow[table]!()));
    expect(row).toMatchObject(expected);
  });

  const stamped: { table: string; change: string; key: string; row: () => Row }[] = [
    {
      table: "api.projects",
      change: "name = 'Nama Baru'",
      key: "id",
      row: () => ({ user_id: fx.userId, name: "Lama", type: "company" }),
    },
    {
      table: "api.pages",
      change: "content = 'Isi baru'",
      key: "id",
      row: () => ({ title: "Kontak", slug: "kontak-stamp", content: "Isi" }),
    },
    {
      table: "api.pricing_plans",
      change: "price = 3000000",
      key: "id",
      row: () => ({ ...validRow["api.pricing_plans"]!(), identifier: "stamp" }),
    },
    { table: "api.faqs", change: "answer = 'Jawaban baru'", key: "id", row: () => validRow["api.faqs"]!() },
    {
      table: "api.refunds",
      change: "status = 'succeeded', completed_at = now()",
      key: "id",
      row: () => validRow["api.refunds"]!(),
    },
    {
      table: "app_private.user_secrets",
      change: `password_hash = '${BCRYPT}'`,
      key: "user_id",
      row: () => validRow["app_private.user_secrets"]!(),
    },
    {
      table: "app_private.project_secrets",
      change: "credentials_encrypted = '\\x01'",
      key: "project_id",
      row: () => validRow["app_private.project_secrets"]!(),
    },
    {
      table: "app_private.breaker_snapshots",
      change: "state = 'open', opened_at = now()",
      key: "instance_id",
      row: () => validRow["app_private.breaker_snapshots"]!(),
    },
    {
      table: "app_private.settings",
      change: "value = 'baru'",
      key: "name",
      row: () => ({ name: "stamp_setting", value: "lama" }),
    },
  ];
  test.each(stamped)(
    "an UPDATE of $table in a later transaction bumps updated_at (trigger _100_timestamps)",
    async ({ table, change, key, row }) => {
      // Two autocommitted statements: two transactions, two values of now().
      // Two autocommitted statements: two transactions, two values of now()
      // (compared in SQL: they can be less than a millisecond apart).
      const inserted = await insertRow<{ k: string; updated_at: string }>(
        db.pool,
        table,
        row(),
        `"${key}"::text as k, updated_at::text`,
      );
      try {
        const [updated] = await db.query<{ later: boolean; is_now: boolean }>(
          `update ${table} set ${change}, updated_at = '2000-01-01T00:00:00Z' where "${key}"::text = $1
         returning updated_at > $2::timestamptz as later, updated_at = now() as is_now`,
          [inserted.k, inserted.updated_at],
        );
        // Even an explicit updated_at is replaced by the time of the change.
        expect(updated).toEqual({ later: true, is_now: true });
      } finally {
        await db.query(`delete from ${table} where "${key}"::text = $1`, [inserted.k]);
      }
    },
  );

  test("only the tables with updated_at carry the timestamp trigger; users has no updated_at", async () => {
    const rows = await db.query<{ table: string; has_column: boolean; has_trigger: boolean }>(
      `select c.oid::regclass::text as table,
              exists (select 1 from pg_attribute a where a.attrelid = c.oid and a.attname = 'updated_at' and not a.attisdropped) as has_column,
              exists (select 1 from pg_trigger t where t.tgrelid = c.oid and t.tgname = '_100_timestamps') as has_trigger
         from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where n.nspname in ('api', 'app_private') and c.relkind in ('r', 'p') and not c.relispartition
        order by 1`,
    );
    for (const r of rows)
      expect({ table: r.table, trigger: r.has_trigger }).toEqual({ table: r.table, trigger: r.has_column });
    expect(
      rows
        .filter((r) => r.has_column)
        .map((r) => r.table)
        .sort(),
    ).toEqual([
      "api.faqs",
      "api.pages",
      "api.payment_attempts",
      "api.pricing_plans",
      "api.projects",
      "api.refunds",
      "app_private.breaker_snapshots",
      "app_private.project_secrets",
      "app_private.settings",
      "app_private.user_secrets",
    ]);
    expect(rows.find((r) => r.table === "api.users")).toEqual({
      table: "api.users",
      has_column: false,
      has_trigger: false,
    });
  });
});
