/**
 * The README's error catalogue ("### Errors") is complete and true: every
 * code our functions pass to app_hidden.raise_error is a row of it, with the
 * HTTP status the call passes; and every code of it is raised somewhere.
 * The codes are read from the function bodies of the migrated database, so
 * a new raise_error call with an undocumented code fails here.
 */
import fs from "node:fs";
import path from "node:path";
import { projectRoot } from "../../config/paths";
import { createMigratedDatabase, type TestDatabase } from "../helpers/database";

/**
 * Codes of the catalogue that no raise_error call produces, and the function
 * that answers with them instead (its body must name the code).
 */
const answeredWithoutRaiseError: Record<string, { fn: string; why: string }> = {
  // login answers 401 with set_config('response.status', ...) and a JSON body
  // instead of raising: a raise would roll back the failed-attempt counter.
  INVALID_CREDENTIALS: { fn: "api.login(text,text)", why: "answered, not raised, so the failed attempt is counted" },
  // A notification with a bad signature is recorded, so it is answered, not raised.
  INVALID_SIGNATURE: {
    fn: "api.midtrans_notification(jsonb)",
    why: "answered, not raised, so the forgery stays on record",
  },
};

type CatalogueRow = { code: string; status: number };

/** The rows of the first table after the "### Errors" heading. */
function errorCatalogue(markdown: string): CatalogueRow[] {
  const lines = markdown.split("\n");
  const heading = lines.findIndex((l) => l.trim() === "### Errors");
  if (heading < 0) throw new Error('README.md has no "### Errors" heading');
  let i = heading + 1;
  while (i < lines.length && !lines[i]!.trimStart().startsWith("|")) {
    if (/^#{1,3} /.test(lines[i]!)) throw new Error('no table between "### Errors" and the next heading');
    i++;
  }
  const table: string[] = [];
  for (; i < lines.length && lines[i]!.trimStart().startsWith("|"); i++) table.push(lines[i]!.trim());
  const [header, separator, ...rows] = table;
  if (!header || !/^\|\s*code\s*\|\s*status\s*\|/.test(header) || !separator || !/^\|[\s:|-]+\|$/.test(separator)) {
    throw new Error(`the table after "### Errors" does not start with | code | status |: ${header}`);
  }
  return rows.map((row) => {
    const [code, status] = row
      .split("|")
      .slice(1, -1)
      .map((cell) => cell.trim());
    const codeMatch = /^`([A-Z][A-Z0-9_]*)`$/.exec(code ?? "");
    if (!codeMatch || !/^\d{3}$/.test(status ?? ""))
      throw new Error(`an error catalogue row that is not | \`CODE\` | status | ...: ${row}`);
    return { code: codeMatch[1]!, status: Number(status) };
  });
}

type RaiseErrorCall = { fn: string; code: string | null; status: number | null; call: string };

/**
 * Every call of raise_error in a function body, with its first argument when
 * it is a string literal and its third when it is an integer literal.
 * String literals, quoted identifiers and comments are skipped, so a code in
 * a message or a commented-out call does not count.
 */
function raiseErrorCalls(fn: string, source: string): RaiseErrorCall[] {
  const calls: RaiseErrorCall[] = [];
  let i = 0;
  /** The index just after the literal, comment or identifier starting at i (or i when there is none). */
  const skip = (at: number): number => {
    if (source.startsWith("--", at)) {
      const end = source.indexOf("\n", at);
      return end < 0 ? source.length : end + 1;
    }
    if (source.startsWith("/*", at)) {
      const end = source.indexOf("*/", at + 2);
      return end < 0 ? source.length : end + 2;
    }
    const quote = source[at];
    if (quote === "'" || quote === '"') {
      const escapes = quote === "'" && /[eE]/.test(source[at - 1] ?? "") && !/\w/.test(source[at - 2] ?? "");
      let j = at + 1;
      while (j < source.length) {
        if (escapes && source[j] === "\\") j += 2;
        else if (source[j] === quote && source[j + 1] === quote) j += 2;
        else if (source[j] === quote) return j + 1;
        else j++;
      }
      return source.length;
    }
    return at;
  };
  while (i < source.length) {
    const next = skip(i);
    if (next !== i) {
      i = next;
      continue;
    }
    const name = /^raise_error\s*\(/.exec(source.slice(i));
    if (name && !/[\w$]/.test(source[i - 1] ?? "")) {
      // Split the arguments at the top-level commas up to the closing parenthesis.
      const args: string[] = [];
      let depth = 0;
      let start = i + name[0].length;
      let j = start;
      while (j < source.length) {
        const after = skip(j);
        if (after !== j) {
          j = after;
          continue;
        }
        const ch = source[j]!;
        if (ch === "(") depth++;
        else if (ch === ")" && depth-- === 0) break;
        else if (ch === "," && depth === 0) {
          args.push(source.slice(start, j).trim());
          start = j + 1;
        }
        j++;
      }
      args.push(source.slice(start, j).trim());
      const code = /^'([^']*)'(::text)?$/.exec(args[0] ?? "");
      const status = /^(\d+)$/.exec(args[2] ?? "");
      calls.push({
        fn,
        code: code ? code[1]! : null,
        status: status ? Number(status[1]) : null,
        call: source.slice(i, j + 1).replace(/\s+/g, " "),
      });
      i = j + 1;
      continue;
    }
    i++;
  }
  return calls;
}

let db: TestDatabase;
let catalogue: CatalogueRow[];
let calls: RaiseErrorCall[];
let sources: Map<string, string>;

beforeAll(async () => {
  db = await createMigratedDatabase();
  catalogue = errorCatalogue(fs.readFileSync(path.join(projectRoot, "README.md"), "utf8"));
  // Every SQL and PL/pgSQL function of our schemas (not PostgreSQL's, not
  // graphile-migrate's, not an extension's). SQL-standard bodies have no
  // prosrc; their text comes from pg_get_function_sqlbody.
  const rows = await db.query<{ fn: string; source: string }>(
    `select p.oid::regprocedure::text as fn,
            case when p.prosqlbody is not null then pg_get_function_sqlbody(p.oid) else p.prosrc end as source
       from pg_proc p
       join pg_namespace n on n.oid = p.pronamespace
       join pg_language l on l.oid = p.prolang
      where n.nspname not like 'pg\\_%' and n.nspname not in ('information_schema', 'graphile_migrate', 'graphile_worker')
        and l.lanname in ('sql', 'plpgsql')
        and not exists (select 1 from pg_depend d where d.classid = 'pg_proc'::regclass and d.objid = p.oid and d.deptype = 'e')`,
  );
  sources = new Map(rows.map((r) => [r.fn, r.source]));
  calls = rows.flatMap((r) => raiseErrorCalls(r.fn, r.source));
});
afterAll(async () => {
  await db?.drop();
});

const describeCall = (c: RaiseErrorCall) => `${c.fn}: ${c.call}`;

test("the reader finds the raise_error calls of every kind of function", () => {
  expect(calls.length).toBeGreaterThan(40);
  for (const fn of [
    "api.create_project(json,text)",
    "app_hidden.pre_request()",
    "app_private.tg_audit_logs__append_only()",
  ]) {
    expect(calls.some((c) => c.fn === fn)).toBe(true);
  }
  expect(catalogue.length).toBeGreaterThan(20);
});

test("every raise_error call passes its code as a literal, so it can be checked against the catalogue", () => {
  expect(calls.filter((c) => c.code === null).map(describeCall)).toEqual([]);
});

test("every code passed to raise_error is in the README's error catalogue", () => {
  const documented = new Set(catalogue.map((r) => r.code));
  const missing = calls.filter((c) => c.code !== null && !documented.has(c.code));
  // e.g. ["NEW_CODE raised by api.f(): raise_error('NEW_CODE', ...)"]
  expect(missing.map((c) => `${c.code} raised by ${describeCall(c)}`)).toEqual([]);
});

test("every literal status passed to raise_error is the code's status in the catalogue", () => {
  const statusOf = new Map(catalogue.map((r) => [r.code, r.status]));
  const wrong = calls.filter(
    (c) => c.code !== null && c.status !== null && statusOf.has(c.code) && statusOf.get(c.code) !== c.status,
  );
  expect(wrong.map((c) => `${c.code}: README says ${statusOf.get(c.code ?? "")}, ${describeCall(c)}`)).toEqual([]);
});

test("every code of the catalogue is raised somewhere (or is answered without raise_error by the function named here)", () => {
  const raised = new Set(calls.flatMap((c) => (c.code === null ? [] : [c.code])));
  const unraised = catalogue
    .filter((r) => !raised.has(r.code) && !(r.code in answeredWithoutRaiseError))
    .map((r) => r.code);
  expect(unraised).toEqual([]);
});

test("the codes answered without raise_error are in the catalogue, are not raised, and are named by their function", () => {
  const raised = new Set(calls.flatMap((c) => (c.code === null ? [] : [c.code])));
  for (const [code, { fn }] of Object.entries(answeredWithoutRaiseError)) {
    expect({ code, documented: catalogue.some((r) => r.code === code), raised: raised.has(code) }).toEqual({
      code,
      documented: true,
      raised: false,
    });
    expect(sources.get(fn) ?? `(no function ${fn})`).toContain(`'${code}'`);
  }
});

test("the catalogue lists each code once", () => {
  const codes = catalogue.map((r) => r.code);
  expect(codes.filter((c, i) => codes.indexOf(c) !== i)).toEqual([]);
});

describe("the readers themselves", () => {
  test("raiseErrorCalls reads literal codes and statuses through nested calls, commas in strings and comments", () => {
    const source = `
      -- perform app_hidden.raise_error('IN_A_COMMENT', 'x', 400);
      /* raise_error('IN_A_BLOCK_COMMENT', 'x', 400) */
      perform app_hidden.raise_error('RATE_LIMITED', format('Too many %s requests, (later).', action_name), 429);
      perform app_hidden.raise_error('ILLEGAL_TRANSITION', 'It''s not allowed, raise_error(''X'')', 409,
        format('from %s to %s', old.status, new.status));
      select raise_error(code_variable, 'x', 400);
      select app_hidden.raise_error('SQL_BODY'::text, 'x'::text, 503);
      perform not_raise_error('NO', 'x', 400);`;
    expect(raiseErrorCalls("f()", source).map(({ code, status }) => ({ code, status }))).toEqual([
      { code: "RATE_LIMITED", status: 429 },
      { code: "ILLEGAL_TRANSITION", status: 409 },
      { code: null, status: 400 },
      { code: "SQL_BODY", status: 503 },
    ]);
  });

  test("errorCatalogue reads the first table after the heading and refuses a malformed row", () => {
    const markdown = [
      "### Errors",
      "",
      "Text.",
      "",
      "| code | status | meaning |",
      "|---|---|---|",
      "| `A_B` | 400 | x |",
      "| `C` | 409 | y |",
      "",
      "| code | status |",
      "|---|---|",
      "| `OTHER` | 500 |",
    ].join("\n");
    expect(errorCatalogue(markdown)).toEqual([
      { code: "A_B", status: 400 },
      { code: "C", status: 409 },
    ]);
    expect(() => errorCatalogue(markdown.replace("| `C` | 409 |", "| C | 409 |"))).toThrow(/not \| `CODE` \| status/);
    expect(() => errorCatalogue("## Nothing here")).toThrow(/no "### Errors" heading/);
  });
});
