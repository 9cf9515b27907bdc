/**
 * The API surface the fuzzer covers, read from PostgREST's OpenAPI document
 * (as the admin sees it, who has a grant on every exposed table and may
 * execute every function), not from a hand-kept list: each table with its
 * columns and each function with its parameters, with their types.
 */
import type { TestApi } from "../api";

export type Field = { name: string; type: string; format: string; required: boolean };
export type Table = { kind: "table"; name: string; columns: Field[] };
export type RpcFunction = { kind: "function"; name: string; params: Field[] };
export type Surface = { tables: Table[]; functions: RpcFunction[] };

type SchemaProperty = { type?: string; format?: string };
type OpenApi = {
  paths: Record<string, Record<string, { parameters?: { in: string; name: string; $ref?: string; schema?: Body }[] }>>;
  definitions: Record<string, { properties?: Record<string, SchemaProperty>; required?: string[] }>;
};
type Body = { properties?: Record<string, SchemaProperty>; required?: string[] };

const fieldsOf = (properties: Record<string, SchemaProperty> = {}, required: string[] = []): Field[] =>
  Object.entries(properties).map(([name, p]) => ({
    name,
    type: p.type ?? "string",
    format: p.format ?? "",
    required: required.includes(name),
  }));

export async function readSurface(api: TestApi, token: string): Promise<Surface> {
  const { status, body } = await api.request("/", { token, headers: { accept: "application/openapi+json" } });
  if (status !== 200) throw new Error(`OpenAPI document: ${status}`);
  const doc = body as OpenApi;
  const tables: Table[] = [];
  const functions: RpcFunction[] = [];
  for (const [path, operations] of Object.entries(doc.paths)) {
    if (path === "/") continue;
    if (path.startsWith("/rpc/")) {
      const args = operations.post?.parameters?.find((p) => p.in === "body")?.schema;
      functions.push({ kind: "function", name: path.slice(5), params: fieldsOf(args?.properties, args?.required) });
    } else {
      const name = path.slice(1);
      const definition = doc.definitions[name];
      tables.push({ kind: "table", name, columns: fieldsOf(definition?.properties, definition?.required) });
    }
  }
  return { tables, functions };
}
