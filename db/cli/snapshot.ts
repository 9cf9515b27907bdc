/**
 * `npm run db:snapshot`: rewrites migrations/schema.txt, the schema that the
 * committed migrations build, as text. It migrates a fresh, throw-away
 * database on the target server with the same boot sequence as npm start,
 * describes it from the catalog and drops it. `npm run gm -- commit` runs it
 * after committing. Development only: not part of the image.
 */
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { projectRoot } from "../../config/paths";
import { databaseUrl, withClient } from "../pg";
import { prepareDatabase } from "../prepare";
import { SNAPSHOT_FILE, describeSchema, snapshotText } from "../schema-description";
import { runCli } from "./run-cli";
import { withTargetDatabase } from "./target-database";

runCli(() =>
  withTargetDatabase(async ({ connections, secrets }) => {
    const scratch = `jasaweb_snapshot_${crypto.randomBytes(4).toString("hex")}`;
    const server = databaseUrl(connections.superuser, "postgres");
    await withClient(server, (client) => client.query(`create database ${scratch}`));
    try {
      await prepareDatabase({
        superuserUrl: databaseUrl(connections.superuser, scratch),
        passwords: secrets.passwords,
        settings: { jwtSecret: secrets.jwtSecret, credentialsKey: secrets.credentialsKey },
      });
      const text = await withClient(databaseUrl(connections.superuser, scratch), async (client) =>
        snapshotText(await describeSchema(client)),
      );
      fs.writeFileSync(path.join(projectRoot, SNAPSHOT_FILE), text);
      console.log(`wrote ${SNAPSHOT_FILE} (${text.split("\n").length} lines)`);
    } finally {
      await withClient(server, (client) => client.query(`drop database if exists ${scratch} with (force)`));
    }
  }),
);
