/** `npm run db:migrate`: the bootstrap, then the pending migrations (as the owner). */
import { bootstrap } from "../bootstrap";
import { migrate } from "../migrations";
import { runCli } from "./run-cli";
import { withTargetDatabase } from "./target-database";

runCli(() =>
  withTargetDatabase(async ({ config, connections, secrets }) => {
    const { appliedAsSuperuser } = await bootstrap(connections.superuser, secrets.passwords, config.roleLimits);
    const applied = [...appliedAsSuperuser, ...(await migrate(connections.owner, { quiet: true }))];
    console.log(applied.length ? `applied ${applied.length}: ${applied.join(", ")}` : "already up to date");
  }),
);
