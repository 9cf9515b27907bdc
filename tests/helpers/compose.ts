/**
 * docker-compose.yml read the way `docker compose` reads it, for the tests
 * that prove it without a Docker engine: the services, and their environment
 * with `${VAR}`, `${VAR:-default}`, `${VAR-default}`, `${VAR:?error}`,
 * `${VAR?error}` and `$$` interpolated from a given set of variables (the
 * .env file of a deployment).
 */
import fs from "node:fs";
import path from "node:path";
import { parse } from "yaml";
import { projectRoot } from "../../config/paths";
import { TEST_CREDENTIALS_KEY, TEST_JWT_SECRET, TEST_PASSWORDS } from "../setup/cluster";

export type ComposeService = {
  image?: string;
  build?: unknown;
  command?: string[] | string;
  environment?: Record<string, string | number | boolean | null> | string[];
  expose?: (string | number)[];
  depends_on?: string[] | Record<string, unknown>;
  networks?: string[] | Record<string, { ipv4_address?: string } | null>;
};

export type ComposeNetwork = { ipam?: { config?: { subnet?: string }[] } };

export type ComposeFile = { services: Record<string, ComposeService>; networks?: Record<string, ComposeNetwork> };

export const composePath = path.join(projectRoot, "docker-compose.yml");

export function readComposeText(): string {
  return fs.readFileSync(composePath, "utf8");
}

export function loadCompose(): ComposeFile {
  const parsed = parse(readComposeText()) as ComposeFile;
  if (!parsed?.services) throw new Error("docker-compose.yml has no services");
  return parsed;
}

export function service(compose: ComposeFile, name: string): ComposeService {
  const found = compose.services[name];
  if (!found) throw new Error(`docker-compose.yml has no service ${name}`);
  return found;
}

const reference = /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g;

/** The variables a text refers to (`$$` is an escaped dollar, not a reference). */
export function referencedVariables(text: string): Set<string> {
  const names = new Set<string>();
  for (const match of text.matchAll(reference)) {
    const name = match[1] ?? match[4];
    if (name) names.add(name);
  }
  return names;
}

/** Interpolates one value as compose does; a missing `:?` variable throws with its message. */
export function interpolate(value: string, variables: Record<string, string | undefined>): string {
  return value.replace(reference, (whole, braced?: string, operator?: string, argument?: string, bare?: string) => {
    if (whole === "$$") return "$";
    const name = (braced ?? bare)!;
    const current = variables[name];
    const unsetOrEmpty = current === undefined || current === "";
    switch (operator) {
      case ":-":
        return unsetOrEmpty ? argument! : current;
      case "-":
        return current === undefined ? argument! : current;
      case ":?":
        if (unsetOrEmpty) throw new Error(`compose: ${name}: ${argument}`);
        return current;
      case "?":
        if (current === undefined) throw new Error(`compose: ${name}: ${argument}`);
        return current;
      default:
        return current ?? "";
    }
  });
}

/** A service's environment as its container gets it. */
export function serviceEnvironment(
  svc: ComposeService,
  variables: Record<string, string | undefined>,
): Record<string, string> {
  const raw = svc.environment ?? {};
  const entries: [string, string][] = Array.isArray(raw)
    ? raw.map((item) => {
        const at = item.indexOf("=");
        return at < 0 ? [item, variables[item] ?? ""] : [item.slice(0, at), item.slice(at + 1)];
      })
    : Object.entries(raw).map(([key, value]) => [key, value === null ? (variables[key] ?? "") : String(value)]);
  return Object.fromEntries(entries.map(([key, value]) => [key, interpolate(value, variables)]));
}

/** A service's command as an argv (the exec form; the shell form is not used here). */
export function serviceCommand(svc: ComposeService): string[] {
  if (!Array.isArray(svc.command)) throw new Error("expected the exec form of command (a list)");
  return svc.command;
}

/**
 * The variables of a deployment's .env for the tests: the role passwords,
 * JWT secret and credentials key of the test cluster (db:deploy sets the
 * cluster-wide role passwords to what it is given, and the other test files
 * running at the same time log in with these).
 */
export function testDeploymentVariables(superuserPassword: string): Record<string, string> {
  return {
    POSTGRES_PASSWORD: superuserPassword,
    OWNER_PASSWORD: TEST_PASSWORDS.owner,
    AUTHENTICATOR_PASSWORD: TEST_PASSWORDS.authenticator,
    WORKER_PASSWORD: TEST_PASSWORDS.worker,
    JWT_SECRET: TEST_JWT_SECRET,
    CREDENTIALS_KEY: TEST_CREDENTIALS_KEY,
    ADMIN_PASSWORD: "deploy-admin-password",
    CORS_ALLOWED_ORIGINS: "https://jasaweb.example,https://admin.jasaweb.example",
  };
}
