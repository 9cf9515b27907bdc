/**
 * fast-check arbitraries for hostile API requests over a Surface: every table
 * with GET/HEAD/POST/PATCH/PUT/DELETE and PostgREST's query syntax twisted
 * (select, order, filters, limit/offset), every function by GET and POST with
 * missing, extra and wrongly typed arguments, boundary values, malformed
 * uuids and dates (`infinity`), NUL and invalid UTF-8 (percent-encoded in
 * URLs, raw bytes in bodies), huge and deeply nested JSON, Range, Prefer,
 * Accept and profile headers, and a caller for each (real users and tokens
 * that must be refused; the tokens themselves are made by the test).
 */
import fc from "fast-check";
import type { Field, Surface } from "./surface";

export const CALLERS = [
  "anonymous",
  "client",
  "admin",
  "expired",
  "forged",
  "algNone",
  "withoutExp",
  "foreignRoleAdmin",
  "rolePostgres",
  "roleAuthenticator",
  "roleMissing",
  "garbage",
] as const;
export type Caller = (typeof CALLERS)[number];

export type FuzzRequest = {
  caller: Caller;
  method: "GET" | "HEAD" | "POST" | "PATCH" | "PUT" | "DELETE";
  /** Path and query string, escapes included, as sent. */
  target: string;
  headers: Record<string, string>;
  body?: Buffer;
};

/** Ids the requests may name: the caller's own, another tenant's, none at all. */
export type KnownIds = { uuids: string[]; emails: string[] };

/** Already %-escaped fragments, inserted into URLs as they are. */
const RAW_ESCAPES = ["%00", "%ED%A0%80", "%FF", "%C0%AF", "a%00b", "%E2%82", "%", "%zz", "%25", "%F0%9F%98%80"];

const boundaryText = fc.constantFrom(
  "",
  " ",
  "null",
  "true",
  "false",
  "infinity",
  "-infinity",
  "NaN",
  "0",
  "-1",
  "1.5",
  "2147483648",
  "-9223372036854775809",
  "1e309",
  "0001-01-01",
  "9999-12-31",
  "2024-02-30",
  "10000-01-01",
  "1970-01-01T00:00:00Z",
  "epoch",
  "now",
  "not-a-uuid",
  "00000000-0000-0000-0000-000000000000",
  "{00000000-0000-0000-0000-000000000000}",
  "'; drop table api.users; --",
  "<img src=x onerror=alert(1)>",
  "{}",
  "[]",
  '{"a":1}',
  "(a,b)",
  "eq.1",
  "app_private.users",
  "*",
  "..",
  "é",
  "日本語",
  "sekolah",
  "berita",
  "company",
  "admin",
  "client",
  "paid",
  "day",
  "en",
  "id",
);

/** A query-string value: escaped text, or a raw escape inserted as is. */
function queryValue(ids: KnownIds): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 4, arbitrary: boundaryText.map(encodeURIComponent) },
    { weight: 3, arbitrary: fc.constantFrom(...ids.uuids, ...ids.emails).map(encodeURIComponent) },
    { weight: 2, arbitrary: fc.constantFrom(...RAW_ESCAPES) },
    { weight: 2, arbitrary: fc.string({ unit: "binary", maxLength: 30 }).map(encodeURIComponent) },
    { weight: 2, arbitrary: fc.uuid().map(String) },
    { weight: 1, arbitrary: fc.integer({ min: 1, max: 20_000 }).map((n) => "x".repeat(n)) },
    { weight: 1, arbitrary: fc.double().map((d) => encodeURIComponent(String(d))) },
    { weight: 1, arbitrary: fc.bigInt().map(String) },
  );
}

const OPERATORS = [
  "eq", "neq", "gt", "gte", "lt", "lte", "like", "ilike", "match", "imatch", "in", "is", "isdistinct",
  "fts", "plfts", "phfts", "wfts", "fts(english)", "fts(app_private)", "cs", "cd", "ov", "sl", "sr", "nxr",
  "nxl", "adj", "not.eq", "not.in", "eq(any)", "like(all)", "bogus",
]; // prettier-ignore

function filterOn(columns: string[], ids: KnownIds): fc.Arbitrary<string> {
  const column = fc.oneof(
    { weight: 5, arbitrary: fc.constantFrom(...columns) },
    { weight: 1, arbitrary: fc.constantFrom("nope", "id->>x", "payload->a->>b", "app_private.users.id", "a,b") },
  );
  const single = fc
    .tuple(column, fc.constantFrom(...OPERATORS), queryValue(ids))
    .map(([c, op, v]) => `${encodeURIComponent(c)}=${op}.${op.startsWith("in") || op === "not.in" ? `(${v})` : v}`);
  const logical = fc
    .tuple(fc.constantFrom("or", "and", "not.or"), fc.array(fc.tuple(column, fc.constantFrom(...OPERATORS), queryValue(ids)), { minLength: 0, maxLength: 3 }))
    .map(([l, parts]) => `${l}=(${parts.map(([c, op, v]) => `${c}.${op}.${v}`).join(",")})`); // prettier-ignore
  return fc.oneof({ weight: 4, arbitrary: single }, { weight: 1, arbitrary: logical });
}

function selectValue(table: string, columns: string[], tables: string[]): fc.Arbitrary<string> {
  return fc
    .oneof(
      fc.constantFrom(
        "*",
        "",
        ",",
        "((((",
        "count()",
        "id.sum()",
        "amount.sum()",
        "json_agg(*)",
        "a:id::text",
        "id::bigint",
        "payload->>x",
        "*,app_private.users(*)",
        "pg_sleep(10)",
        "*,nope(*)",
        `${"*,".repeat(500)}*`,
      ),
      fc.subarray(columns).map((cs) => cs.join(",")),
      fc.constantFrom(...tables).map((t) => `*,${t}(*)`),
      fc.constantFrom(...tables).map((t) => `*,${t}!inner(*,${table}(*,${t}(*)))`),
      fc.string({ maxLength: 40 }),
    )
    .map(encodeURIComponent);
}

function orderValue(columns: string[]): fc.Arbitrary<string> {
  return fc
    .oneof(
      fc
        .array(
          fc.tuple(
            fc.constantFrom(...columns, "nope", "random()"),
            fc.constantFrom("", ".asc", ".desc", ".nullsfirst", ".desc.nullslast", ".sideways"),
          ),
          { minLength: 1, maxLength: 4 },
        )
        .map((parts) => parts.map(([c, d]) => `${c}${d}`).join(",")),
      fc.constantFrom("id.desc,".repeat(1000), "", "1", "(select 1)"),
    )
    .map(encodeURIComponent);
}

const limitValue = fc.oneof(
  fc.constantFrom("0", "-1", "10000000", "9223372036854775808", "1.5", "abc", "", "1e9", "%00"),
  fc.integer({ min: 0, max: 2000 }).map(String),
);

/** Any JSON value, wrong types and boundary values among them. */
function jsonValue(ids: KnownIds): fc.Arbitrary<unknown> {
  const scalar = fc.oneof(
    boundaryText,
    fc.constantFrom(...ids.uuids, ...ids.emails),
    fc.string({ unit: "binary", maxLength: 40 }),
    fc.integer(),
    fc.double(),
    fc.constantFrom(0, -1, 1.5, 2 ** 31, 2 ** 53, -(2 ** 63), 1e308, null, true, false),
    fc.integer({ min: 1000, max: 200_000 }).map((n) => "y".repeat(n)),
  );
  return fc.oneof(
    { weight: 6, arbitrary: scalar },
    { weight: 1, arbitrary: fc.array(scalar, { maxLength: 5 }) },
    { weight: 1, arbitrary: fc.dictionary(fc.string({ maxLength: 8 }), scalar, { maxKeys: 4 }) },
  );
}

/** An object of named arguments or columns: a subset of the known ones, maybe extra ones, any values. */
function argumentsObject(fields: Field[], ids: KnownIds): fc.Arbitrary<Record<string, unknown>> {
  const known = fields.map((f) => f.name);
  return fc
    .tuple(
      known.length ? fc.subarray(known) : fc.constant<string[]>([]),
      fc.array(fc.constantFrom("extra", "id", "role", "user_id", "created_at", "__proto__", ""), { maxLength: 2 }),
      fc.array(jsonValue(ids), { minLength: 12, maxLength: 12 }),
    )
    .map(([names, extra, values]) => {
      const object: Record<string, unknown> = {};
      [...names, ...extra].forEach((name, i) => {
        Object.defineProperty(object, name, { value: values[i % values.length], enumerable: true, writable: true });
      });
      return object;
    });
}

/** A request body: JSON of the right shape or not, raw invalid bytes, NULs, deep nesting, sizes past the limit. */
function body(fields: Field[], ids: KnownIds): fc.Arbitrary<Buffer> {
  const json = (value: unknown) => Buffer.from(JSON.stringify(value));
  return fc.oneof(
    { weight: 8, arbitrary: argumentsObject(fields, ids).map(json) },
    { weight: 1, arbitrary: fc.array(argumentsObject(fields, ids), { maxLength: 3 }).map(json) },
    { weight: 1, arbitrary: jsonValue(ids).map(json) },
    {
      weight: 2,
      arbitrary: fc
        .tuple(fc.constantFrom(...(fields.length ? fields.map((f) => f.name) : ["x"])), fc.integer({ min: 1, max: 400_000 }), fc.constantFrom("[", '{"a":'))
        .map(([name, depth, open]) => Buffer.from(`{"${name}":${open.repeat(depth)}1${(open === "[" ? "]" : "}").repeat(depth)}}`)), // prettier-ignore
    },
    {
      weight: 2,
      arbitrary: fc
        .tuple(
          fc.constantFrom(...(fields.length ? fields.map((f) => f.name) : ["x"])),
          fc.constantFrom([0xff], [0xed, 0xa0, 0x80], [0xc0, 0xaf], [0x00], [0x61, 0x00, 0x62], [0xe2, 0x82]),
        )
        .map(([name, bytes]) => Buffer.concat([Buffer.from(`{"${name}":"`), Buffer.from(bytes), Buffer.from('"}')])),
    },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        Buffer.from(""),
        Buffer.from("{"),
        Buffer.from("null"),
        Buffer.from('{"a":"\\u0000"}'),
        Buffer.from('{"a":"\\ud800"}'),
        Buffer.from("\ufeff{}"),
        Buffer.alloc(2 * 1024 * 1024, 0x20),
      ),
    },
  );
}

/** Each header present in about one request in `1 / HEADER_FREQUENCY`. */
const sometimes = <T>(arbitrary: fc.Arbitrary<T>) => fc.option(arbitrary, { nil: undefined, freq: 6 });

function headers(): fc.Arbitrary<Record<string, string>> {
  const values: Record<string, readonly string[]> = {
    range: ["0-9", "10-0", "-5", "0-", "items=0-9", "0-99999999999999999999", "abc", "5-5"],
    "range-unit": ["items", "bytes", "pages"],
    prefer: [
      "count=exact",
      "count=planned",
      "count=estimated",
      "return=representation",
      "return=minimal",
      "return=headers-only",
      "params=single-object",
      "resolution=merge-duplicates",
      "tx=rollback",
      "handling=strict",
      "missing=default",
      "max-affected=1",
      "count=exact, return=representation, tx=commit",
    ],
    accept: [
      "application/json",
      "application/vnd.pgrst.object+json",
      "application/vnd.pgrst.plan+json",
      "application/openapi+json",
      "text/csv",
      "application/octet-stream",
      "text/plain",
      "*/*",
      "garbage/x; q=;",
    ],
    "content-type": [
      "application/json",
      "text/plain",
      "application/x-www-form-urlencoded",
      "text/csv",
      "application/octet-stream",
      "application/json; charset=latin1",
      "multipart/form-data",
      ";;;",
    ],
    "accept-profile": ["api", "app_private", "app_hidden", "public", "pg_catalog"],
    "content-profile": ["api", "app_private", "public"],
    "x-forwarded-for": ["not-an-ip", "1".repeat(5000), "10.0.0.1, 127.0.0.1", "::1"],
  };
  // Each header in about one request in eight.
  return fc
    .tuple(
      ...Object.entries(values).map(([name, options]) =>
        fc.oneof(
          { weight: 7, arbitrary: fc.constant(undefined) },
          { weight: 1, arbitrary: fc.constantFrom(...options).map((v) => [name, v] as const) },
        ),
      ),
    )
    .map((pairs) => Object.fromEntries(pairs.filter((p) => p !== undefined)));
}

/** Weird spellings of a path. */
function pathVariant(path: string): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 12, arbitrary: fc.constant(path) },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        `${path}/`,
        `/${path}`,
        `${path}/extra`,
        path.replace(/([a-z])$/, (c) => `%${c.charCodeAt(0).toString(16)}`),
        path.toUpperCase(),
        "/rpc/",
        "/nope",
        "/app_private.users",
        "/rpc/pg_sleep",
      ),
    },
  );
}

/**
 * Requests by `callers` naming `ids`. With `writeFilter`, every PATCH, PUT and
 * DELETE on a table also filters on `id=eq.<one of the ids>` (so that an
 * admin's fuzzed writes touch one row, not the whole table).
 */
export function fuzzRequest(
  surface: Surface,
  ids: KnownIds,
  callers: readonly Caller[],
  writeFilter = false,
): fc.Arbitrary<FuzzRequest> {
  const tableNames = surface.tables.map((t) => t.name);
  // Real callers more often than refused tokens, which all end at the same checks.
  const caller = fc.oneof(
    ...callers.map((c) => ({
      weight: c === "anonymous" || c === "client" || c === "admin" ? 6 : 1,
      arbitrary: fc.constant(c),
    })),
  );
  const idFilter = fc.constantFrom(...ids.uuids).map((id) => `id=eq.${id}`);
  const tableRequests = surface.tables.map((table) => {
    const columns = table.columns.map((c) => c.name);
    const query = fc
      .tuple(
        fc.option(selectValue(table.name, columns, tableNames), { nil: undefined }),
        fc.option(orderValue(columns), { nil: undefined }),
        fc.array(filterOn(columns.length ? columns : ["id"], ids), { maxLength: 3 }),
        fc.option(limitValue, { nil: undefined }),
        fc.option(limitValue, { nil: undefined }),
      )
      .map(([select, order, filters, limit, offset]) =>
        [
          select !== undefined ? `select=${select}` : undefined,
          order !== undefined ? `order=${order}` : undefined,
          ...filters,
          limit !== undefined ? `limit=${limit}` : undefined,
          offset !== undefined ? `offset=${offset}` : undefined,
        ]
          .filter((p) => p !== undefined)
          .join("&"),
      );
    return fc
      .record({
        caller,
        method: fc.constantFrom("GET", "GET", "GET", "HEAD", "POST", "PATCH", "PUT", "DELETE") as fc.Arbitrary<
          FuzzRequest["method"]
        >,
        path: pathVariant(`/${table.name}`),
        query,
        headers: headers(),
        body: body(table.columns, ids),
        idFilter,
      })
      .map(({ caller, method, path, query, headers, body, idFilter }) => {
        const filtered =
          writeFilter && ["PATCH", "PUT", "DELETE"].includes(method)
            ? [idFilter, query].filter(Boolean).join("&")
            : query;
        return {
          caller,
          method,
          target: filtered ? `${path}?${filtered}` : path,
          headers,
          ...(method === "GET" || method === "HEAD" ? {} : { body }),
        };
      });
  });
  const functionRequests = surface.functions.map((fn) => {
    const names = fn.params.map((p) => p.name);
    const getQuery = fc
      .tuple(
        names.length ? fc.subarray(names) : fc.constant<string[]>([]),
        fc.array(fc.constantFrom("extra", "limit", "offset", "select", "order"), { maxLength: 2 }),
        fc.array(queryValue(ids), { minLength: 8, maxLength: 8 }),
      )
      .map(([known, extra, values]) =>
        [...known, ...extra].map((n, i) => `${n}=${values[i % values.length]}`).join("&"),
      );
    return fc
      .record({
        caller,
        method: fc.constantFrom("GET", "POST", "POST", "HEAD") as fc.Arbitrary<FuzzRequest["method"]>,
        path: pathVariant(`/rpc/${fn.name}`),
        query: getQuery,
        headers: headers(),
        body: body(fn.params, ids),
      })
      .map(({ caller, method, path, query, headers, body }) =>
        method === "GET" || method === "HEAD"
          ? { caller, method, target: query ? `${path}?${query}` : path, headers }
          : { caller, method, target: path, headers, body },
      );
  });
  return fc.oneof(...tableRequests, ...functionRequests);
}

/** A request as a failure report shows it: enough to replay it with curl. */
export function describeRequest(request: FuzzRequest): string {
  const body = request.body
    ? request.body.length > 300
      ? `${request.body.length} bytes: ${JSON.stringify(request.body.subarray(0, 120).toString("latin1"))}…`
      : JSON.stringify(request.body.toString("latin1"))
    : "";
  const shownTarget =
    request.target.length > 300 ? `${request.target.slice(0, 300)}… (${request.target.length})` : request.target;
  const headers = Object.fromEntries(
    Object.entries(request.headers).map(([k, v]) => [k, v.length > 40 ? `${v.slice(0, 20)}… (${v.length})` : v]),
  );
  return `${request.caller} ${request.method} ${shownTarget} ${JSON.stringify(headers)} ${body}`.trim();
}
