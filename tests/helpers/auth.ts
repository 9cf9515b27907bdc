/**
 * Users and tokens for API tests: real sign-ups and logins through the API,
 * admins promoted in SQL (there is no admin sign-up), and hand-made JWTs for
 * the token-refusal tests.
 */
import crypto from "node:crypto";
import { SignJWT } from "jose";
import { TEST_JWT_SECRET } from "../setup/cluster";
import type { TestApi } from "./api";
import type { TestDatabase } from "./database";

export type SignedIn = { token: string; user: { id: string; email: string; name: string; role: "admin" | "client" } };

let counter = 0;
export function uniqueEmail(prefix = "user"): string {
  counter += 1;
  return `${prefix}.${Date.now().toString(36)}${counter}@example.id`;
}

export async function registerClient(
  api: TestApi,
  overrides: Partial<{ email: string; password: string; name: string; phone: string }> = {},
): Promise<SignedIn> {
  const body = { email: uniqueEmail("client"), password: "password-123", name: "Klien Uji", ...overrides };
  const { status, body: session } = await api.request("/rpc/register", { method: "POST", body: JSON.stringify(body) });
  if (status !== 200) throw new Error(`register failed: ${status} ${JSON.stringify(session)}`);
  return session as SignedIn;
}

export async function login(api: TestApi, email: string, password: string): Promise<SignedIn> {
  const { status, body } = await api.request("/rpc/login", {
    method: "POST",
    body: JSON.stringify({ email, password }),
  });
  if (status !== 200) throw new Error(`login failed: ${status} ${JSON.stringify(body)}`);
  return body as SignedIn;
}

/** An admin: registered as a client, promoted in SQL, then signed in again (the old token's role is stale). */
export async function createAdmin(api: TestApi, db: TestDatabase): Promise<SignedIn> {
  const email = uniqueEmail("admin");
  await registerClient(api, { email, name: "Admin Uji" });
  await db.query("update api.users set role = 'admin' where email = $1", [email]);
  return login(api, email, "password-123");
}

/** A JWT signed with the test secret, with any claims (for refusal tests); `expiresIn: null` leaves `exp` out. */
export async function signToken(
  claims: Record<string, unknown>,
  options: { secret?: string; expiresIn?: string | null } = {},
): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const jwt = new SignJWT({ jti: crypto.randomUUID(), iat: now, ...claims }).setProtectedHeader({
    alg: "HS256",
    typ: "JWT",
  });
  if (options.expiresIn !== null) jwt.setExpirationTime(options.expiresIn ?? "1h");
  return jwt.sign(new TextEncoder().encode(options.secret ?? TEST_JWT_SECRET));
}
