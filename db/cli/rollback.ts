/**
 * `npm run db:rollback`                undo the latest applied migration
 * `npm run db:rollback -- --to N`      undo everything after migration N
 * `npm run db:rollback -- --all`       undo every migration
 */
import { parseArgs } from "node:util";
import { rollback } from "../migrations";
import { runCli, withDatabase } from "./database";

runCli(async () => {
  const { values } = parseArgs({ options: { to: { type: "string" }, all: { type: "boolean" } } });
  if (values.to !== undefined && values.all) throw new Error("use either --to N or --all, not both");
  let to: number | undefined;
  if (values.to !== undefined) {
    if (!/^\d+$/.test(values.to)) throw new Error(`--to takes a migration number, got "${values.to}"`);
    to = Number(values.to);
  }
  await withDatabase(async (url) => {
    const undone = await rollback(url, { to, all: values.all });
    console.log(undone.length ? `rolled back: ${undone.join(", ")}` : "nothing to roll back");
  });
});
