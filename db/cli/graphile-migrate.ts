/**
 * `npm run gm -- <command>`: the graphile-migrate CLI (watch, commit,
 * uncommit, status, …) pointed at the embedded server, with a shadow
 * database for `commit` to verify migrations on. With DATABASE_URL set, the
 * variables of .gmrc's header are used as they are.
 */
import { spawnSync } from "node:child_process";
import path from "node:path";
import { projectRoot } from "../config";
import { runCli, withDatabase } from "./database";

runCli(async () => {
  const args = process.argv.slice(2);
  const bin = path.join(projectRoot, "node_modules", ".bin", "graphile-migrate");
  if (process.env.DATABASE_URL) {
    const result = spawnSync(bin, args, { stdio: "inherit", cwd: projectRoot });
    process.exitCode = result.status ?? 1;
    return;
  }
  await withDatabase(async (url) => {
    const shadow = new URL(url);
    shadow.pathname = "/jasaweb_shadow";
    const root = new URL(url);
    root.pathname = "/postgres";
    const result = spawnSync(bin, args, {
      stdio: "inherit",
      cwd: projectRoot,
      env: { ...process.env, DATABASE_URL: url, SHADOW_DATABASE_URL: shadow.toString(), ROOT_DATABASE_URL: root.toString() },
    });
    process.exitCode = result.status ?? 1;
  });
});
