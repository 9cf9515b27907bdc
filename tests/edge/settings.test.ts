/**
 * The edge's settings (config/settings.ts): TRUSTED_PROXIES,
 * API_MAX_BODY_BYTES, CORS_ALLOWED_ORIGINS and POSTGREST_URL, their
 * documented defaults, and a bad value named in the error.
 */
import { readConfig } from "../../config/settings";

test("defaults: no trusted proxy, 1 MB bodies, any origin (development), no stand-alone upstream", () => {
  expect(readConfig({}).edge).toEqual({
    trustedProxies: [],
    maxBodyBytes: 1_048_576,
    corsAllowedOrigins: "*",
    postgrestUrl: undefined,
  });
});

test("every setting comes from its variable", () => {
  expect(
    readConfig({
      TRUSTED_PROXIES: " 172.30.80.10, 10.0.0.0/8 ,::1",
      API_MAX_BODY_BYTES: "65536",
      CORS_ALLOWED_ORIGINS: "https://jasaweb.id, http://localhost:5173",
      POSTGREST_URL: "http://postgrest:3000/",
    }).edge,
  ).toEqual({
    trustedProxies: ["172.30.80.10", "10.0.0.0/8", "::1"],
    maxBodyBytes: 65_536,
    corsAllowedOrigins: ["https://jasaweb.id", "http://localhost:5173"],
    postgrestUrl: "http://postgrest:3000",
  });
});

test.each([
  [{ TRUSTED_PROXIES: "127.0.0.1, nginx" }, /TRUSTED_PROXIES: "nginx" is not an IP address or CIDR range/],
  [
    { CORS_ALLOWED_ORIGINS: "https://jasaweb.id/app" },
    /CORS_ALLOWED_ORIGINS: "https:\/\/jasaweb.id\/app" is not an origin/,
  ],
  [{ CORS_ALLOWED_ORIGINS: "*, https://jasaweb.id" }, /CORS_ALLOWED_ORIGINS: "\*" is not an origin/],
  [{ API_MAX_BODY_BYTES: "100" }, /API_MAX_BODY_BYTES/],
  [{ POSTGREST_URL: "postgrest:3000" }, /POSTGREST_URL/],
])("%p is refused with the variable named", (env, message) => {
  expect(() => readConfig(env)).toThrow(message);
});
