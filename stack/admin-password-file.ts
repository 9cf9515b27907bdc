/**
 * The admin password `npm start` generates on the first start (when
 * ADMIN_PASSWORD is unset) goes to a file only its owner may read, and the
 * console shows the file's path, never the password: console output is
 * captured by terminals' scrollback, CI logs and process supervisors.
 */
import fs from "node:fs";
import path from "node:path";

export const ADMIN_PASSWORD_FILE = "admin-password.txt";

/** Writes the password (one line) to `<dataDir>/admin-password.txt`, mode 600; returns the file's path. */
export function writeAdminPasswordFile(dataDir: string, password: string): string {
  const file = path.join(dataDir, ADMIN_PASSWORD_FILE);
  // A new file, so the mode applies (writeFile keeps an existing file's mode).
  fs.rmSync(file, { force: true });
  fs.writeFileSync(file, `${password}\n`, { mode: 0o600, flag: "wx" });
  return file;
}

/** A path as the user typed it: relative to the working directory when it is inside it. */
export function displayPath(file: string): string {
  const relative = path.relative(process.cwd(), file);
  return relative && !relative.startsWith("..") && !path.isAbsolute(relative) ? relative : file;
}
