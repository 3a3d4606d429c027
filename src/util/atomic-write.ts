/**
 * Atomic file writes: the data goes to a temporary file in the same directory, is flushed to disk,
 * is renamed over the target, and the directory is flushed too. A reader sees the old file or the new
 * one, never half of one, and after a crash (a kill -9, a power cut) the file is whole, old or new —
 * so an interrupted run never loses its last good checkpoint.
 *
 * The temporary file is `.NAME.PID.tmp`. A process killed mid-write leaves it behind; STALE_TEMPORARY
 * recognises such files so that the next start can clear them.
 */
import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { reattributed } from "./fs-errors.js";
import { signalPoint } from "./test-signal.js";

/** The name of a temporary file of writeFileAtomic's, with the process id in group 1. */
export const TEMPORARY_FILE = /^\..+\.(\d+)\.tmp$/;

export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  const temp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  try {
    const fd = openSync(temp, "w");
    try {
      const bytes = typeof data === "string" ? Buffer.from(data, "utf8") : data;
      let written = 0;
      while (written < bytes.length) written += writeSync(fd, bytes, written, bytes.length - written);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    signalPoint(`write:${basename(path)}`);
    renameSync(temp, path);
  } catch (err) {
    removeQuietly(temp);
    // The failure is the file's, whichever step met it (a full disk, a folder in the way, no permission).
    throw reattributed(err, "write", path);
  }
  syncDirectory(dirname(path));
  signalPoint(`wrote:${basename(path)}`);
}

function removeQuietly(path: string): void {
  try {
    rmSync(path, { force: true });
  } catch {
    // The write's own error is the one to report.
  }
}

/** Flushes a directory's entries (a rename), where the platform can: Windows cannot open a directory. */
function syncDirectory(dir: string): void {
  let fd: number;
  try {
    fd = openSync(dir, "r");
  } catch {
    return;
  }
  try {
    fsyncSync(fd);
  } catch {
    // Some file systems refuse to fsync a directory (EINVAL); the rename itself is still atomic.
  } finally {
    closeSync(fd);
  }
}
