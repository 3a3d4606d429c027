/**
 * Creates a folder and its missing parents one level at a time, failing at once with a file-system
 * error that names the path. Node's mkdirSync({ recursive: true }) spins forever where a parent exists
 * but answers ENOENT to every new entry (/proc does): it takes the answer for a missing parent and
 * climbs back down. Here each level is created once, and the first refusal is final.
 */
import { mkdirSync, rmdirSync, statSync } from "node:fs";
import { dirname, normalize } from "node:path";
import { fileSystemError, isFileSystemError, reattributed } from "./fs-errors.js";

/**
 * Makes `path` a folder, creating what is missing. Returns the folders it created, outermost first
 * (none when the folder was there), so a caller that gives up can remove exactly those. When it fails,
 * it leaves nothing it created behind.
 */
export function makeDirectories(path: string): string[] {
  const target = normalize(path);
  const missing: string[] = [];
  for (let at = target; ;) {
    const kind = kindOf(at, target);
    if (kind === "folder") break;
    if (kind === "other") throw fileSystemError(at === target ? "EEXIST" : "ENOTDIR", "mkdir", target);
    missing.push(at);
    const parent = dirname(at);
    if (parent === at) break;
    at = parent;
  }
  const created: string[] = [];
  try {
    for (const dir of missing.reverse()) {
      try {
        mkdirSync(dir);
        created.push(dir);
      } catch (err) {
        // Made by someone else in the meantime: as good as made here, but not ours to remove.
        if (!(isFileSystemError(err) && err.code === "EEXIST" && kindOf(dir, target) === "folder")) throw err;
      }
    }
  } catch (err) {
    removeDirectories(created);
    throw err;
  }
  return created;
}

/** Removes folders made by makeDirectories, innermost first, each only if empty; what stays is left alone. */
export function removeDirectories(created: readonly string[]): void {
  for (const dir of [...created].reverse()) {
    try {
      rmdirSync(dir);
    } catch {
      return; // not empty (or already gone): the folders above it stay too
    }
  }
}

function kindOf(path: string, target: string): "folder" | "other" | "missing" {
  try {
    return statSync(path).isDirectory() ? "folder" : "other";
  } catch (err) {
    // ENOTDIR: a part of the path above is a file; the climb will reach it.
    if (isFileSystemError(err) && (err.code === "ENOENT" || err.code === "ENOTDIR")) return "missing";
    throw reattributed(err, "mkdir", target);
  }
}
