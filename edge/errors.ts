/**
 * The codes the API edge answers with itself, each with its one HTTP status:
 * the catalogue README "Errors" (codes of the API edge) lists, and
 * tests/api/edge.test.ts holds the two to each other. Bodies have the shape
 * of every other API error: {code, message, details, hint}.
 */

export const EDGE_ERRORS = {
  MALFORMED_REQUEST: { status: 400, message: "The request is malformed." },
  INVALID_URL_ENCODING: {
    status: 400,
    message: "The path or query string has a malformed %-escape or is not valid UTF-8.",
  },
  NOT_FOUND: { status: 404, message: "There is no table, view or function at this path." },
  ARRAY_BODY_NOT_ALLOWED: {
    status: 400,
    message: "Functions take one JSON object of named arguments, not an array.",
  },
  NESTING_TOO_DEEP: { status: 400, message: "The request's JSON is nested too deeply." },
  USE_POST: { status: 405, message: "This function changes data: call it with POST." },
  BODY_TOO_LARGE: { status: 413, message: "The request body is larger than the API accepts." },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, message: "The Content-Type header cannot be parsed." },
  REQUEST_TIMEOUT: { status: 408, message: "The request was not received in time." },
  HEADERS_TOO_LARGE: {
    status: 431,
    message:
      "The request line and headers are larger than the API accepts (16 kB); send long arguments in a POST body.",
  },
  INTERNAL_ERROR: { status: 500, message: "Something went wrong in the API edge." },
  API_UNAVAILABLE: { status: 503, message: "The API is not reachable right now; try again shortly." },
  SERVICE_BUSY: { status: 503, message: "The API is busy; try again shortly." },
  STATEMENT_TIMEOUT: {
    status: 503,
    message: "The request took longer than the database allows and was cancelled; narrow it or try again later.",
  },
} as const satisfies Record<string, { status: number; message: string }>;

export type EdgeErrorCode = keyof typeof EDGE_ERRORS;

export type ErrorBody = { code: string; message: string; details: string | null; hint: string | null };

export function edgeErrorBody(
  code: EdgeErrorCode,
  details: string | null = null,
  hint: string | null = null,
): ErrorBody {
  return { code, message: EDGE_ERRORS[code].message, details, hint };
}
