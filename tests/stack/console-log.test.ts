/**
 * What `npm start`'s console shows at each LOG_LEVEL (stack/console-log.ts):
 * every line prefixed, chatter only at debug, a burst of PostgREST's 5xx
 * request lines not shown at the default level.
 */
import { createConsoleLog, type LogLevel } from "../../config/console-log";

function captured(level: LogLevel) {
  const out: string[] = [];
  const err: string[] = [];
  const log = createConsoleLog(
    level,
    (text) => out.push(text),
    (text) => err.push(text),
  );
  return { log, out: () => out.join(""), err: () => err.join("") };
}

const postgrestChunk =
  "28/Nov/2026:14:58:55 +0000: Starting PostgREST 12.0.2...\n28/Nov/2026:14:58:55 +0000: Attempting to connect";
const requestLine = (i: number) =>
  `127.0.0.1 - web_anon [28/Nov/2026:15:00:0${i % 10} +0000] "GET /posts HTTP/1.1" 504 - "" "curl"\n`;

describe("the console of npm start", () => {
  test("at info, PostgREST's start-up lines and 500 lines of 504s print nothing; the stack's own line prints", () => {
    const { log, out, err } = captured("info");
    const postgrest = log.lines("postgrest", "debug");
    postgrest(postgrestChunk);
    postgrest(" to the database...\n");
    for (let i = 0; i < 500; i++) postgrest(requestLine(i));
    log.write("info", "REST API:          http://127.0.0.1:3000/");
    expect(out()).toBe("[jasaweb] REST API:          http://127.0.0.1:3000/\n");
    expect(err()).toBe("");
  });

  test("at debug, each line of a chunk gets the prefix, a line split across chunks is printed whole", () => {
    const { log, out } = captured("debug");
    const postgrest = log.lines("postgrest", "debug");
    postgrest(postgrestChunk);
    postgrest(" to the database...\n");
    expect(out()).toBe(
      "[postgrest] 28/Nov/2026:14:58:55 +0000: Starting PostgREST 12.0.2...\n" +
        "[postgrest] 28/Nov/2026:14:58:55 +0000: Attempting to connect to the database...\n",
    );
  });

  test("a line that comes in pieces on stdout while stderr writes whole lines is printed whole", () => {
    const { log, out } = captured("debug");
    const postgrest = log.lines("postgrest", "debug");
    postgrest("Listening on port 34047", "stdout");
    postgrest("Connection successful\n", "stderr");
    postgrest("\n", "stdout");
    expect(out()).toBe("[postgrest] Connection successful\n[postgrest] Listening on port 34047\n");
  });

  test("a multi-line message carries the prefix on every line; warnings and errors go to stderr", () => {
    const { log, out, err } = captured("warn");
    log.write("error", "could not start: Invalid configuration:\n  LOG_LEVEL: bad\n");
    log.write("warn", "PostgREST cannot be reached", "edge");
    log.write("info", "REST API: …");
    expect(out()).toBe("");
    expect(err()).toBe(
      "[jasaweb] could not start: Invalid configuration:\n[jasaweb]   LOG_LEVEL: bad\n[edge] PostgREST cannot be reached\n",
    );
  });

  test("graphile-worker's info lines are debug, its warnings and errors show at info", () => {
    const { log, out, err } = captured("info");
    const logger = log.workerLogger();
    logger.info("Completed task 1 (invoices__reconcile, 11.88ms) with success");
    logger.warn("Midtrans does not know order X");
    logger.error("Failed task 2 with error\n  at somewhere");
    expect(out()).toBe("");
    expect(err()).toBe(
      "[worker] Midtrans does not know order X\n[worker] Failed task 2 with error\n[worker]   at somewhere\n",
    );
  });
});
