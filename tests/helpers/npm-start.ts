/**
 * `npm start` as the stack tests run it: a child process on the test's own
 * ports and data directory, its output collected, and the README's start-up
 * block to compare that output with.
 */
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { projectRoot } from "../../config/paths";

export type Started = { child: ChildProcessWithoutNullStreams; output: () => string; exit: Promise<number | null> };

/** The caller's environment without any stack setting, so only the test's own apply. */
function withoutStackSettings(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const settings = [
    "DATABASE_URL",
    "JASAWEB_DATA_DIR",
    "PG_PORT",
    "API_PORT",
    "API_HOST",
    "ADMIN_EMAIL",
    "ADMIN_PASSWORD",
    "AUTHENTICATOR_PASSWORD",
    "OWNER_PASSWORD",
    "WORKER_PASSWORD",
    "WORKER_DATABASE_URL",
    "CREDENTIALS_KEY",
    "JWT_SECRET",
    "LOG_LEVEL",
  ];
  return Object.fromEntries(
    Object.entries(env).filter(([k]) => !settings.includes(k) && !/^(PGRST|MIDTRANS|SIMULATOR)_/.test(k)),
  );
}

export function startStack(env: Record<string, string>): Started {
  // Same command as `npm start`, without npm in between (npm adds nothing here).
  // In a process group of its own, like a command started from a terminal:
  // `interrupt` then sends SIGINT to the group, as Ctrl-C does.
  const child = spawn(process.execPath, ["--import", "tsx", "stack/start.ts"], {
    cwd: projectRoot,
    env: { ...withoutStackSettings(process.env), ...env },
    detached: true,
  });
  let output = "";
  child.stdout.on("data", (c: Buffer) => (output += c.toString()));
  child.stderr.on("data", (c: Buffer) => (output += c.toString()));
  const exit = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return { child, output: () => output, exit };
}

/** Ctrl-C in a terminal: SIGINT to every process of the foreground process group. */
export function interrupt(started: Started): void {
  process.kill(-started.child.pid!, "SIGINT");
}

export async function waitFor(started: Started, pattern: RegExp, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!pattern.test(started.output())) {
    if (started.child.exitCode !== null) throw new Error(`stack exited early:\n${started.output()}`);
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${pattern}:\n${started.output()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The fenced code blocks of a Markdown text, with their info string (`sh`, or ""). */
export function fencedBlocks(markdown: string): { info: string; lines: string[] }[] {
  const blocks: { info: string; lines: string[] }[] = [];
  let open: { info: string; lines: string[] } | undefined;
  for (const line of markdown.split("\n")) {
    const fence = /^```(.*)$/.exec(line);
    if (fence && !open) open = { info: fence[1]!.trim(), lines: [] };
    else if (fence && open) {
      blocks.push(open);
      open = undefined;
    } else open?.lines.push(line);
  }
  return blocks;
}

/** The README's fenced block whose lines are all `[jasaweb] …` and that ends with the ready line, normalised. */
export function readmeStartBlock(): string[] {
  const readme = fs.readFileSync(path.join(projectRoot, "README.md"), "utf8");
  const block = fencedBlocks(readme).find(
    ({ lines }) =>
      lines.length > 3 && lines.every((line) => line.startsWith("[jasaweb] ")) && /press Ctrl-C/.test(lines.at(-1)!),
  );
  if (!block) throw new Error("README.md has no start-up block");
  return normalisedLines(block.lines.join("\n"));
}

/**
 * Output lines with what differs between runs made the README's: ports,
 * the data directory (as `.data`), the worker instance's name and the
 * start-up time.
 */
export function normalisedLines(text: string, dataDir?: string): string[] {
  let normalised = text;
  if (dataDir) normalised = normalised.split(dataDir).join(".data");
  return normalised
    .replace(/(127\.0\.0\.1):\d+/g, "$1:PORT")
    .replace(/\(instance [^)]+\)/g, "(instance ID)")
    .replace(/ready in \d+(\.\d+)? s/g, "ready in N s")
    .split("\n")
    .filter((line) => line !== "");
}
