/**
 * How every db:* command runs its body: a one-line error on failure (a stack
 * only for unexpected errors) and exit code 1. Kept apart from
 * target-database.ts so that db:deploy, which the production image runs,
 * never loads the embedded server's module (services/embedded-postgres.ts).
 */
import { describeStartupFailure } from "../../config/startup-error";

export function runCli(main: () => Promise<void>): void {
  main().catch((error: unknown) => {
    process.stderr.write(`error: ${describeStartupFailure(error)}\n`);
    process.exit(1);
  });
}
