/** `npm run db:status`: applied and pending migrations. */
import { status } from "../migrations";
import { runCli, withDatabase } from "./database";

runCli(() =>
  withDatabase(async (url) => {
    const { applied, pending } = await status(url);
    console.log(`applied (${applied.length}):`);
    for (const m of applied) console.log(`  ${m.filename}  ${m.date.toISOString()}`);
    console.log(`pending (${pending.length}):`);
    for (const m of pending) console.log(`  ${m.filename}`);
  }),
);
