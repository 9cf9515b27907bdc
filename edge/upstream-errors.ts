/**
 * PostgREST's error answers rewritten where they expose internals or say the
 * wrong thing (README "Errors", codes of the API edge):
 *
 *   57014 statement timeout (500)          → 503 STATEMENT_TIMEOUT, Retry-After
 *   PGRST003 pool acquisition timeout (504) → 503 SERVICE_BUSY, Retry-After
 *   25006 read-only transaction (405)      → 405 USE_POST, Allow: POST
 *   54001 stack depth exceeded (413, hint naming max_stack_depth)
 *                                           → 400 NESTING_TOO_DEEP
 *   404 without an error body (PostgREST's `{}` for a path with more than
 *   one segment, e.g. /projects/extra)   → 404 NOT_FOUND
 *   any hint "Perhaps you meant …" (function names with their parameters,
 *   columns, tables: PGRST200, PGRST202, 42703, …) → the same answer, hint null
 *
 * Everything else passes unchanged. A pure function of the status and the
 * parsed body; edge/server.ts buffers only error answers to call it.
 */
import { EDGE_ERRORS, edgeErrorBody, type EdgeErrorCode, type ErrorBody } from "./errors";

export type Rewritten = { status: number; body: ErrorBody; headers: Record<string, string> };

/** Seconds a client is asked to wait after a statement timeout or a busy pool. */
export const STATEMENT_TIMEOUT_RETRY_AFTER_SECONDS = 5;
export const SERVICE_BUSY_RETRY_AFTER_SECONDS = 1;

const answer = (code: EdgeErrorCode, headers: Record<string, string> = {}): Rewritten => ({
  status: EDGE_ERRORS[code].status,
  body: edgeErrorBody(code),
  headers,
});

function isErrorBody(body: unknown): body is Partial<ErrorBody> & { code: string } {
  return (
    typeof body === "object" && body !== null && !Array.isArray(body) && typeof (body as ErrorBody).code === "string"
  );
}

/** The answer the client gets instead of PostgREST's, or undefined to pass PostgREST's on unchanged. */
export function rewriteUpstreamError(status: number, body: unknown): Rewritten | undefined {
  if (status === 404 && !isErrorBody(body)) return answer("NOT_FOUND");
  if (status < 400 || !isErrorBody(body)) return undefined;
  switch (body.code) {
    case "57014":
      return answer("STATEMENT_TIMEOUT", { "retry-after": String(STATEMENT_TIMEOUT_RETRY_AFTER_SECONDS) });
    case "PGRST003":
      return answer("SERVICE_BUSY", { "retry-after": String(SERVICE_BUSY_RETRY_AFTER_SECONDS) });
    case "25006":
      return answer("USE_POST", { allow: "POST" });
    case "54001":
      return answer("NESTING_TOO_DEEP");
  }
  if (typeof body.hint === "string" && /^perhaps you meant/i.test(body.hint.trim())) {
    return {
      status,
      body: { code: body.code, message: body.message ?? "", details: body.details ?? null, hint: null },
      headers: {},
    };
  }
  return undefined;
}
