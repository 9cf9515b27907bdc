/**
 * `npm run db:deploy`: what a deployment runs once before PostgREST and the
 * workers start (the `migrate` service of docker-compose.yml, compiled:
 * `node dist/db/cli/deploy.js`), on the superuser connection of
 * DATABASE_URL: the bootstrap (roles and their passwords, database
 * ownership, graphile-worker's schema), the migrations as the owner, the
 * boot settings, and the admin user (demo content only with
 * SEED_DEMO_DATA=true).
 */
import { readConfig } from "../../config/settings";
import { secretsFromEnvironment } from "../../config/secrets";
import { StartupError } from "../../config/startup-error";
import { redactedUrl } from "../pg";
import { bootOptions, prepareDatabase } from "../prepare";
import { runCli } from "./run-cli";

runCli(async () => {
  const config = readConfig();
  if (!config.databaseUrl)
    throw new StartupError("db:deploy needs DATABASE_URL (a superuser connection to the application's database)");
  const secrets = secretsFromEnvironment(config);
  const prepared = await prepareDatabase(bootOptions(config, secrets, config.databaseUrl, false));
  if (prepared.seeded?.generatedAdminPassword) {
    console.log(
      `created the admin user ${config.adminEmail} with the generated password: ${prepared.seeded.generatedAdminPassword}`,
    );
  }
  console.log(
    `database deployed: ${redactedUrl(prepared.connections.owner)} (${prepared.applied.length ? `applied ${prepared.applied.join(", ")}` : "migrations up to date"})`,
  );
});
