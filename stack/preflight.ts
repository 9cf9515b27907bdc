/**
 * What `npm start` checks before it creates anything: a start that cannot
 * succeed (a port taken, the data directory held by another running stack)
 * is refused with one sentence and leaves no data directory or secrets file
 * behind. Left-overs of a killed stack (its PostgREST, its PostgreSQL) are
 * stopped first, since they hold the very ports checked next.
 */
import path from "node:path";
import { StartupError } from "../config/startup-error";
import { stopLeftOver } from "../services/child-process";
import { claimDataDirectory } from "../services/embedded-postgres";
import { portInUse } from "../services/ports";

/** A port one part of the stack will listen on. */
export type PlannedListener = {
  port: number;
  host: string;
  /** The setting that chooses it, e.g. API_PORT. */
  setting: string;
  /** What listens there, e.g. "the REST API". */
  part: string;
};

export type PreflightOptions = {
  dataDir: string;
  /** Whether the embedded PostgreSQL runs (no DATABASE_URL): its data directory is then claimed. */
  embeddedPostgres: boolean;
  listeners: readonly PlannedListener[];
  /** Told what was done on the user's behalf (a left-over server stopped). */
  onNotice: (message: string) => void;
};

export class PortInUseError extends StartupError {}

export function portInUseMessage(listener: PlannedListener): string {
  return (
    `Port ${listener.port} on ${listener.host} is already in use, so ${listener.part} cannot listen on it: ` +
    `stop whatever holds it (another \`npm start\`?) or choose another port with ${listener.setting}=<port>.`
  );
}

export async function checkBeforeCreating(options: PreflightOptions): Promise<void> {
  const leftOver = await stopLeftOver(path.join(options.dataDir, "postgrest.pid"), "SIGTERM");
  if (leftOver) options.onNotice(`stopped a PostgREST (pid ${leftOver}) that an earlier start left running`);
  if (options.embeddedPostgres)
    await claimDataDirectory({ dataDir: path.join(options.dataDir, "postgres"), onNotice: options.onNotice });
  for (const listener of options.listeners) {
    if (await portInUse(listener.port, listener.host)) throw new PortInUseError(portInUseMessage(listener));
  }
}
