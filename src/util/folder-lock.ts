/**
 * A lock on a folder, held by one process: the file `.lock` in it, holding the owner's process id,
 * host, start time and a random token. It is written under a temporary name and hard-linked into
 * place — a link fails if `.lock` exists, so two processes can never both hold it, and a reader never
 * sees a half-written lock.
 *
 * A lock left by a process that is gone (kill -9, a crash, a power cut) is stale: on the same host,
 * its process id no longer runs, and the lock is taken over. Any other lock is refused with a message
 * naming its owner; one from another host (a shared network folder) cannot be checked, and is refused
 * too, saying how to remove it by hand.
 */
import { randomUUID } from "node:crypto";
import { linkSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { UserError } from "../graph/errors.js";
import { isFileSystemError, reattributed } from "./fs-errors.js";

export const LOCK_FILE = ".lock";

interface LockOwner {
  readonly pid: number;
  readonly host: string;
  /** Linux's id of the current boot: a lock from before a reboot is stale whatever its pid now names. */
  readonly boot?: string;
  readonly started: string;
  readonly token: string;
}

export class FolderLock {
  private held = true;

  private constructor(
    readonly path: string,
    private readonly token: string,
  ) {}

  /** Takes the lock of `dir` (an existing folder), or throws a UserError naming who holds it. `user`: who would hold it, for messages. */
  static acquire(dir: string, user = "a graphnet process"): FolderLock {
    const path = join(dir, LOCK_FILE);
    const boot = bootId();
    const owner: LockOwner = { pid: process.pid, host: hostname(), ...(boot ? { boot } : {}), started: new Date().toISOString(), token: randomUUID() };
    const text = `${JSON.stringify(owner)}\n`;
    const temp = join(dir, `${LOCK_FILE}.${process.pid}.tmp`);
    try {
      writeFileSync(temp, text);
    } catch (err) {
      throw reattributed(err, "write", path);
    }
    try {
      // A stale lock is moved aside and the link tried again; a few rounds settle any race between starters.
      for (let round = 0; round < 3; round++) {
        if (linkInPlace(temp, path, text)) return new FolderLock(path, owner.token);
        const found = readIfThere(path);
        if (found === undefined) continue; // released meanwhile
        const other = parseOwner(found);
        if (!other) {
          throw new UserError(`${path} is not a graphnet lock (it holds ${JSON.stringify(found.slice(0, 80))}); remove it if nothing else uses ${dir}.`);
        }
        const rebooted = other.boot !== undefined && owner.boot !== undefined && other.boot !== owner.boot;
        if (other.host !== owner.host || (!rebooted && processIsAlive(other.pid))) throw new UserError(inUse(dir, path, other, user));
        takeOverStale(dir, path, found, user);
      }
      throw new UserError(`${dir}: could not take its lock ${path}: other processes kept taking it at the same moment.`);
    } finally {
      rmSync(temp, { force: true });
    }
  }

  /** Gives the lock up (only if it is still this one's: never another process's). Safe to call twice. */
  release(): void {
    if (!this.held) return;
    this.held = false;
    const found = readIfThere(this.path);
    if (found !== undefined && parseOwner(found)?.token === this.token) rmSync(this.path, { force: true });
  }
}

/** True when the process `pid` runs on this host (EPERM: it runs, as another user). */
export function processIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Links the complete lock into place; false when a lock is there. */
function linkInPlace(temp: string, path: string, text: string): boolean {
  try {
    linkSync(temp, path);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? "";
    if (code === "EEXIST") return false;
    if (!["EPERM", "ENOTSUP", "ENOSYS"].includes(code)) throw reattributed(err, "write", path);
  }
  // A file system without hard links: an exclusive create is atomic there too, only not its content.
  try {
    writeFileSync(path, text, { flag: "wx" });
    return true;
  } catch (err) {
    if (isFileSystemError(err) && err.code === "EEXIST") return false;
    throw reattributed(err, "write", path);
  }
}

/**
 * Moves a stale lock aside, checking that what moved is the stale lock read before: had another starter
 * replaced it in between, its live lock is put back and the folder is in use after all.
 */
function takeOverStale(dir: string, path: string, stale: string, user: string): void {
  const aside = join(dir, `${LOCK_FILE}-stale.${process.pid}.tmp`);
  try {
    renameSync(path, aside);
  } catch (err) {
    if (isFileSystemError(err) && err.code === "ENOENT") return; // someone else moved it
    throw reattributed(err, "write", path);
  }
  const moved = readIfThere(aside);
  if (moved === stale || moved === undefined) {
    rmSync(aside, { force: true });
    return;
  }
  try {
    linkSync(aside, path);
  } finally {
    rmSync(aside, { force: true });
  }
  const other = parseOwner(moved);
  throw new UserError(other ? inUse(dir, path, other, user) : `${dir}: another process took its lock ${path} at the same moment.`);
}

function inUse(dir: string, path: string, other: LockOwner, user: string): string {
  const sameHost = other.host === hostname();
  const who = `process ${other.pid}${sameHost ? "" : ` on the host ${other.host}`}, since ${other.started}`;
  return (
    `${dir} is in use by another graphnet process (${who}): ${user} cannot use it at the same time. ` +
    (sameHost
      ? `Wait for that process to end, or stop it (kill ${other.pid}); if it is no graphnet training (its id reused), remove ${path}.`
      : `graphnet cannot see whether that process still runs; if it does not, remove ${path}.`)
  );
}

function bootId(): string | undefined {
  try {
    return readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim();
  } catch {
    return undefined; // not Linux
  }
}

function readIfThere(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch (err) {
    if (isFileSystemError(err) && err.code === "ENOENT") return undefined;
    throw err;
  }
}

function parseOwner(text: string): LockOwner | undefined {
  try {
    const owner = JSON.parse(text) as Partial<LockOwner>;
    return Number.isInteger(owner.pid) && typeof owner.host === "string" && typeof owner.token === "string"
      ? {
          pid: owner.pid!,
          host: owner.host,
          ...(typeof owner.boot === "string" ? { boot: owner.boot } : {}),
          started: String(owner.started),
          token: owner.token,
        }
      : undefined;
  } catch {
    return undefined;
  }
}
