/** `npm run db:status`: applied and pending migrations; refuses if an applied file was edited. */
import { assertAppliedMigrationsUnchanged, migrationStatus } from "../migrations";
import { withClient } from "../pg";
import { runCli } from "./run-cli";
import { withTargetDatabase } from "./target-database";

runCli(() =>
  withTargetDatabase(({ connections }) =>
    withClient(connections.superuser, async (client) => {
      await assertAppliedMigrationsUnchanged(client);
      const { applied, pending } = await migrationStatus(client);
      console.log(`applied (${applied.length}):`);
      for (const m of applied) console.log(`  ${m.filename}  ${m.date.toISOString()}`);
      console.log(`pending (${pending.length}):`);
      for (const m of pending) console.log(`  ${m.realFilename}`);
    }),
  ),
);
