/**
 * `npm run db:rollback`                undo the latest applied migration
 * `npm run db:rollback -- --to N`      undo everything after migration N
 * `npm run db:rollback -- --all`       undo every migration
 * Down scripts run as the owner, like the migrations.
 */
import { parseArgs } from "node:util";
import { StartupError } from "../../config/startup-error";
import { rollback } from "../migrations";
import { runCli } from "./run-cli";
import { withTargetDatabase } from "./target-database";

runCli(async () => {
  const { values } = parseArgs({ options: { to: { type: "string" }, all: { type: "boolean" } } });
  if (values.to !== undefined && values.all) throw new StartupError("use either --to N or --all, not both");
  let to: number | undefined;
  if (values.to !== undefined) {
    if (!/^\d+$/.test(values.to)) throw new StartupError(`--to takes a migration number, got "${values.to}"`);
    to = Number(values.to);
  }
  await withTargetDatabase(async ({ connections }) => {
    const undone = await rollback(connections.owner, { to, all: values.all });
    console.log(undone.length ? `rolled back: ${undone.join(", ")}` : "nothing to roll back");
  });
});
