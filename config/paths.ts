/**
 * Where the project's files are, whether the code runs from TypeScript
 * sources (development, tests) or from the compiled `dist/` (the image):
 * the project root is the nearest folder above this file holding our
 * package.json.
 */
import fs from "node:fs";
import path from "node:path";

function findProjectRoot(start: string): string {
  for (let dir = start; ; dir = path.dirname(dir)) {
    const manifest = path.join(dir, "package.json");
    if (
      fs.existsSync(manifest) &&
      (JSON.parse(fs.readFileSync(manifest, "utf8")) as { name?: string }).name === "jasaweb-backend"
    ) {
      return dir;
    }
    if (path.dirname(dir) === dir) throw new Error(`no jasaweb-backend package.json above ${start}`);
  }
}

export const projectRoot = findProjectRoot(__dirname);

/** graphile-migrate's folder: committed/, down/, current.sql and the actions of .gmrc. */
export const migrationsFolder = path.join(projectRoot, "migrations");

/** The database of the embedded server that npm start creates and uses. */
export const EMBEDDED_DATABASE = "jasaweb";
