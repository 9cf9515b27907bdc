/** `npm run db:seed`: inserts the demo data and the admin user (again: nothing is duplicated). */
import { withClient } from "../pg";
import { seed } from "../seed";
import { runCli } from "./run-cli";
import { withTargetDatabase } from "./target-database";

runCli(() =>
  withTargetDatabase(({ config, connections }) =>
    withClient(connections.owner, async (client) => {
      const result = await seed(client, { adminEmail: config.adminEmail, adminPassword: config.adminPassword });
      if (result.generatedAdminPassword)
        console.log(`admin ${config.adminEmail} password: ${result.generatedAdminPassword}`);
      console.log("seeded");
    }),
  ),
);
