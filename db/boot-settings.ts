/**
 * What the stack hands the database at every boot and never writes in a
 * migration: the login passwords of the roles PostgREST and the worker use,
 * and the secrets the SQL functions need (JWT signing, credentials key).
 */
import type { Client } from "pg";

export type BootSettings = {
  authenticatorPassword: string;
  workerPassword: string;
  jwtSecret: string;
  credentialsKey: string;
  /** Lifetime of the tokens login and register issue (default 3600 s). */
  jwtLifetimeSeconds?: number;
};

export async function configureDatabase(client: Client, settings: BootSettings): Promise<void> {
  await client.query("begin");
  try {
    await client.query(`alter role authenticator with login password ${client.escapeLiteral(settings.authenticatorPassword)}`);
    await client.query(`alter role app_worker with login password ${client.escapeLiteral(settings.workerPassword)}`);
    for (const [name, value] of [
      ["jwt_secret", settings.jwtSecret],
      ["credentials_key", settings.credentialsKey],
      ["jwt_lifetime_seconds", String(settings.jwtLifetimeSeconds ?? 3600)],
    ] as const) {
      await client.query(
        `insert into app_private.settings (name, value) values ($1, $2)
         on conflict (name) do update set value = excluded.value where settings.value is distinct from excluded.value`,
        [name, value],
      );
    }
    await client.query("commit");
  } catch (error) {
    await client.query("rollback");
    throw error;
  }
}
