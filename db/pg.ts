/**
 * The one way this project talks to PostgreSQL outside a pool: a client for
 * the length of a function (`withClient`), a transaction that commits or
 * rolls back as a whole (`inTransaction`), and the connection strings of the
 * roles that log in (superuser for the bootstrap, the owner for migrations,
 * `authenticator` for PostgREST, `app_worker` for the worker), all derived
 * from one server URL so they can never point at different databases.
 */
import { Client, type ClientBase } from "pg";

/** The roles that log in, by job. The API roles (web_anon, app_client, app_admin) never log in. */
export const LOGIN_ROLES = {
  /** Owns every object of ours and runs the migrations; NOSUPERUSER. */
  owner: "app_owner",
  /** PostgREST's login; switches to the request's role. */
  authenticator: "authenticator",
  /** graphile-worker's login. */
  worker: "app_worker",
} as const;

export type RolePasswords = { owner: string; authenticator: string; worker: string };

/** Connection strings for each login of one database. */
export type DatabaseConnections = {
  /** As given: a superuser (bootstrap, tests); never handed to PostgREST or the worker. */
  superuser: string;
  owner: string;
  authenticator: string;
  worker: string;
};

/** The same server and credentials, another database. */
export function databaseUrl(serverUrl: string, database: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${encodeURIComponent(database)}`;
  return url.toString();
}

/** The same server and database, another login. */
export function roleUrl(url: string, role: string, password: string): string {
  const parsed = new URL(url);
  parsed.username = encodeURIComponent(role);
  parsed.password = encodeURIComponent(password);
  return parsed.toString();
}

export function connectionsFor(superuserUrl: string, passwords: RolePasswords): DatabaseConnections {
  return {
    superuser: superuserUrl,
    owner: roleUrl(superuserUrl, LOGIN_ROLES.owner, passwords.owner),
    authenticator: roleUrl(superuserUrl, LOGIN_ROLES.authenticator, passwords.authenticator),
    worker: roleUrl(superuserUrl, LOGIN_ROLES.worker, passwords.worker),
  };
}

/** The URL with its password replaced by `****`, for logs. */
export function redactedUrl(url: string): string {
  const parsed = new URL(url);
  if (parsed.password) parsed.password = "****";
  return parsed.toString();
}

export async function withClient<T>(connectionString: string, fn: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** Runs `fn` in a transaction on `client`: committed if it returns, rolled back if it throws. */
export async function inTransaction<T>(client: ClientBase, fn: (client: ClientBase) => Promise<T>): Promise<T> {
  await client.query("begin");
  try {
    const result = await fn(client);
    await client.query("commit");
    return result;
  } catch (error) {
    await client.query("rollback").catch(() => undefined);
    throw error;
  }
}

/** Does a connection with this URL succeed right now? */
export async function canConnect(connectionString: string, timeoutMs = 2_000): Promise<boolean> {
  const client = new Client({ connectionString, connectionTimeoutMillis: timeoutMs });
  try {
    await client.connect();
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}
