/**
 * What the stack hands the database at every boot and never writes in a
 * migration: the secrets the SQL functions need (JWT signing, credentials
 * key, the Midtrans server key that signs notifications), the token
 * lifetime and the number of password-hash slots, as rows of app_private.settings that only
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
  /** How many bcrypt hashes may run at once (default 2: app_private.hash_password). */
  passwordHashSlots?: number;
  /** Checks the signature of Midtrans' notifications; left as it is when omitted. */
  midtransServerKey?: string;
};

export async function applyBootSettings(client: ClientBase, settings: BootSettings): Promise<void> {
  await inTransaction(client, async () => {
    for (const [name, value] of [
      ["jwt_secret", settings.jwtSecret],
      ["credentials_key", settings.credentialsKey],
      ["jwt_lifetime_seconds", String(settings.jwtLifetimeSeconds ?? 3600)],
      ["password_hash_slots", String(settings.passwordHashSlots ?? 2)],
      ...(settings.midtransServerKey ? [["midtrans_server_key", settings.midtransServerKey] as const] : []),
    ] as const) {
      await client.query(
        `insert into app_private.settings (name, value) values ($1, $2)
         on conflict (name) do update set value = excluded.value where settings.value is distinct from excluded.value`,
        [name, value],
      );
    }
  });
}
