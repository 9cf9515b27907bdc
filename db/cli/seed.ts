/** `npm run db:seed`: inserts the demo data (again: nothing is duplicated). */
import { Client } from "pg";
import { readConfig } from "../config";
import { seed } from "../seed";
import { runCli, withDatabase } from "./database";

runCli(() =>
  withDatabase(async (url) => {
    const config = readConfig();
    const client = new Client({ connectionString: url });
    await client.connect();
    try {
      const result = await seed(client, { adminEmail: config.adminEmail, adminPassword: config.adminPassword });
      if (result.generatedAdminPassword) console.log(`admin ${config.adminEmail} password: ${result.generatedAdminPassword}`);
      console.log("seeded");
    } finally {
      await client.end();
    }
  }),
);
