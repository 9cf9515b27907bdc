/** `npm run worker`: the worker process on its own (deployment). */
import { readConfig } from "../db/config";
import { startWorker } from "./runner";

async function main(): Promise<void> {
  const config = readConfig();
  if (!config.databaseUrl) throw new Error("DATABASE_URL must be set for a stand-alone worker (npm start runs one itself)");
  const runner = await startWorker(config.databaseUrl);
  const stop = () => {
    void runner.stop().then(() => process.exit(0));
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  await runner.promise;
}

main().catch((error: unknown) => {
  process.stderr.write(`worker: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
