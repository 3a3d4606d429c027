/**
 * One temporary folder for a whole test run (vitest's globalSetup): everything the tests — and the
 * `graphnet` processes they start — make under os.tmpdir() goes into it, and it is removed when the run
 * ends. Without it every run left some 1,500 graphnet-* folders in /tmp (10,540 on this machine after a
 * few days of runs).
 */
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export default function setup(): () => void {
  const root = mkdtempSync(join(tmpdir(), "graphnet-tests-"));
  // Open as /tmp's folders are (mkdtemp makes it its owner's alone): a test runs the CLI as another user.
  chmodSync(root, 0o755);
  // os.tmpdir() reads these, here, in the test workers (started after this, with this environment) and
  // in every process they start.
  for (const name of ["TMPDIR", "TMP", "TEMP"]) process.env[name] = root;
  // Retried: a CLI process a test started may still be writing its last file (ENOTEMPTY).
  return () => rmSync(root, { recursive: true, force: true, maxRetries: 3 });
}
