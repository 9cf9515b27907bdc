/**
 * The per-role limits (config/role-limits.ts) written onto the cluster's
 * roles by the bootstrap, as `ALTER ROLE … SET` (role-wide, not
 * `IN DATABASE`):
 *
 *   - the logins (`authenticator`, `app_worker`) get them when they connect;
 *   - the API roles (`web_anon`, `app_client`, `app_admin`) never log in:
 *     PostgREST 12 reads their settings from `pg_roles.rolconfig` (role-wide
 *     settings only; `ALTER ROLE … IN DATABASE` is ignored) when it loads its
 *     configuration, and sets them with `set_config(…, true)` at the start of
 *     every request's transaction, before it switches to the role. It applies
 *     only parameters the `authenticator` may set: `temp_file_limit` is a
 *     superuser parameter, so the authenticator is granted `SET` on it.
 *
 * Values are written as plain numbers in the parameter's base unit
 * (milliseconds, kilobytes): PostgREST 12.0.2 lower-cases role setting values,
 * and PostgreSQL refuses "256mb" where it accepts "256MB" (every request of the
 * role would fail with 22023).
 *
 * When a value changed, PostgREST is told to reload its configuration
 * (`NOTIFY pgrst, 'reload config'`), so a running server applies it.
 */
import type { ClientBase } from "pg";
import type { RoleLimits } from "../config/role-limits";
import { LOGIN_ROLES } from "./pg";

export type RoleSettings = Record<string, Record<string, string>>;

/** Each role's managed parameters and their values, as stored in pg_roles.rolconfig. */
export function roleLimitSettings(limits: RoleLimits): RoleSettings {
  const temp = { temp_file_limit: String(limits.tempFileLimitMb * 1024) };
  const idle = { idle_in_transaction_session_timeout: String(limits.idleInTransactionTimeoutMs) };
  const timeout = (ms: number) => ({ statement_timeout: String(ms) });
  const { anon, client, admin, worker } = limits.statementTimeoutMs;
  return {
    web_anon: { ...timeout(anon), ...temp },
    app_client: { ...timeout(client), ...temp },
    app_admin: { ...timeout(admin), ...temp },
    // PostgREST's own session (schema cache queries): the longest API limit.
    [LOGIN_ROLES.authenticator]: { ...timeout(admin), ...temp, ...idle },
    [LOGIN_ROLES.worker]: { ...timeout(worker), ...temp, ...idle },
  };
}

async function currentSettings(client: ClientBase, roles: string[]): Promise<string> {
  const { rows } = await client.query<{ settings: string }>(
    `select coalesce(json_object_agg(rolname, rolconfig order by rolname), '{}')::text as settings
       from pg_roles where rolname = any($1)`,
    [roles],
  );
  return rows[0]!.settings;
}

/**
 * Sets the limits on the roles (inside the bootstrap's transaction, which
 * holds the role catalog's lock) and grants the authenticator SET on
 * temp_file_limit. Returns whether any role's settings changed.
 */
export async function applyRoleLimits(client: ClientBase, limits: RoleLimits): Promise<boolean> {
  const settings = roleLimitSettings(limits);
  const roles = Object.keys(settings);
  const before = await currentSettings(client, roles);
  await client.query(`grant set on parameter temp_file_limit to ${LOGIN_ROLES.authenticator}`);
  for (const [role, values] of Object.entries(settings)) {
    for (const [name, value] of Object.entries(values)) {
      if (!/^\d+$/.test(value)) throw new Error(`role limit ${name} of ${role} is not a number: ${value}`);
      await client.query(`alter role ${client.escapeIdentifier(role)} set ${name} = ${value}`);
    }
  }
  const changed = (await currentSettings(client, roles)) !== before;
  if (changed) await client.query("notify pgrst, 'reload config'");
  return changed;
}
