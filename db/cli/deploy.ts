/**
 * `npm run db:deploy`: what a deployment runs once before PostgREST and the
 * workers start (the `migrate` service of docker-compose.yml): apply
 * migrations, hand the database the role passwords and secrets from the
 * environment, and make sure the admin user exists (demo content only with
 * SEED_DEMO_DATA=true).
 */
import { Client } from "pg";
import { configureDatabase } from "../boot-settings";
import { readConfig } from "../config";
import { migrate } from "../migrations";
import { seed } from "../seed";
import { runCli } from "./database";

runCli(async () => {
  const config = readConfig();
  const missing = (
    [
      ["DATABASE_URL", config.databaseUrl],
      ["AUTHENTICATOR_PASSWORD", config.authenticatorPassword],
      ["WORKER_PASSWORD", config.workerPassword],
      ["JWT_SECRET", config.jwtSecret],
      ["CREDENTIALS_KEY", config.credentialsKey],
    ] as const
  ).filter(([, value]) => !value);
  if (missing.length) throw new Error(`db:deploy needs ${missing.map(([name]) => name).join(", ")}`);
  const url = config.databaseUrl!;
  await migrate(url, { quiet: true });
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    await configureDatabase(client, {
      authenticatorPassword: config.authenticatorPassword!,
      workerPassword: config.workerPassword!,
      jwtSecret: config.jwtSecret!,
      credentialsKey: config.credentialsKey!,
      jwtLifetimeSeconds: config.jwtLifetimeSeconds,
    });
    const result = await seed(client, {
      adminEmail: config.adminEmail,
      adminPassword: config.adminPassword,
      demoContent: config.seedDemoData ?? false,
    });
    if (result.generatedAdminPassword) {
      console.log(`created the admin user ${config.adminEmail} with the generated password: ${result.generatedAdminPassword}`);
    }
  } finally {
    await client.end();
  }
  console.log("database deployed");
});
