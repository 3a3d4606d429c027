/**
 * A folder made once and then reused, safe when several processes (vitest's workers, two test runs) want
 * it at the same time: each makes it in a temporary folder beside it and renames that into place; a
 * rename onto a folder another process already put there fails, and that process's folder is used. So
 * the folder, once it exists, is always complete.
 */
import { chmodSync, existsSync, mkdirSync, mkdtempSync, renameSync, rmSync } from "node:fs";
import { basename, dirname, join } from "node:path";

/** Returns `dir`, first calling `make(tmp)` to fill a temporary folder that becomes `dir`, unless `dir` exists. */
export async function makeOnce(dir: string, make: (tmp: string) => void | Promise<void>): Promise<string> {
  if (existsSync(dir)) return dir;
  mkdirSync(dirname(dir), { recursive: true });
  const tmp = mkdtempSync(join(dirname(dir), `.${basename(dir)}.tmp-`));
  try {
    await make(tmp);
    chmodSync(tmp, 0o755); // mkdtemp's folders are private; this one is an ordinary folder of the project
    renameSync(tmp, dir);
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    // Another process renamed its complete folder into place first: use that one.
    const code = (err as NodeJS.ErrnoException).code;
    if ((code === "ENOTEMPTY" || code === "EEXIST") && existsSync(dir)) return dir;
    throw err;
  }
  return dir;
}
