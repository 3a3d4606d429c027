/**
 * The one place that words file-system errors for people. Node's own messages ("EISDIR: illegal
 * operation on a directory, read") name neither the intent nor, for reads and writes through a file
 * descriptor, the path; a person needs the path, what graphnet was doing with it and what stood in the way.
 *
 * `fileSystemProblem` turns any such error into one line; the CLI prints it for every file-system error a
 * command lets escape, so no command needs its own try/catch around its reads and writes.
 */

import { readFileSync } from "node:fs";
import { dirname } from "node:path";
import { UserError } from "../graph/errors.js";

/** An error from Node's fs module (or one shaped like it): an errno code, the call, and usually the path. */
export interface FileSystemError extends Error {
  readonly code: string;
  readonly syscall?: string;
  path?: string;
  readonly dest?: string;
}

/** What stands in the way, by errno code: the phrase after "cannot …:". */
const PROBLEMS: Readonly<Record<string, string>> = {
  ENOENT: "there is no such file or folder",
  EEXIST: "something already exists there",
  ENOTDIR: "a part of the path is a file, not a folder",
  EISDIR: "it is a folder, not a file",
  EACCES: "permission denied",
  EPERM: "the operation is not permitted there",
  EROFS: "the file system is read-only",
  ENOSPC: "no space is left on the device",
  EDQUOT: "the disk quota is exhausted",
  EFBIG: "the file would be too large for the file system",
  ENAMETOOLONG: "a name in the path is too long (a file or folder name holds at most 255 bytes)",
  ELOOP: "the path loops through symbolic links",
  EMFILE: "too many files are open",
  ENFILE: "too many files are open on the system",
  EBUSY: "it is busy (in use by the system or another program)",
  ENOTEMPTY: "the folder is not empty",
  EXDEV: "it is on another device",
  EIO: "the device reported an input/output error",
  ENXIO: "there is no such device",
  ENODEV: "there is no such device",
};

/** Where creating a folder words a code otherwise. */
const MKDIR_PROBLEMS: Readonly<Record<string, (path: string) => string>> = {
  // The parent exists (makeDirectories creates the parents first) but refuses new entries, as /proc does.
  ENOENT: (path) => `the folder it would go in, ${dirname(path)}, takes no new entries`,
  EEXIST: () => "a file (not a folder) is already there",
};

/** What graphnet was doing, by the failed call. */
const ACTIONS: Readonly<Record<string, string>> = {
  open: "open",
  read: "read",
  write: "write",
  fsync: "write",
  close: "write",
  mkdir: "create the folder",
  rmdir: "remove the folder",
  unlink: "remove",
  rename: "write",
  link: "create",
  scandir: "list the folder",
  opendir: "list the folder",
  stat: "look at",
  lstat: "look at",
  access: "look at",
  realpath: "look at",
  readlink: "look at",
  copyfile: "copy",
};

/** The errno codes worded here: only errors that carry one of them count as file-system errors. */
export function isFileSystemError(err: unknown): err is FileSystemError {
  return err instanceof Error && typeof (err as Partial<FileSystemError>).code === "string" && (err as FileSystemError).code in PROBLEMS;
}

/**
 * One line naming the path, what could not be done and why, e.g.
 * "runs/x/last.safetensors: cannot write: no space is left on the device (ENOSPC)."; undefined when
 * `err` is not a file-system error (nor a path Node refused for holding a NUL character).
 */
export function fileSystemProblem(err: unknown): string | undefined {
  if (isNulInPath(err)) return "a path cannot contain a NUL character (\\0): no file or folder can be named so.";
  if (!isFileSystemError(err)) return undefined;
  const action = ACTIONS[err.syscall ?? ""] ?? "use";
  // A rename or a link is named by where it was going: the file meant, not a temporary one.
  const path = (err.syscall === "rename" || err.syscall === "link" ? err.dest : undefined) ?? err.path;
  const problem = (err.syscall === "mkdir" && path !== undefined ? MKDIR_PROBLEMS[err.code]?.(path) : undefined) ?? PROBLEMS[err.code]!;
  // A read through a descriptor carries no path; a caller that knows it uses readFileNamed.
  return `${path !== undefined ? `${path}: ` : ""}cannot ${action}: ${problem} (${err.code}).`;
}

/**
 * Only the problem, "it is a folder, not a file (EISDIR)", for a message that says the path and the
 * action its own way ("cannot read the graph file: …"); undefined when `err` is not a file-system error.
 */
export function fileSystemReason(err: unknown): string | undefined {
  return isFileSystemError(err) ? `${PROBLEMS[err.code]!} (${err.code})` : undefined;
}

/** Node refuses a path holding a NUL byte before any call, with a TypeError of its own. */
function isNulInPath(err: unknown): boolean {
  return err instanceof Error && (err as { code?: string }).code === "ERR_INVALID_ARG_VALUE" && /null bytes/.test(err.message);
}

/**
 * A file-system error shaped as Node's, for checks graphnet makes itself (a path that is a file where a
 * folder is needed), so that one wording serves both.
 */
export function fileSystemError(code: string, syscall: string, path: string): FileSystemError {
  return Object.assign(new Error(`${code}: ${syscall} '${path}'`), { code, syscall, path }) as FileSystemError;
}

/**
 * The same error, about `path` and the call `syscall`: a write that failed on a temporary file or
 * through a descriptor (which has no path) is reported as a failure to write the file meant.
 */
export function reattributed(err: unknown, syscall: string, path: string): unknown {
  return isFileSystemError(err) ? Object.assign(fileSystemError(err.code, syscall, path), { cause: err }) : err;
}

/**
 * readFileSync whose errors name the file: reading a folder fails in the read call, through a
 * descriptor, and Node's error then carries no path.
 */
export function readFileNamed(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw isFileSystemError(err) && err.path === undefined ? reattributed(err, "read", path) : err;
  }
}

/**
 * The bytes of a file the user gave graphnet to read, or a UserError in the one wording of file-system
 * errors: "PATH: cannot read WHAT: it is a folder, not a file (EISDIR)." — `what` says what the file
 * was meant to be ("the digit", "the checkpoint").
 */
export function readGivenFile(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new UserError(`${path}: cannot read ${what}: ${fileSystemReason(err) ?? (err as Error).message}.`);
  }
}
