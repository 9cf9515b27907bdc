/**
 * The graphile-worker runner: the task list and the schedule.
 *
 * It connects as `app_worker`, which may run jobs but not change the schema:
 * graphile-worker's own schema is installed and migrated by the database
 * bootstrap (db/bootstrap.ts) on the owner's connection, so at start-up the
 * runner only finds it up to date.
 */
import { run, type Runner, type TaskList } from "graphile-worker";
import { partitionsMaintain } from "./tasks/partitions__maintain";

export const taskList: TaskList = {
  partitions__maintain: partitionsMaintain,
};

/** Daily at 03:00, and once at start-up if the last run was missed (?fill). */
export const crontab = "0 3 * * * partitions__maintain ?fill=2d&max=1\n";

export async function startWorker(connectionString: string, options: { concurrency?: number } = {}): Promise<Runner> {
  return run({
    connectionString,
    concurrency: options.concurrency ?? 4,
    // The process that embeds the runner owns signal handling.
    noHandleSignals: true,
    pollInterval: 2_000,
    taskList,
    crontab,
  });
}
