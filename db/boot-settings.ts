/**
 * What the stack hands the database at every boot and never writes in a
 * migration: the secrets the SQL functions need (JWT signing, credentials
 * key) and the token lifetime, as rows of app_private.settings that only
 * SECURITY DEFINER functions read. Written by the owner. (The login
 * passwords of the roles are cluster-wide and set by the bootstrap.)
 */
import type { ClientBase } from "pg";
import { inTransaction } from "./pg";

export type BootSettings = {
  jwtSecret: string;
  credentialsKey: string;
  /** Lifetime of the tokens login and register issue (default 3600 s). */
  jwtLifetimeSeconds?: number;
};

export async function applyBootSettings(client: ClientBase, settings: BootSettings): Promise<void> {
  await inTransaction(client, async () => {
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
  });
}
