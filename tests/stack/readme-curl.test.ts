/**
 * The README's "First calls" (health, register, login, me, create_project)
 * work as they are written: the block is taken from the README, pointed at a
 * stack started by `npm start` and run with bash and curl; each answer must
 * hold what the README shows below its call.
 */
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { projectRoot } from "../../config/paths";
import { fencedBlocks, interrupt, startStack, waitFor, type Started } from "../helpers/npm-start";
import { freePort } from "../setup/cluster";

type Step = { command: string; shown: string | undefined };

/** The sh block under "### First calls": each command (continuation lines joined) with the answer shown below it. */
function firstCalls(): Step[] {
  const readme = fs.readFileSync(path.join(projectRoot, "README.md"), "utf8");
  const block = fencedBlocks(readme.slice(readme.indexOf("### First calls"))).find((b) => b.info === "sh");
  if (!block) throw new Error("README.md has no First calls block");
  const steps: Step[] = [];
  let command = "";
  for (const line of block.lines) {
    if (line.startsWith("# ")) {
      steps.at(-1)!.shown = line.slice(2);
      continue;
    }
    command += command ? `\n${line}` : line;
    if (!line.endsWith("\\")) {
      steps.push({ command, shown: undefined });
      command = "";
    }
  }
  return steps;
}

/** Every `"key": value` the README shows: a value other than "…" must be the answer's, a "…" must be there. */
function expectShownIn(actual: unknown, shown: string): void {
  const find = (value: unknown, key: string): unknown[] => {
    if (Array.isArray(value)) return value.flatMap((v) => find(v, key));
    if (value && typeof value === "object")
      return Object.entries(value).flatMap(([k, v]) => [...(k === key ? [v] : []), ...find(v, key)]);
    return [];
  };
  const pairs = [...shown.matchAll(/"(\w+)": ("[^"]*"|-?\d+(?:\.\d+)?|true|false|null|\{)/g)];
  expect(pairs.length).toBeGreaterThan(0);
  for (const [, key, value] of pairs) {
    const found = find(actual, key!);
    expect({ key, found: found.length > 0 }).toEqual({ key, found: true });
    if (value === "{" || value === '"…"') continue;
    if (value!.startsWith('"') && value!.endsWith('…"')) {
      expect(found.some((v) => typeof v === "string" && v.startsWith(value!.slice(1, -2)))).toBe(true);
      continue;
    }
    expect(found).toContainEqual(JSON.parse(value!));
  }
}

describe("the README's first calls", () => {
  let stack: Started;
  let api: string;
  let base: string;

  beforeAll(async () => {
    base = fs.mkdtempSync(path.join(os.tmpdir(), "jasaweb-curl-"));
    fs.chmodSync(base, 0o755);
    const port = await freePort();
    api = `http://127.0.0.1:${port}`;
    stack = startStack({
      JASAWEB_DATA_DIR: path.join(base, "data"),
      PG_PORT: String(await freePort()),
      API_PORT: String(port),
      REALTIME_PORT: String(await freePort()),
      SIMULATOR_PORT: String(await freePort()),
    });
    await waitFor(stack, /press Ctrl-C to stop/, 90_000);
  }, 120_000);

  afterAll(async () => {
    if (stack.child.exitCode === null) {
      interrupt(stack);
      await stack.exit;
    }
    fs.rmSync(base, { recursive: true, force: true });
  });

  test("run as written against http://127.0.0.1:3000 (here the test's port), they answer what the README shows", () => {
    const steps = firstCalls();
    expect(steps.filter((s) => s.shown).length).toBe(4);
    expect(steps.map((s) => /\/rpc\/(\w+)/.exec(s.command)?.[1]).filter(Boolean)).toEqual([
      "health",
      "register",
      "login",
      "me",
      "create_project",
    ]);
    const separator = "\n@@step@@\n";
    const script = steps
      .map((s) => s.command.split("http://127.0.0.1:3000").join(api))
      .map((command) => `${command}\nprintf '${separator.replace(/\n/g, "\\n")}'`)
      .join("\n");
    const output = execFileSync("bash", ["-euo", "pipefail", "-c", script], { encoding: "utf8", timeout: 30_000 });
    const answers = output.split(separator);
    steps.forEach((step, i) => {
      if (!step.shown) return;
      expectShownIn(JSON.parse(answers[i]!), step.shown);
    });
  });

  test("a second register with the same email is 409 EMAIL_TAKEN, as the README says", async () => {
    const response = await fetch(`${api}/rpc/register`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email: "sari@example.id", password: "rahasia-123", name: "Sari" }),
    });
    expect(response.status).toBe(409);
    expect(((await response.json()) as { code: string }).code).toBe("EMAIL_TAKEN");
  });
});
