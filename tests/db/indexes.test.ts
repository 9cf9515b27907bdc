/**
 * The indexes of the blueprint, read back from the catalog: for each table the
 * exact set of indexes with their method, columns (and DESC), expressions and
 * predicates; the monthly partitions carry the same ones. Also: row level
 * security is on for every table, partitions included, and every table and
 * type the API exposes is documented.
 */
import { createMigratedDatabase, type TestDatabase } from "../helpers/database";

let db: TestDatabase;
beforeAll(async () => {
  db = await createMigratedDatabase();
});
afterAll(async () => {
  await db.drop();
});

type IndexRow = { name: string; def: string };

/**
 * pg_get_indexdef without its "CREATE INDEX name ON [ONLY] table USING" head:
 * "[unique] method (columns) [WHERE predicate]".
 */
async function indexesOf(table: string): Promise<Record<string, string>> {
  const rows = await db.query<IndexRow>(
    `select c.relname as name, pg_get_indexdef(i.indexrelid) as def
       from pg_index i join pg_class c on c.oid = i.indexrelid
      where i.indrelid = $1::regclass`,
    [table],
  );
  return Object.fromEntries(rows.map((r) => [r.name, normalise(r.def)]));
}
const normalise = (def: string) =>
  def.replace(/^CREATE (UNIQUE )?INDEX \S+ ON (?:ONLY )?\S+ USING /, (_, unique?: string) => (unique ? "unique " : ""));

const fts = (config: "english" | "indonesian", expression: string) =>
  `gin (to_tsvector('${config}'::regconfig, ${expression}))`;
const titleAndContent = "((title || ' '::text) || content)";

const expected: Record<string, Record<string, string>> = {
  "api.users": {
    users_pkey: "unique btree (id)",
    users_email_key: "unique btree (email)",
    users_role_idx: "btree (role)",
    users_created_at_idx: "btree (created_at)",
    users_role_created_at_idx: "btree (role, created_at)",
    users_role_created_at_desc_idx: "btree (role, created_at DESC)",
  },
  "api.projects": {
    projects_pkey: "unique btree (id)",
    projects_user_id_idx: "btree (user_id)",
    projects_status_idx: "btree (status)",
    projects_created_at_idx: "btree (created_at)",
    projects_user_id_status_idx: "btree (user_id, status)",
    projects_status_created_at_idx: "btree (status, created_at)",
    projects_user_id_status_created_at_desc_idx: "btree (user_id, status, created_at DESC)",
  },
  "api.invoices": {
    invoices_pkey: "unique btree (id)",
    invoices_midtrans_order_id_key: "unique btree (midtrans_order_id)",
    invoices_project_id_idx: "btree (project_id)",
    invoices_status_idx: "btree (status)",
    invoices_created_at_idx: "btree (created_at)",
    invoices_status_created_at_idx: "btree (status, created_at)",
    invoices_status_paid_at_desc_idx: "btree (status, paid_at DESC)",
  },
  "api.payment_attempts": {
    payment_attempts_pkey: "unique btree (id)",
    payment_attempts_order_id_key: "unique btree (order_id)",
    payment_attempts_invoice_id_idx: "btree (invoice_id)",
  },
  "api.refunds": {
    refunds_pkey: "unique btree (id)",
    refunds_refund_key_key: "unique btree (refund_key)",
    refunds_invoice_id_idx: "btree (invoice_id)",
    refunds_requested_by_idx: "btree (requested_by)",
  },
  "api.payment_notifications": {
    payment_notifications_pkey: "unique btree (id)",
    payment_notifications_order_id_idx: "btree (order_id)",
    payment_notifications_received_at_idx: "btree (received_at)",
  },
  "api.templates": {
    templates_pkey: "unique btree (id)",
    templates_category_idx: "btree (category)",
    templates_created_at_idx: "btree (created_at)",
    templates_category_created_at_idx: "btree (category, created_at)",
  },
  "api.posts": {
    posts_pkey: "unique btree (id)",
    posts_slug_key: "unique btree (slug)",
    posts_status_idx: "btree (status)",
    posts_created_at_idx: "btree (created_at)",
    posts_status_published_at_idx: "btree (status, published_at)",
    posts_published_slug_idx: "btree (slug, published_at DESC) WHERE (status = 'published'::api.post_status)",
    posts_title_fts_en_idx: fts("english", "title"),
    posts_title_fts_id_idx: fts("indonesian", "title"),
    posts_fts_en_idx: fts("english", titleAndContent),
    posts_fts_id_idx: fts("indonesian", titleAndContent),
  },
  "api.pages": {
    pages_pkey: "unique btree (id)",
    pages_slug_key: "unique btree (slug)",
    pages_fts_en_idx: fts("english", titleAndContent),
    pages_fts_id_idx: fts("indonesian", titleAndContent),
  },
  "api.pricing_plans": {
    pricing_plans_pkey: "unique btree (id)",
    pricing_plans_identifier_key: "unique btree (identifier)",
    pricing_plans_is_active_idx: "btree (is_active)",
    pricing_plans_sort_order_idx: "btree (sort_order)",
    pricing_plans_is_active_sort_order_idx: "btree (is_active, sort_order)",
    pricing_plans_identifier_is_active_idx: "btree (identifier, is_active)",
    pricing_plans_active_identifier_sort_order_idx: "btree (identifier, sort_order) WHERE (is_active = true)",
  },
  "api.faqs": {
    faqs_pkey: "unique btree (id)",
    faqs_sort_order_idx: "btree (sort_order)",
    faqs_is_active_idx: "btree (is_active)",
    faqs_is_active_sort_order_idx: "btree (is_active, sort_order)",
    faqs_active_sort_order_idx: "btree (sort_order) WHERE (is_active = true)",
  },
  "api.audit_logs": {
    audit_logs_pkey: 'unique btree (id, "timestamp")',
    audit_logs_user_id_idx: "btree (user_id)",
    audit_logs_action_idx: "btree (action)",
    audit_logs_resource_idx: "btree (resource)",
    audit_logs_timestamp_idx: 'btree ("timestamp")',
    audit_logs_resource_resource_id_idx: "btree (resource, resource_id)",
    audit_logs_timestamp_action_idx: 'btree ("timestamp", action)',
    audit_logs_user_id_timestamp_idx: 'btree (user_id, "timestamp")',
    audit_logs_user_id_action_timestamp_desc_idx: 'btree (user_id, action, "timestamp" DESC)',
    audit_logs_resource_timestamp_desc_idx: 'btree (resource, "timestamp" DESC)',
  },
  "api.websocket_connections": {
    websocket_connections_pkey: "unique btree (id)",
    websocket_connections_connection_id_key: "unique btree (connection_id)",
    websocket_connections_user_id_idx: "btree (user_id)",
    websocket_connections_is_alive_idx: "btree (is_alive)",
    websocket_connections_role_idx: "btree (role)",
    websocket_connections_last_activity_idx: "btree (last_activity)",
    websocket_connections_alive_last_activity_idx: "btree (is_alive, last_activity DESC) WHERE (is_alive = true)",
  },
  "api.websocket_events": {
    websocket_events_pkey: "unique btree (id, created_at)",
    websocket_events_connection_id_idx: "btree (connection_id)",
    websocket_events_created_at_idx: "btree (created_at)",
    websocket_events_event_type_idx: "btree (event_type)",
    websocket_events_room_id_idx: "btree (room_id)",
    websocket_events_is_delivered_idx: "btree (is_delivered)",
    websocket_events_undelivered_idx: "btree (connection_id, created_at) WHERE (is_delivered = false)",
    websocket_events_connection_id_message_id_idx: "btree (connection_id, message_id) WHERE (message_id IS NOT NULL)",
  },
  "api.websocket_room_memberships": {
    websocket_room_memberships_pkey: "unique btree (id)",
    websocket_room_memberships_connection_id_room_id_key: "unique btree (connection_id, room_id)",
    websocket_room_memberships_room_id_idx: "btree (room_id)",
    websocket_room_memberships_connection_id_idx: "btree (connection_id)",
  },
  "api.real_time_notifications": {
    real_time_notifications_pkey: "unique btree (id)",
    real_time_notifications_user_id_idx: "btree (user_id)",
    real_time_notifications_type_idx: "btree (type)",
    real_time_notifications_priority_idx: "btree (priority)",
    real_time_notifications_read_idx: "btree (read)",
    real_time_notifications_created_at_idx: "btree (created_at)",
    real_time_notifications_user_id_read_idx: "btree (user_id, read)",
    real_time_notifications_priority_created_at_idx: "btree (priority, created_at)",
    real_time_notifications_unread_idx: "btree (user_id, created_at DESC) WHERE (read = false)",
    real_time_notifications_urgent_idx:
      "btree (user_id, priority, created_at DESC) WHERE (priority = ANY (ARRAY['high'::api.notification_priority, 'critical'::api.notification_priority]))",
  },
};

describe("indexes", () => {
  test("the expectations cover every table of the api schema", async () => {
    const rows = await db.query<{ table: string }>(
      `select c.oid::regclass::text as table from pg_class c
        where c.relnamespace = 'api'::regnamespace and c.relkind in ('r', 'p') order by 1`,
    );
    expect(rows.map((r) => r.table).sort()).toEqual(Object.keys(expected).sort());
  });

  test.each(Object.entries(expected))("%s has exactly the blueprint's indexes", async (table, indexes) => {
    expect(await indexesOf(table)).toEqual(indexes);
  });

  test("every index is valid and ready (none was left half-built)", async () => {
    const rows = await db.query<{ name: string }>(
      `select i.indexrelid::regclass::text as name from pg_index i join pg_class c on c.oid = i.indrelid
        where c.relnamespace in ('api'::regnamespace, 'app_private'::regnamespace)
          and not (i.indisvalid and i.indisready)`,
    );
    expect(rows).toEqual([]);
  });

  // Each partition (monthly and default) has its own copy of every index of
  // the parent, attached to it: queries on one month use them too.
  test.each(["api.audit_logs", "api.websocket_events"])(
    "every partition of %s carries each of its indexes",
    async (parent) => {
      const rows = await db.query<{ partition: string; parent_index: string; def: string }>(
        `select part.relid::regclass::text as partition, parent_index.relname as parent_index, pg_get_indexdef(child_index.inhrelid) as def
         from pg_partition_tree($1::regclass) part
         join pg_index pi on pi.indrelid = $1::regclass
         join pg_class parent_index on parent_index.oid = pi.indexrelid
         left join (pg_inherits child_index join pg_index ci on ci.indexrelid = child_index.inhrelid)
           on child_index.inhparent = pi.indexrelid and ci.indrelid = part.relid
        where part.isleaf`,
        [parent],
      );
      const partitions = [...new Set(rows.map((r) => r.partition))].sort();
      const name = parent.replace("api.", "");
      expect(partitions).toContain(`app_private.${name}_default`);
      expect(partitions.filter((p) => /_p\d{6}$/.test(p)).length).toBeGreaterThanOrEqual(4);
      const byPartition: Record<string, Record<string, string | null>> = {};
      for (const r of rows)
        (byPartition[r.partition] ??= {})[r.parent_index] = r.def === null ? null : normalise(r.def);
      for (const partition of partitions) {
        expect({ partition, indexes: byPartition[partition] }).toEqual({ partition, indexes: expected[parent] });
      }
    },
  );
});

describe("row level security and documentation", () => {
  test("row level security is enabled on every table of api and app_private, partitions included", async () => {
    const rows = await db.query<{ table: string; rls: boolean }>(
      `select c.oid::regclass::text as table, c.relrowsecurity as rls from pg_class c
        where c.relnamespace in ('api'::regnamespace, 'app_private'::regnamespace) and c.relkind in ('r', 'p')
        order by 1`,
    );
    expect(rows.length).toBeGreaterThanOrEqual(14 + 3 + 2 * 5);
    expect(rows.map((r) => r.table)).toEqual(
      expect.arrayContaining(["app_private.audit_logs_default", "app_private.user_secrets"]),
    );
    expect(rows.filter((r) => !r.rls)).toEqual([]);
  });

  test("every table and type of the api schema has a comment", async () => {
    const rows = await db.query<{ object: string; comment: string | null }>(
      `select 'table ' || c.oid::regclass::text as object, obj_description(c.oid, 'pg_class') as comment
         from pg_class c where c.relnamespace = 'api'::regnamespace and c.relkind in ('r', 'p', 'v', 'm')
       union all
       select 'type ' || t.oid::regtype::text, obj_description(t.oid, 'pg_type')
         from pg_type t where t.typnamespace = 'api'::regnamespace and t.typtype = 'e'
       order by 1`,
    );
    // The blueprint's 14 tables, payment_attempts, payment_notifications and refunds.
    expect(rows.filter((r) => r.object.startsWith("table ")).length).toBe(17);
    expect(rows.filter((r) => r.object.startsWith("type ")).length).toBe(10);
    expect(rows.filter((r) => !r.comment?.trim()).map((r) => r.object)).toEqual([]);
  });

  test("every table (except partitions) and function of app_private has a comment, and so do both schemas", async () => {
    const rows = await db.query<{ object: string; comment: string | null }>(
      `select 'table ' || c.oid::regclass::text as object, obj_description(c.oid, 'pg_class') as comment
         from pg_class c where c.relnamespace = 'app_private'::regnamespace and c.relkind in ('r', 'p') and not c.relispartition
       union all
       select 'function ' || p.oid::regprocedure::text, obj_description(p.oid, 'pg_proc')
         from pg_proc p where p.pronamespace = 'app_private'::regnamespace
       union all
       select 'schema ' || n.nspname, obj_description(n.oid, 'pg_namespace')
         from pg_namespace n where n.nspname in ('api', 'app_private')
       order by 1`,
    );
    expect(rows.map((r) => r.object)).toEqual(
      expect.arrayContaining([
        "table app_private.user_secrets",
        "function app_private.maintain_partitions()",
        "schema api",
      ]),
    );
    expect(rows.filter((r) => !r.comment?.trim()).map((r) => r.object)).toEqual([]);
  });
});
