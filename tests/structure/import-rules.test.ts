/**
 * The layout's import rules (README, Layout): config ← everyone; services →
 * config; db → config, services; worker, realtime, simulator, edge → config;
 * stack → anything, and nothing imports stack; sdk → nothing.
 */
import { projectRoot } from "../../config/paths";
import { importsOf, sourceFiles, violations } from "./import-rules";

describe("import rules", () => {
  test("the source tree breaks none of them", () => {
    const files = sourceFiles(projectRoot);
    expect(files.filter((f) => f.file.startsWith("db/")).length).toBeGreaterThan(5);
    expect(violations(projectRoot, files)).toEqual([]);
  });

  test("every kind of import is seen", () => {
    expect(
      importsOf(
        `import a from "./a";\nimport type { B } from "../b";\nexport { c } from "./c";\nconst d = require("./d");\nconst e = await import("./e");\nimport "./f";`,
      ),
    ).toEqual(["./a", "../b", "./c", "./d", "./e", "./f"]);
  });

  test("a broken rule is reported with the rule it breaks", () => {
    const root = "/project";
    const found = violations(root, [
      { file: "worker/runner.ts", text: `import { migrate } from "../db/migrations";` },
      { file: "db/prepare.ts", text: `import { startWorker } from "../worker/runner";` },
      { file: "config/settings.ts", text: `import { x } from "../services/ports";` },
      { file: "sdk/src/client.ts", text: `import { y } from "../../config/paths";` },
      { file: "tests/api/x.test.ts", text: `import "../../stack/start";` },
      {
        file: "db/cli/migrate.ts",
        text: `import { readConfig } from "../../config/settings";\nimport { portIsFree } from "../../services/ports";`,
      },
      {
        file: "stack/start.ts",
        text: `import { startWorker } from "../worker/runner";\nimport { prepareDatabase } from "../db/prepare";`,
      },
    ]);
    expect(found).toEqual([
      { file: "worker/runner.ts", imports: "../db/migrations", rule: "worker may import config" },
      { file: "db/prepare.ts", imports: "../worker/runner", rule: "db may import config, services" },
      { file: "config/settings.ts", imports: "../services/ports", rule: "config may import nothing of ours" },
      { file: "sdk/src/client.ts", imports: "../../config/paths", rule: "sdk may import nothing of ours" },
      { file: "tests/api/x.test.ts", imports: "../../stack/start", rule: "nothing imports stack" },
    ]);
  });
});
