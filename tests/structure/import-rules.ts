/**
 * The layout's import rules, checked on the source tree: each top-level part
 * may import only the parts listed for it (and itself). Relative imports
 * between parts are what is checked; npm packages are not.
 */
import fs from "node:fs";
import path from "node:path";

export const PARTS = ["config", "services", "db", "worker", "realtime", "simulator", "edge", "stack", "sdk"] as const;
export type Part = (typeof PARTS)[number];

/** What each part may import besides itself ("*": anything). */
export const ALLOWED: Record<Part, readonly Part[] | "*"> = {
  config: [],
  services: ["config"],
  db: ["config", "services"],
  worker: ["config"],
  realtime: ["config"],
  simulator: ["config"],
  edge: ["config"],
  stack: "*",
  sdk: [],
};

/** Folders outside the rules that may import any part but `stack` (nothing imports stack). */
export const CONSUMERS = ["tests", "bench"] as const;

export type SourceFile = { file: string; text: string };
export type Violation = { file: string; imports: string; rule: string };

const SPECIFIER =
  /(?:import|export)\s[^'"]*?from\s*["']([^"']+)["']|import\s*\(\s*["']([^"']+)["']\s*\)|require\(\s*["']([^"']+)["']\s*\)|import\s+["']([^"']+)["']/g;

export function importsOf(text: string): string[] {
  const found: string[] = [];
  for (const match of text.matchAll(SPECIFIER)) {
    const specifier = match[1] ?? match[2] ?? match[3] ?? match[4];
    if (specifier) found.push(specifier);
  }
  return found;
}

/** The top-level folder of a path relative to the project root. */
const topFolder = (relative: string): string => relative.split(/[\\/]/)[0] ?? "";

/** Every rule broken by `files` (paths relative to `root`). */
export function violations(root: string, files: SourceFile[]): Violation[] {
  const found: Violation[] = [];
  for (const { file, text } of files) {
    const from = topFolder(file);
    for (const specifier of importsOf(text)) {
      if (!specifier.startsWith(".")) continue;
      const target = topFolder(path.relative(root, path.resolve(root, path.dirname(file), specifier)));
      if (target === from || !(PARTS as readonly string[]).includes(target)) continue;
      if (target === "stack") {
        found.push({ file, imports: specifier, rule: "nothing imports stack" });
        continue;
      }
      const allowed = (PARTS as readonly string[]).includes(from) ? ALLOWED[from as Part] : "*";
      if (allowed !== "*" && !allowed.includes(target as Part)) {
        found.push({
          file,
          imports: specifier,
          rule: `${from} may import ${allowed.length ? allowed.join(", ") : "nothing of ours"}`,
        });
      }
    }
  }
  return found;
}

/** The TypeScript and JavaScript sources of the parts and their consumers. */
export function sourceFiles(root: string): SourceFile[] {
  const files: SourceFile[] = [];
  const walk = (dir: string) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      // The checker's own tests hold example imports in strings.
      if (entry.name === "node_modules" || entry.name === "dist" || full === path.join(root, "tests", "structure"))
        continue;
      if (entry.isDirectory()) walk(full);
      else if (/\.(ts|tsx|mts|cts|js|mjs|cjs)$/.test(entry.name)) {
        files.push({ file: path.relative(root, full), text: fs.readFileSync(full, "utf8") });
      }
    }
  };
  for (const folder of [...PARTS, ...CONSUMERS]) {
    if (fs.existsSync(path.join(root, folder))) walk(path.join(root, folder));
  }
  return files;
}
