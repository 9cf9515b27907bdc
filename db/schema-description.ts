/**
 * A textual description of everything our migrations create, read from the
 * system catalogs (the embedded server ships no pg_dump). Used to prove that
 * migrations are reversible (up → down → up describes the same schema as a
 * single up) and as a readable snapshot of the schema.
 *
 * Covers every schema except PostgreSQL's own and the tools' (graphile_migrate,
 * graphile_worker: installed and versioned by the tools themselves):
 * schemas, extensions, types, tables (kind, RLS, partition bounds), columns,
 * constraints, indexes, functions, triggers, policies, grants, default
 * privileges and comments.
 */
import type { ClientBase } from "pg";

const OUR_SCHEMAS = `
  select oid from pg_namespace
   where nspname not like 'pg\\_%' and nspname not in ('information_schema', 'graphile_migrate', 'graphile_worker')`;

/** Objects that belong to an extension are described by the extension's name only. */
const NOT_FROM_EXTENSION = (classid: string, oid: string) =>
  `not exists (select 1 from pg_depend d where d.classid = '${classid}'::regclass and d.objid = ${oid} and d.deptype = 'e')`;

const queries: Record<string, string> = {
  schema: `
    select n.nspname || ' owner=' || pg_get_userbyid(n.nspowner) || ' acl=' || coalesce(n.nspacl::text, '-')
           || ' comment=' || coalesce(obj_description(n.oid, 'pg_namespace'), '-')
      from pg_namespace n where n.oid in (${OUR_SCHEMAS})`,
  extension: `select e.extname || ' in ' || e.extnamespace::regnamespace from pg_extension e where e.extname <> 'plpgsql'`,
  type: `
    select t.oid::regtype::text || ' ' || t.typtype::text || coalesce(' [' || (
             select string_agg(e.enumlabel, ',' order by e.enumsortorder) from pg_enum e where e.enumtypid = t.oid) || ']', '')
           || ' comment=' || coalesce(obj_description(t.oid, 'pg_type'), '-')
      from pg_type t
     where t.typnamespace in (${OUR_SCHEMAS}) and t.typtype in ('e', 'd', 'c')
       and (t.typtype <> 'c' or (select relkind from pg_class where oid = t.typrelid) = 'c')
       and ${NOT_FROM_EXTENSION("pg_type", "t.oid")}`,
  table: `
    select c.oid::regclass::text || ' kind=' || c.relkind::text || ' rls=' || c.relrowsecurity || ' force=' || c.relforcerowsecurity
           || ' bound=' || coalesce(pg_get_expr(c.relpartbound, c.oid), '-')
           || ' partkey=' || coalesce(pg_get_partkeydef(c.oid), '-')
           || ' acl=' || coalesce(c.relacl::text, '-')
           || ' comment=' || coalesce(obj_description(c.oid, 'pg_class'), '-')
      from pg_class c
     where c.relnamespace in (${OUR_SCHEMAS}) and c.relkind in ('r', 'p', 'v', 'm', 'S', 'f')
       and ${NOT_FROM_EXTENSION("pg_class", "c.oid")}`,
  column: `
    select a.attrelid::regclass::text || '.' || a.attname::text || ' ' || format_type(a.atttypid, a.atttypmod)
           || case when a.attnotnull then ' not null' else '' end
           || coalesce(' default ' || pg_get_expr(d.adbin, d.adrelid), '')
           || case when a.attgenerated <> '' then ' generated' else '' end
           || case when a.attidentity <> '' then ' identity ' || a.attidentity::text else '' end
           || ' acl=' || coalesce(a.attacl::text, '-')
           || ' comment=' || coalesce(col_description(a.attrelid, a.attnum), '-')
      from pg_attribute a
      join pg_class c on c.oid = a.attrelid
      left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
     where c.relnamespace in (${OUR_SCHEMAS}) and c.relkind in ('r', 'p', 'v', 'm', 'f')
       and a.attnum > 0 and not a.attisdropped
       and ${NOT_FROM_EXTENSION("pg_class", "c.oid")}`,
  constraint: `
    select coalesce(co.conrelid::regclass::text, co.contypid::regtype::text) || ' ' || co.conname || ' ' || pg_get_constraintdef(co.oid)
           || ' comment=' || coalesce(obj_description(co.oid, 'pg_constraint'), '-')
      from pg_constraint co where co.connamespace in (${OUR_SCHEMAS})`,
  index: `
    select pg_get_indexdef(i.indexrelid) || ' comment=' || coalesce(obj_description(i.indexrelid, 'pg_class'), '-')
      from pg_index i join pg_class c on c.oid = i.indexrelid
     where c.relnamespace in (${OUR_SCHEMAS}) and ${NOT_FROM_EXTENSION("pg_class", "i.indrelid")}`,
  function: `
    select p.oid::regprocedure::text || ' owner=' || pg_get_userbyid(p.proowner) || ' acl=' || coalesce(p.proacl::text, '-')
           || ' definer=' || p.prosecdef || ' volatile=' || p.provolatile::text || ' config=' || coalesce(p.proconfig::text, '-')
           || ' comment=' || coalesce(obj_description(p.oid, 'pg_proc'), '-')
           || E'\\n' || pg_get_functiondef(p.oid)
      from pg_proc p
     where p.pronamespace in (${OUR_SCHEMAS}) and p.prokind in ('f', 'p', 'w')
       and ${NOT_FROM_EXTENSION("pg_proc", "p.oid")}`,
  trigger: `
    select pg_get_triggerdef(t.oid) || ' enabled=' || t.tgenabled::text
      from pg_trigger t join pg_class c on c.oid = t.tgrelid
     where not t.tgisinternal and c.relnamespace in (${OUR_SCHEMAS})`,
  policy: `
    select p.polrelid::regclass::text || ' ' || p.polname || ' cmd=' || p.polcmd::text || ' permissive=' || p.polpermissive
           || ' roles=' || (select string_agg(case when r = 0 then 'public' else pg_get_userbyid(r) end, ',' order by 1) from unnest(p.polroles) r)
           || ' using=' || coalesce(pg_get_expr(p.polqual, p.polrelid), '-')
           || ' check=' || coalesce(pg_get_expr(p.polwithcheck, p.polrelid), '-')
      from pg_policy p join pg_class c on c.oid = p.polrelid where c.relnamespace in (${OUR_SCHEMAS})`,
  default_acl: `
    select pg_get_userbyid(d.defaclrole) || ' ' || coalesce(d.defaclnamespace::regnamespace::text, '*') || ' '
           || d.defaclobjtype::text || ' ' || d.defaclacl::text
      from pg_default_acl d`,
};

export type SchemaDescription = Record<string, string[]>;

export async function describeSchema(client: ClientBase): Promise<SchemaDescription> {
  const description: SchemaDescription = {};
  for (const [kind, sql] of Object.entries(queries)) {
    const { rows } = await client.query<{ line: string }>(`select line from (${sql}) as described(line) order by 1`);
    description[kind] = rows.map((r) => r.line);
  }
  return description;
}

/** The description as text, one object per line (a readable, diffable snapshot). */
export function formatSchemaDescription(description: SchemaDescription): string {
  return Object.entries(description)
    .flatMap(([kind, lines]) => lines.map((line) => `${kind}: ${line}`))
    .join("\n");
}

/** The committed snapshot of the schema (`npm run db:snapshot`). */
export const SNAPSHOT_FILE = "migrations/schema.txt";

/**
 * The snapshot's text: the description without the monthly partitions (their
 * names and bounds depend on the day the database was migrated, not on the
 * migrations), after a header saying where it comes from.
 */
export function snapshotText(description: SchemaDescription): string {
  const lines = formatSchemaDescription(description)
    .split("\n")
    .filter((line) => !/_p\d{6}\b/.test(line));
  return [
    "# The schema our migrations build, read from the catalog after migrating a fresh database",
    "# (db/schema-description.ts). Written by `npm run db:snapshot`; a test fails when it is stale.",
    "# Monthly partitions (app_private.*_pYYYYMM) are left out: they depend on the date.",
    ...lines,
    "",
  ].join("\n");
}
