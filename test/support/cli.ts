/**
 * Running `graphnet` in tests: in this process through `main` (no process start, for the cases where the
 * command's behaviour is the point, not the process's), or as the built executable (dist/, made by
 * `npm run build`) where signals, exit codes of a real process or another user are the point.
 */
import { spawnSync, type SpawnSyncOptions } from "node:child_process";
import { join } from "node:path";
import { vi } from "vitest";
import { main } from "../../cli/program.js";

export const BIN = join(process.cwd(), "dist", "cli", "main.js");

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** `graphnet ARGV` in this process: its exit code and what it wrote. */
export async function graphnetInProcess(...argv: string[]): Promise<CliResult> {
  let stdout = "";
  let stderr = "";
  const out = vi.spyOn(process.stdout, "write").mockImplementation((chunk) => {
    stdout += String(chunk);
    return true;
  });
  const err = vi.spyOn(process.stderr, "write").mockImplementation((chunk) => {
    stderr += String(chunk);
    return true;
  });
  try {
    return { code: await main(argv), stdout, stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}

/** The built `graphnet ARGV` as a process of its own. */
export function graphnetProcess(argv: readonly string[], options: SpawnSyncOptions = {}): CliResult {
  const r = spawnSync(process.execPath, [BIN, ...argv], { encoding: "utf8", timeout: 60_000, ...options });
  return { code: r.status, stdout: String(r.stdout), stderr: String(r.stderr) };
}
