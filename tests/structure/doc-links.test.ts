/**
 * The documentation stands alone in a clone: every relative link in
 * README.md and docs/*.md names a file or folder of the repository (none
 * reaches outside it, e.g. to a ../shared that a clone does not have), and
 * the README links to the architecture and the API contract.
 */
import fs from "node:fs";
import path from "node:path";
import { projectRoot } from "../../config/paths";

const documents = [
  "README.md",
  ...fs
    .readdirSync(path.join(projectRoot, "docs"))
    .filter((name) => name.endsWith(".md"))
    .map((name) => `docs/${name}`),
];

/** The Markdown link targets of a text, outside code: `[text](target)`. */
function linkTargets(markdown: string): string[] {
  const prose = markdown.replace(/```[\s\S]*?```/g, "").replace(/`[^`\n]*`/g, "");
  return [...prose.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)].map((m) => m[1]!);
}

describe("documentation links", () => {
  test.each(documents)("every relative link in %s names a file of the repository", (document) => {
    const text = fs.readFileSync(path.join(projectRoot, document), "utf8");
    const broken = linkTargets(text)
      .filter((target) => !/^[a-z][a-z0-9+.-]*:/i.test(target) && !target.startsWith("#"))
      .map((target) => ({
        target,
        file: path.resolve(path.dirname(path.join(projectRoot, document)), target.split("#")[0]!),
      }))
      .filter(({ file }) => !file.startsWith(projectRoot + path.sep) || !fs.existsSync(file))
      .map(({ target }) => target);
    expect(broken).toEqual([]);
  });

  test("no document sends the reader outside the repository", () => {
    for (const document of documents) {
      const text = fs.readFileSync(path.join(projectRoot, document), "utf8");
      expect({ document, outside: text.includes("../shared") }).toEqual({ document, outside: false });
    }
  });

  test("the README links to the architecture and the API contract", () => {
    const targets = linkTargets(fs.readFileSync(path.join(projectRoot, "README.md"), "utf8"));
    expect(targets).toEqual(expect.arrayContaining(["docs/architecture.md", "docs/api.md"]));
  });

  test("a link to a missing file or outside the repository is found", () => {
    expect(linkTargets("see [a](docs/nope.md) and `[b](x.md)` and [c](https://x.example)")).toEqual([
      "docs/nope.md",
      "https://x.example",
    ]);
  });
});
