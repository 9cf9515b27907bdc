/**
 * The one boot sequence of a database, used by `npm start`, `db:deploy`, the
 * test cluster and the benchmark:
 *
 *   bootstrap (superuser; roles and their limits) → migrate (owner) → boot settings (owner) → seed (owner, when asked)
 */
import type { Logger } from "@graphile/logger";
import type { RoleLimits } from "../config/role-limits";
import type { ResolvedSecrets } from "../config/secrets";
import type { StackConfig } from "../config/settings";
import { bootstrap } from "./bootstrap";
import { applyBootSettings, type BootSettings } from "./boot-settings";
import { migrate } from "./migrations";
import { connectionsFor, withClient, type DatabaseConnections, type RolePasswords } from "./pg";
import { seed, type SeedOptions, type SeedResult } from "./seed";

export type PrepareOptions = {
  /** A superuser connection to the application's database. */
  superuserUrl: string;
  passwords: RolePasswords;
  /** Per-role limits set by the bootstrap; omitted: the defaults (README, Limits). */
  limits?: RoleLimits;
  settings: BootSettings;
  /** Demo content and the admin user; omitted: no seeding. */
  seed?: SeedOptions;
  /** Keep graphile-migrate's progress lines out of the output. */
  quiet?: boolean;
  /** Where graphile-migrate's progress lines go instead (npm start: its console, by LOG_LEVEL). */
  migrationLogger?: Logger;
};

export type PreparedDatabase = {
  connections: DatabaseConnections;
  /** Migration files applied by this boot (none when up to date). */
  applied: string[];
  seeded?: SeedResult;
};

export async function prepareDatabase(options: PrepareOptions): Promise<PreparedDatabase> {
  const connections = connectionsFor(options.superuserUrl, options.passwords);
  const { appliedAsSuperuser } = await bootstrap(connections.superuser, options.passwords, options.limits);
  const applied = [
    ...appliedAsSuperuser,
    ...(await migrate(connections.owner, { quiet: options.quiet ?? true, logger: options.migrationLogger })),
  ];
  const seeded = await withClient(connections.owner, async (client) => {
    await applyBootSettings(client, options.settings);
    return options.seed ? seed(client, options.seed) : undefined;
  });
  return { connections, applied, seeded };
}

/**
 * The boot of the application's database from the configuration: its
 * secrets, token lifetime, admin user, and demo content unless configured
 * (`demoContentByDefault`: true for npm start, false for db:deploy).
 */
export function bootOptions(
  config: StackConfig,
  secrets: ResolvedSecrets,
  superuserUrl: string,
  demoContentByDefault: boolean,
): PrepareOptions {
  return {
    superuserUrl,
    passwords: secrets.passwords,
    limits: config.roleLimits,
    settings: {
      jwtSecret: secrets.jwtSecret,
      credentialsKey: secrets.credentialsKey,
      jwtLifetimeSeconds: config.jwtLifetimeSeconds,
      passwordHashSlots: config.passwordHashSlots,
      midtransServerKey: config.midtransServerKey,
    },
    seed: {
      adminEmail: config.adminEmail,
      adminPassword: config.adminPassword,
      demoContent: config.seedDemoData ?? demoContentByDefault,
    },
    quiet: config.logLevel !== "debug",
  };
}
