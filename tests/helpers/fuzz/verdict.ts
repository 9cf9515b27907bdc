/**
 * What the fuzzer accepts as an answer: a 2xx, or a 4xx (or one of the
 * documented 503s) whose JSON body has a `code` the README's "Errors" section
 * documents with that status (the raise_error catalogue, PostgREST's and
 * PostgreSQL's codes, the edge's codes, parsed from the README's tables and
 * checked against edge/errors.ts); and an error body that does not leak
 * internals the request did not name itself (internal schemas, settings,
 * PL/pgSQL context, stack traces, "Perhaps you meant" suggestions).
 */
import fs from "node:fs";
import path from "node:path";
import { EDGE_ERRORS } from "../../../edge/errors";

/** Documented code → the statuses the README gives it. */
export type Catalogue = Map<string, number[]>;

/** Reads every table row of README "### Errors": `code`(s) | status(es) | meaning. */
export function readDocumentedCodes(readmePath = path.join(__dirname, "../../../README.md")): Catalogue {
  const readme = fs.readFileSync(readmePath, "utf8");
  const start = readme.indexOf("\n### Errors\n");
  const end = readme.indexOf("\n### ", start + 1);
  const section = readme.slice(start, end);
  const catalogue: Catalogue = new Map();
  for (const line of section.split("\n")) {
    const cells = line.split("|").map((c) => c.trim());
    if (cells.length < 4 || !cells[1]!.startsWith("`")) continue;
    const codes = [...cells[1]!.matchAll(/`([^`]+)`/g)].map((m) => m[1]!);
    const statuses = [...cells[2]!.matchAll(/\d{3}/g)].map((m) => Number(m[0]));
    for (const code of codes) catalogue.set(code, [...(catalogue.get(code) ?? []), ...statuses]);
  }
  for (const [code, { status }] of Object.entries(EDGE_ERRORS)) {
    if (!catalogue.get(code)?.includes(status)) throw new Error(`README "Errors" does not list edge code ${code}`);
  }
  return catalogue;
}

/** 503s a flooding or unlucky request may get; anything else 5xx is a finding. */
export const ACCEPTED_503 = new Set(["BUSY", "SERVICE_BUSY", "STATEMENT_TIMEOUT", "53400"]);

/** Words that must not appear in an error the request did not provoke by naming them. */
const INTERNAL_WORDS = [
  "app_private",
  "app_hidden",
  "app_owner",
  "authenticator",
  "pg_catalog",
  "information_schema",
  "max_stack_depth",
  "PL/pgSQL",
  "SQL statement",
  "Perhaps you meant",
  "pgcrypto",
  "crypt(",
];
const STACK_TRACE = /\n\s+at\s+\S+.*\(.*:\d+:\d+\)|\.hs:\d+/;

export type Answer = { status: number; text: string; contentType: string | null };

/** Why an answer is not acceptable, or undefined. `requestText` is everything the request said (to allow echoes). */
export function judge(answer: Answer, catalogue: Catalogue, requestText: string, method: string): string | undefined {
  const { status, text } = answer;
  if (status >= 200 && status < 300) return undefined;
  if (status < 400 || status > 599) return `unexpected status ${status}`;
  if (method === "HEAD") return status >= 500 ? `HEAD answered ${status}` : undefined;
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return `status ${status} without a JSON body: ${JSON.stringify(text.slice(0, 200))}`;
  }
  const code = typeof body === "object" && body !== null ? (body as { code?: unknown }).code : undefined;
  if (typeof code !== "string") return `status ${status} without a code: ${text.slice(0, 200)}`;
  if (status >= 500 && !(status === 503 && ACCEPTED_503.has(code))) return `${status} ${code}: ${text.slice(0, 300)}`;
  const statuses = catalogue.get(code);
  if (!statuses) return `undocumented code ${code} (${status}): ${text.slice(0, 300)}`;
  if (!statuses.includes(status)) return `code ${code} with status ${status}, documented ${statuses.join("/")}`;
  const leak = leakIn(text, requestText);
  if (leak) return `leaks ${JSON.stringify(leak)}: ${text.slice(0, 300)}`;
  return undefined;
}

/** The first internal word or stack trace in an error body that the request did not itself contain. */
export function leakIn(text: string, requestText: string): string | undefined {
  const lowerRequest = requestText.toLowerCase();
  for (const word of INTERNAL_WORDS) {
    if (text.toLowerCase().includes(word.toLowerCase()) && !lowerRequest.includes(word.toLowerCase())) return word;
  }
  const trace = STACK_TRACE.exec(text);
  return trace ? trace[0] : undefined;
}
