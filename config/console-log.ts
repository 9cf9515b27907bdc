/**
 * What `npm start` (and any process that wants it) prints, by LOG_LEVEL: every line carries the prefix of the
 * part it comes from (`[jasaweb]`, `[postgrest]`, `[worker]`, …), including
 * the continuation lines of a multi-line message, and only lines at or above
 * the level are shown. At the default `info` the console holds the start-up
 * block of the README and what needs the user's attention (warnings, errors);
 * `debug` adds the chatter of the parts: PostgreSQL's and PostgREST's own
 * logs (PostgREST's request lines for 5xx answers among them) and the
 * worker's per-job lines.
 */
import { Logger, type LogLevel as WorkerLogLevel } from "@graphile/logger";

export const LOG_LEVELS = ["error", "warn", "info", "debug"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export type ConsoleLog = {
  /** Whether a line at `level` is shown. */
  shows(level: LogLevel): boolean;
  /** One message of the stack itself (`[jasaweb]`); info and debug to stdout, warn and error to stderr. */
  write(level: LogLevel, message: string, prefix?: string): void;
  /**
   * A sink for a part's raw output (chunks of a child process's stdout and
   * stderr, named by `stream`): split into lines, each shown with `prefix`
   * at `level`.
   */
  lines(prefix: string, level: LogLevel): (chunk: string, stream?: string) => void;
  /** graphile-worker's logger: its errors and warnings shown, its info and debug lines only at debug. */
  workerLogger(prefix?: string): Logger;
};

const rank: Record<LogLevel, number> = { error: 0, warn: 1, info: 2, debug: 3 };

const workerLevels: Record<WorkerLogLevel, LogLevel> = {
  error: "error",
  warning: "warn",
  info: "debug",
  debug: "debug",
};

export function createConsoleLog(
  threshold: LogLevel,
  out: (text: string) => void = (text) => process.stdout.write(text),
  err: (text: string) => void = (text) => process.stderr.write(text),
): ConsoleLog {
  const shows = (level: LogLevel) => rank[level] <= rank[threshold];
  const write = (level: LogLevel, message: string, prefix = "jasaweb") => {
    if (!shows(level)) return;
    const text = message
      .replace(/\n+$/, "")
      .split("\n")
      .map((line) => `[${prefix}] ${line}\n`)
      .join("");
    (rank[level] <= rank.warn ? err : out)(text);
  };
  const lines = (prefix: string, level: LogLevel) => {
    // A line may come in pieces, and a child's stdout and stderr interleave: one buffer per stream.
    const pending = new Map<string, string>();
    return (chunk: string, stream = "") => {
      if (!shows(level)) return;
      const text = (pending.get(stream) ?? "") + chunk;
      const complete = text.lastIndexOf("\n");
      pending.set(stream, text.slice(complete + 1));
      if (complete < 0) return;
      for (const line of text.slice(0, complete).split("\n")) if (line.trim()) write(level, line, prefix);
    };
  };
  const workerLogger = (prefix = "worker") =>
    new Logger(() => (level: WorkerLogLevel, message: string) => write(workerLevels[level] ?? "info", message, prefix));
  return { shows, write, lines, workerLogger };
}
