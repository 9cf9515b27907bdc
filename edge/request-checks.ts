/**
 * What the edge refuses before PostgREST sees a request: a request target
 * that is not a path, or whose %-escapes are malformed or decode to invalid
 * UTF-8 (PostgREST answers those with a 500), and a JSON array as the body of
 * a function call (PostgREST would call a single-object function with the
 * first element and drop the rest). Pure functions of the request's parts.
 */
import type { EdgeErrorCode } from "./errors";

/** Printable ASCII only: anything else in a request target must be %-escaped. */
const UNESCAPED_NON_ASCII = /[^\x21-\x7e]/;

/** Checks a request target (`/path?query` as sent): undefined when PostgREST may have it. */
export function checkRequestTarget(target: string): EdgeErrorCode | undefined {
  if (!target.startsWith("/")) return "MALFORMED_REQUEST";
  if (UNESCAPED_NON_ASCII.test(target)) return "INVALID_URL_ENCODING";
  if (!target.includes("%")) return undefined;
  try {
    // Throws URIError on a malformed escape and on escapes that are not
    // UTF-8 (overlong forms, surrogates such as %ED%A0%80, stray bytes).
    decodeURIComponent(target);
    return undefined;
  } catch {
    return "INVALID_URL_ENCODING";
  }
}

/** Whether a media type is one PostgREST reads as a JSON body (it assumes JSON when there is none). */
export function isJsonMediaType(contentType: string | undefined): boolean {
  if (contentType === undefined) return true;
  const type = contentType.split(";")[0]!.trim().toLowerCase();
  return type === "application/json" || type === "";
}

/** True when the JSON text in `body` is an array (its first byte after whitespace and a BOM is `[`). */
export function isJsonArray(body: Buffer): boolean {
  let i = 0;
  if (body[0] === 0xef && body[1] === 0xbb && body[2] === 0xbf) i = 3;
  for (; i < body.length; i++) {
    const byte = body[i]!;
    if (byte === 0x20 || byte === 0x09 || byte === 0x0a || byte === 0x0d) continue;
    return byte === 0x5b;
  }
  return false;
}

/** The path of a request target, without its query string. */
export function pathOf(target: string): string {
  const query = target.indexOf("?");
  return query < 0 ? target : target.slice(0, query);
}

/** Whether a path (as sent, escapes and all) names a function: /rpc/<name>, however it is spelled. */
export function isFunctionPath(path: string): boolean {
  let decoded = path;
  try {
    decoded = decodeURIComponent(path);
  } catch {
    // checkRequestTarget refuses such a path before this is asked
  }
  return decoded.replace(/\/{2,}/g, "/").startsWith("/rpc/");
}

/** Whether a call is a function call with a JSON array body, which the edge refuses. */
export function isArrayBodyToFunction(
  method: string,
  path: string,
  contentType: string | undefined,
  body: Buffer | undefined,
): boolean {
  return (
    method === "POST" && isFunctionPath(path) && body !== undefined && isJsonMediaType(contentType) && isJsonArray(body)
  );
}
