/**
 * The PostgREST JWT of a WebSocket upgrade: where it is found and what its
 * signature, expiry and claims say. What only the database knows
 * (revocation, stale role) is asked by the hub (database.ts).
 */
import type { IncomingMessage } from "node:http";
import { errors, jwtVerify } from "jose";

/** The subprotocol a client names first when it sends its token as the second one. */
export const SUBPROTOCOL = "jasaweb";

export type VerifiedToken = {
  userId: string;
  jti: string;
  role: "app_client" | "app_admin";
  /** Expiry, in milliseconds since the epoch. */
  expiresAt: number;
};

export type TokenRefusal = { status: 401 | 403; code: string; message: string };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The token of `?token=`, else the second entry of `Sec-WebSocket-Protocol: jasaweb, <token>`. */
export function tokenOf(request: IncomingMessage): string | undefined {
  const url = new URL(request.url ?? "/", "http://hub");
  const fromQuery = url.searchParams.get("token");
  if (fromQuery) return fromQuery;
  const protocols = (request.headers["sec-websocket-protocol"] ?? "")
    .split(",")
    .map((p) => p.trim())
    .filter(Boolean);
  if (protocols[0] === SUBPROTOCOL && protocols[1]) return protocols[1];
  return undefined;
}

export async function verifyToken(
  token: string,
  secret: Uint8Array,
): Promise<{ ok: true; token: VerifiedToken } | { ok: false; refusal: TokenRefusal }> {
  let payload: Record<string, unknown>;
  try {
    payload = (await jwtVerify(token, secret, { algorithms: ["HS256"], requiredClaims: ["exp"] })).payload;
  } catch (error) {
    if (error instanceof errors.JWTExpired)
      return { ok: false, refusal: { status: 401, code: "TOKEN_EXPIRED", message: "This token has expired." } };
    return {
      ok: false,
      refusal: { status: 401, code: "TOKEN_INVALID", message: "This token is not one the API signed." },
    };
  }
  const { role, sub, jti, exp } = payload;
  if (role !== "app_client" && role !== "app_admin")
    return {
      ok: false,
      refusal: { status: 403, code: "ROLE_NOT_ALLOWED", message: "Only client and admin tokens may open a socket." },
    };
  if (typeof sub !== "string" || !UUID.test(sub) || typeof jti !== "string" || !UUID.test(jti))
    return {
      ok: false,
      refusal: { status: 401, code: "TOKEN_INVALID", message: "This token names no user or has no id." },
    };
  return { ok: true, token: { userId: sub.toLowerCase(), jti, role, expiresAt: Number(exp) * 1000 } };
}

/** What the database's answer (app_hidden.realtime_token_status) means for the upgrade. */
export function refusalOfStatus(status: string): TokenRefusal | undefined {
  switch (status) {
    case "valid":
      return undefined;
    case "revoked":
      return { status: 401, code: "TOKEN_REVOKED", message: "This token was signed out; sign in again." };
    case "stale_role":
      return { status: 403, code: "TOKEN_STALE_ROLE", message: "The account's role changed; sign in again." };
    case "foreign_role":
      return { status: 403, code: "ROLE_NOT_ALLOWED", message: "Only client and admin tokens may open a socket." };
    default:
      return { status: 401, code: "TOKEN_INVALID", message: "The account of this token no longer exists." };
  }
}
