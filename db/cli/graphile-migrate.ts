/**
 * `npm run gm -- <command>`: the graphile-migrate CLI (watch, commit,
 * uncommit, status, …) with the connection strings of .gmrc's header filled
 * in: DATABASE_URL is the owner's (migrations and current.sql run as the
 * owner), SHADOW_DATABASE_URL a throw-away database that `commit` rebuilds
 * and migrates from scratch (as the superuser: migration 000001 needs one),
 * ROOT_DATABASE_URL the superuser's. The bootstrap runs first, so `watch` on
 * a fresh database works. After a successful `commit` or `uncommit` it
 * refreshes migrations/schema.txt (`npm run db:snapshot`).
 */
import { spawnSync } from "node:child_process";
import path from "node:path";
import { projectRoot } from "../../config/paths";
import { bootstrap } from "../bootstrap";
import { databaseUrl } from "../pg";
import { runCli } from "./run-cli";
import { withTargetDatabase } from "./target-database";

runCli(() =>
  withTargetDatabase(async ({ config, connections, secrets }) => {
    await bootstrap(connections.superuser, secrets.passwords, config.roleLimits);
    const database = decodeURIComponent(new URL(connections.superuser).pathname.slice(1));
    const result = spawnSync(
      path.join(projectRoot, "node_modules", ".bin", "graphile-migrate"),
      process.argv.slice(2),
      {
        stdio: "inherit",
        cwd: projectRoot,
        env: {
          ...process.env,
          DATABASE_URL: connections.owner,
          SHADOW_DATABASE_URL: databaseUrl(connections.superuser, `${database}_shadow`),
          ROOT_DATABASE_URL: databaseUrl(connections.superuser, "postgres"),
        },
      },
    );
    process.exitCode = result.status ?? 1;
    const command = process.argv[2];
    if (result.status === 0 && (command === "commit" || command === "uncommit")) {
      const snapshot = spawnSync(
        process.execPath,
        ["--import", "tsx", path.join(projectRoot, "db", "cli", "snapshot.ts")],
        {
          stdio: "inherit",
          cwd: projectRoot,
        },
      );
      process.exitCode = snapshot.status ?? 1;
    }
  }),
);
