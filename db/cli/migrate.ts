/** `npm run db:migrate`: applies pending migrations. */
import { migrate, status } from "../migrations";
import { runCli, withDatabase } from "./database";

runCli(() =>
  withDatabase(async (url) => {
    const before = await status(url);
    await migrate(url, { quiet: true });
    const names = before.pending.map((m) => m.filename);
    console.log(names.length ? `applied ${names.length}: ${names.join(", ")}` : "already up to date");
  }),
);
