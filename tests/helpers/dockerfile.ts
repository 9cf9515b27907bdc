/**
 * The Dockerfile replayed without Docker (there is no engine on the
 * development machines): a small interpreter for the instructions our
 * Dockerfile uses, FROM … AS, WORKDIR, ENV, COPY [--from=stage] src… dest,
 * RUN, USER and CMD. Every stage gets a temporary directory that stands for
 * its root file system (so WORKDIR /app is <stage dir>/app); COPY from the
 * build context honours .dockerignore with Docker's matching rules; RUN runs
 * `sh -c` in the stage's WORKDIR with the stage's ENV. The base image itself
 * is not reproduced: RUN uses this machine's node and npm.
 *
 * Anything else (another instruction, a COPY flag, wildcards, variables)
 * throws, so the Dockerfile cannot grow a step the replay silently skips.
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

export type Instruction = { line: number; keyword: string; args: string };

export type DockerfileStage = {
  /** The name after AS, if any. */
  name?: string;
  /** The base image (FROM's argument). */
  base: string;
  instructions: Instruction[];
};

export type BuiltStage = {
  name?: string;
  base: string;
  /** Host directory standing for the stage's root file system. */
  root: string;
  /** The WORKDIR inside the stage ("/" until set). */
  workdir: string;
  env: Record<string, string>;
  user?: string;
  cmd?: string[];
  /** What COPY put into the stage: the source as written and the container path it went to. */
  copies: { from?: string; source: string; dest: string }[];
  /** The RUN commands, in order. */
  runs: string[];
};

/** Splits a Dockerfile into stages of instructions (comments, blank lines and line continuations handled). */
export function parseDockerfile(text: string): DockerfileStage[] {
  const instructions: Instruction[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const start = i + 1;
    let line = lines[i]!.trim();
    if (!line || line.startsWith("#")) continue;
    while (line.endsWith("\\")) {
      line = line.slice(0, -1);
      // Comment lines inside a continued instruction are dropped, as Docker does.
      do i++;
      while (i < lines.length && lines[i]!.trim().startsWith("#"));
      if (i >= lines.length) throw new Error(`Dockerfile line ${start}: the last line ends with a continuation`);
      line += " " + lines[i]!.trim();
    }
    const match = /^(\S+)\s*(.*)$/.exec(line)!;
    instructions.push({ line: start, keyword: match[1]!.toUpperCase(), args: match[2]!.trim() });
  }
  const stages: DockerfileStage[] = [];
  for (const instruction of instructions) {
    if (instruction.keyword === "FROM") {
      const from = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(instruction.args);
      if (!from) throw new Error(`Dockerfile line ${instruction.line}: cannot read FROM ${instruction.args}`);
      stages.push({ base: from[1]!, name: from[2]?.toLowerCase(), instructions: [] });
    } else {
      const stage = stages.at(-1);
      if (!stage) throw new Error(`Dockerfile line ${instruction.line}: ${instruction.keyword} before FROM`);
      stage.instructions.push(instruction);
    }
  }
  return stages;
}

/** A JSON array of strings (the exec form of CMD and RUN), or undefined for the shell form. */
function execForm(args: string, where: string): string[] | undefined {
  if (!args.startsWith("[")) return undefined;
  const parsed: unknown = JSON.parse(args);
  if (!Array.isArray(parsed) || !parsed.every((part) => typeof part === "string")) {
    throw new Error(`${where}: the exec form must be a JSON array of strings`);
  }
  return parsed;
}

/** ENV KEY=value [KEY=value…] (values optionally double-quoted), or the legacy ENV KEY value. */
function parseEnv(args: string, where: string): Record<string, string> {
  if (args.includes("$")) throw new Error(`${where}: variable substitution is not reproduced`);
  const legacy = /^([A-Za-z_][A-Za-z0-9_]*)\s+([^=].*)$/.exec(args);
  if (legacy) return { [legacy[1]!]: legacy[2]! };
  const env: Record<string, string> = {};
  const pair = /\s*([A-Za-z_][A-Za-z0-9_]*)=("(?:[^"\\]|\\.)*"|\S*)/y;
  let rest = args;
  while (rest.trim()) {
    pair.lastIndex = 0;
    const match = pair.exec(rest);
    if (!match) throw new Error(`${where}: cannot read ENV ${args}`);
    const raw = match[2]!;
    env[match[1]!] = raw.startsWith('"') ? raw.slice(1, -1).replace(/\\(.)/g, "$1") : raw;
    rest = rest.slice(pair.lastIndex);
  }
  return env;
}

/**
 * .dockerignore as Docker reads it (moby's patternmatcher): patterns relative
 * to the context root, `*` and `?` within one path segment, `**` across
 * segments, `!` re-includes; a path is matched by a pattern that matches it or
 * one of its parent directories, and the last matching pattern decides.
 * Returns whether a context-relative path is left out of the context.
 */
export function dockerignoreMatcher(text: string): (relativePath: string) => boolean {
  const patterns = text
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith("#"))
    .map((line) => {
      const exclusion = line.startsWith("!");
      let pattern = path.posix.normalize((exclusion ? line.slice(1) : line).trim());
      pattern = pattern.replace(/^\/+/, "");
      return { exclusion, regex: patternRegex(pattern) };
    });
  return (relativePath) => {
    const file = path.posix.normalize(relativePath.split(path.sep).join("/"));
    const parents = file.split("/").slice(0, -1);
    let excluded = false;
    for (const { exclusion, regex } of patterns) {
      let match = regex.test(file);
      for (let i = 1; !match && i <= parents.length; i++) match = regex.test(parents.slice(0, i).join("/"));
      if (match) excluded = !exclusion;
    }
    return excluded;
  };
}

function patternRegex(pattern: string): RegExp {
  let source = "^";
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i]!;
    if (ch === "*") {
      if (pattern[i + 1] === "*") {
        i++;
        if (pattern[i + 1] === "/") i++;
        source += i + 1 >= pattern.length ? ".*" : "(.*/)?";
      } else {
        source += "[^/]*";
      }
    } else if (ch === "?") {
      source += "[^/]";
    } else if (ch === "\\") {
      i++;
      source += (pattern[i] ?? "").replace(/[.+^${}()|[\]\\*?]/g, "\\$&");
    } else if (ch === "[") {
      const end = pattern.indexOf("]", i + 1);
      if (end < 0) throw new Error(`.dockerignore: unclosed [ in ${pattern}`);
      source += pattern.slice(i, end + 1);
      i = end;
    } else {
      source += ch.replace(/[.+^${}()|\]\\]/g, "\\$&");
    }
  }
  return new RegExp(source + "$");
}

/** The output of a command, kept for the error message if it fails. */
export type CommandResult = { code: number | null; signal: NodeJS.Signals | null; output: string };

/** Runs a command to its end, collecting stdout and stderr together. */
export function runCommand(
  command: string,
  args: string[],
  options: { cwd: string; env: Record<string, string> },
): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env: options.env, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")));
    child.once("error", reject);
    child.once("close", (code, signal) => resolve({ code, signal, output }));
  });
}

export type BuildOptions = {
  /** The build context (the repository root). */
  context: string;
  /** The Dockerfile's path (default: Dockerfile in the context). */
  dockerfile?: string;
  /** An empty directory to build in; each stage gets a folder of it. */
  workDir: string;
  /** The environment RUN starts from (the base image's, in Docker); the stage's ENV is added to it. */
  baseEnv: Record<string, string>;
  /** Put before every RUN command (e.g. `nice`), without changing what it does. */
  runPrefix?: string[];
};

export type BuiltImage = { stages: BuiltStage[]; final: BuiltStage };

/** The host path of a container path of a stage. */
export function hostPath(stage: BuiltStage, containerPath: string): string {
  const absolute = path.posix.resolve(stage.workdir, containerPath);
  return path.join(stage.root, ...absolute.split("/").filter(Boolean));
}

export async function buildDockerfile(options: BuildOptions): Promise<BuiltImage> {
  const dockerfile = options.dockerfile ?? path.join(options.context, "Dockerfile");
  const ignorePath = path.join(options.context, ".dockerignore");
  const ignored = dockerignoreMatcher(fs.existsSync(ignorePath) ? fs.readFileSync(ignorePath, "utf8") : "");
  const built: BuiltStage[] = [];
  for (const [index, stage] of parseDockerfile(fs.readFileSync(dockerfile, "utf8")).entries()) {
    const root = path.join(options.workDir, `stage-${index}${stage.name ? `-${stage.name}` : ""}`);
    fs.mkdirSync(root, { recursive: true });
    const current: BuiltStage = {
      name: stage.name,
      base: stage.base,
      root,
      workdir: "/",
      env: {},
      copies: [],
      runs: [],
    };
    for (const instruction of stage.instructions) {
      const where = `Dockerfile line ${instruction.line} (${instruction.keyword})`;
      switch (instruction.keyword) {
        case "WORKDIR":
          if (instruction.args.includes("$")) throw new Error(`${where}: variable substitution is not reproduced`);
          current.workdir = path.posix.resolve(current.workdir, instruction.args);
          fs.mkdirSync(hostPath(current, current.workdir), { recursive: true });
          break;
        case "ENV":
          Object.assign(current.env, parseEnv(instruction.args, where));
          break;
        case "USER":
          current.user = instruction.args;
          break;
        case "CMD": {
          const argv = execForm(instruction.args, where);
          // Only the exec form: the shell form may put sh between docker stop's SIGTERM and the process.
          if (!argv) throw new Error(`${where}: only the exec form (a JSON array) is reproduced`);
          current.cmd = argv;
          break;
        }
        case "RUN": {
          const argv = [
            ...(options.runPrefix ?? []),
            ...(execForm(instruction.args, where) ?? ["sh", "-c", instruction.args]),
          ];
          current.runs.push(instruction.args);
          const result = await runCommand(argv[0]!, argv.slice(1), {
            cwd: hostPath(current, current.workdir),
            env: { ...options.baseEnv, ...current.env },
          });
          if (result.code !== 0) {
            throw new Error(
              `${where} failed (exit ${result.code ?? result.signal}): ${instruction.args}\n${result.output}`,
            );
          }
          break;
        }
        case "COPY":
          copy(current, instruction.args, where, { context: options.context, ignored, stages: built });
          break;
        default:
          throw new Error(
            `${where}: the replay does not know ${instruction.keyword}; teach tests/helpers/dockerfile.ts`,
          );
      }
    }
    built.push(current);
  }
  const final = built.at(-1);
  if (!final) throw new Error(`${dockerfile} has no FROM`);
  return { stages: built, final };
}

type CopyContext = { context: string; ignored: (relativePath: string) => boolean; stages: BuiltStage[] };

function copy(stage: BuiltStage, args: string, where: string, ctx: CopyContext): void {
  const words = args.split(/\s+/);
  let from: string | undefined;
  while (words[0]?.startsWith("--")) {
    const flag = words.shift()!;
    const fromFlag = /^--from=(\S+)$/.exec(flag);
    if (!fromFlag) throw new Error(`${where}: the replay does not know ${flag}`);
    from = fromFlag[1]!;
  }
  if (words[0]?.startsWith("[")) throw new Error(`${where}: the JSON form of COPY is not reproduced`);
  if (words.length < 2) throw new Error(`${where}: COPY needs a source and a destination`);
  const dest = words.pop()!;
  const sources = words;
  for (const part of [...sources, dest]) {
    if (/[*?[\]$]/.test(part)) throw new Error(`${where}: wildcards and variables are not reproduced (${part})`);
  }
  const destIsDir = dest.endsWith("/") || sources.length > 1;
  const destPath = hostPath(stage, dest);

  for (const source of sources) {
    let sourcePath: string;
    let include: (absolute: string) => boolean = () => true;
    if (from !== undefined) {
      const origin = ctx.stages.find((s, i) => s.name === from!.toLowerCase() || String(i) === from);
      if (!origin) throw new Error(`${where}: no earlier stage ${from}`);
      // COPY --from paths are relative to the other stage's root, not its WORKDIR.
      sourcePath = hostPath({ ...origin, workdir: "/" }, source);
    } else {
      const relative = path.posix.normalize(source).replace(/^\/+/, "").replace(/\/+$/, "") || ".";
      if (relative.startsWith("..")) throw new Error(`${where}: ${source} is outside the build context`);
      sourcePath = path.join(ctx.context, relative);
      include = (absolute) => {
        const rel = path.relative(ctx.context, absolute);
        return rel === "" || !ctx.ignored(rel);
      };
      if (!include(sourcePath) && !fs.statSync(sourcePath, { throwIfNoEntry: false })?.isDirectory()) {
        throw new Error(`${where}: ${source} is left out of the build context by .dockerignore`);
      }
    }
    const stat = fs.statSync(sourcePath, { throwIfNoEntry: false });
    if (!stat) throw new Error(`${where}: ${source} does not exist`);
    if (stat.isDirectory()) {
      // A directory's contents are copied, not the directory itself.
      const copied = copyTree(sourcePath, destPath, include);
      if (!copied) throw new Error(`${where}: nothing of ${source} is in the build context`);
    } else {
      const target =
        destIsDir || fs.statSync(destPath, { throwIfNoEntry: false })?.isDirectory()
          ? path.join(destPath, path.basename(sourcePath))
          : destPath;
      fs.mkdirSync(path.dirname(target), { recursive: true });
      fs.copyFileSync(sourcePath, target);
    }
    stage.copies.push({ from, source, dest });
  }
}

/** Copies the files of `from` that `include` accepts into `to`; returns how many. */
function copyTree(from: string, to: string, include: (absolute: string) => boolean): number {
  let count = 0;
  fs.mkdirSync(to, { recursive: true });
  for (const entry of fs.readdirSync(from, { withFileTypes: true })) {
    const source = path.join(from, entry.name);
    const target = path.join(to, entry.name);
    if (entry.isDirectory()) {
      // An excluded directory may still hold re-included files (a later ! pattern), so descend.
      count += copyTree(source, target, include);
      if (fs.readdirSync(target).length === 0 && !include(source)) fs.rmdirSync(target);
    } else if (include(source)) {
      if (entry.isSymbolicLink()) fs.symlinkSync(fs.readlinkSync(source), target);
      else fs.copyFileSync(source, target);
      count++;
    }
  }
  return count;
}
