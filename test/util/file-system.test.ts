/**
 * File-system errors worded for people (one line: the path, what could not be done, why), folders made
 * one level at a time (failing at once where Node's recursive mkdir spins), and atomic writes that fail
 * without leaving a temporary file or harming the previous version.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { writeFileAtomic } from "../../src/util/atomic-write.js";
import { fileSystemProblem, fileSystemReason, readFileNamed } from "../../src/util/fs-errors.js";
import { makeDirectories, removeDirectories } from "../../src/util/make-directories.js";

const tempDir = () => mkdtempSync(join(tmpdir(), "graphnet-fs-"));

/** The error a call throws (the test fails if it throws none). */
function thrown(work: () => unknown): unknown {
  try {
    work();
  } catch (err) {
    return err;
  }
  throw new Error("expected an error");
}

/** An error as Node's fs module makes it. */
const nodeError = (code: string, syscall: string, path?: string) =>
  Object.assign(new Error(`${code}: ${syscall}`), { code, syscall, errno: -1, ...(path ? { path } : {}) });

describe("fileSystemProblem", () => {
  it("words each common errno as the path, the action and the problem, with the code", () => {
    expect(fileSystemProblem(nodeError("ENOSPC", "write", "runs/x/last.safetensors"))).toBe(
      "runs/x/last.safetensors: cannot write: no space is left on the device (ENOSPC).",
    );
    expect(fileSystemProblem(nodeError("EISDIR", "read", "data/train-images-idx3-ubyte"))).toBe(
      "data/train-images-idx3-ubyte: cannot read: it is a folder, not a file (EISDIR).",
    );
    expect(fileSystemProblem(nodeError("EACCES", "open", "/root/x"))).toBe("/root/x: cannot open: permission denied (EACCES).");
    expect(fileSystemProblem(nodeError("EROFS", "mkdir", "/mnt/ro/run"))).toBe("/mnt/ro/run: cannot create the folder: the file system is read-only (EROFS).");
    expect(fileSystemProblem(nodeError("ENOENT", "mkdir", "/proc/x"))).toBe(
      "/proc/x: cannot create the folder: the folder it would go in, /proc, takes no new entries (ENOENT).",
    );
    expect(fileSystemProblem(nodeError("ENAMETOOLONG", "mkdir", "runs/aaa"))).toMatch(/^runs\/aaa: cannot create the folder: a name in the path is too long/);
  });

  it("says what it can of an error that carries no path (a read through a descriptor)", () => {
    expect(fileSystemProblem(nodeError("EISDIR", "read"))).toBe("cannot read: it is a folder, not a file (EISDIR).");
    expect(fileSystemProblem(thrown(() => readFileNamed(tempDir())))).toMatch(/^\/.*: cannot read: it is a folder, not a file \(EISDIR\)\.$/);
  });

  it("gives the problem alone to a message that names the path its own way", () => {
    expect(fileSystemReason(nodeError("EISDIR", "read"))).toBe("it is a folder, not a file (EISDIR)");
    expect(fileSystemReason(new Error("not one"))).toBeUndefined();
  });

  it("names the file a rename was writing, not the temporary file it came from", () => {
    const err = Object.assign(nodeError("EXDEV", "rename", "/tmp/.a.1.tmp"), { dest: "/data/a" });
    expect(fileSystemProblem(err)).toBe("/data/a: cannot write: it is on another device (EXDEV).");
  });

  it("words Node's refusal of a path with a NUL byte, and leaves other errors to the caller", () => {
    const nul = thrown(() => readFileSync("a\0b"));
    expect(fileSystemProblem(nul)).toMatch(/cannot contain a NUL character/);
    expect(fileSystemProblem(new TypeError("x is not a function"))).toBeUndefined();
    expect(fileSystemProblem(nodeError("ERR_SOMETHING", "open", "x"))).toBeUndefined();
  });
});

describe("makeDirectories", () => {
  it("creates the missing levels and returns them, outermost first; removeDirectories undoes exactly those", () => {
    const base = tempDir();
    const created = makeDirectories(join(base, "a", "b", "c"));
    expect(created).toEqual([join(base, "a"), join(base, "a", "b"), join(base, "a", "b", "c")]);
    expect(makeDirectories(join(base, "a", "b"))).toEqual([]);
    writeFileSync(join(base, "a", "keep"), "");
    removeDirectories(created);
    expect(existsSync(join(base, "a", "b"))).toBe(false);
    expect(readdirSync(join(base, "a"))).toEqual(["keep"]);
  });

  it("fails with a worded error under /proc (where a recursive mkdir spins forever), under a file, and on a file", () => {
    expect(fileSystemProblem(thrown(() => makeDirectories("/proc/graphnet-test/run")))).toBe(
      "/proc/graphnet-test: cannot create the folder: the folder it would go in, /proc, takes no new entries (ENOENT).",
    );
    const base = tempDir();
    writeFileSync(join(base, "file"), "");
    expect(fileSystemProblem(thrown(() => makeDirectories(join(base, "file", "run"))))).toBe(
      `${join(base, "file", "run")}: cannot create the folder: a part of the path is a file, not a folder (ENOTDIR).`,
    );
    expect(fileSystemProblem(thrown(() => makeDirectories(join(base, "file"))))).toBe(
      `${join(base, "file")}: cannot create the folder: a file (not a folder) is already there (EEXIST).`,
    );
  });

  it("leaves nothing it created when a deeper level fails", () => {
    const base = tempDir();
    const err = thrown(() => makeDirectories(join(base, "a", "b", "x".repeat(300))));
    expect(fileSystemProblem(err)).toMatch(/a name in the path is too long .*\(ENAMETOOLONG\)\.$/);
    expect(readdirSync(base)).toEqual([]);
  });
});

describe("writeFileAtomic", () => {
  it("leaves the previous file byte for byte and no temporary file when the rename fails, naming the file meant", () => {
    const dir = tempDir();
    const target = join(dir, "busy");
    mkdirSync(target);
    writeFileSync(join(target, "inside"), "previous");
    const err = thrown(() => writeFileAtomic(target, "new"));
    expect(fileSystemProblem(err)).toMatch(new RegExp(`^${target}: cannot write: it is a folder, not a file \\(EISDIR\\)\\.$`));
    expect(readdirSync(dir)).toEqual(["busy"]);
    expect(readFileSync(join(target, "inside"), "utf8")).toBe("previous");
  });

  it("reports a failure to create its temporary file as a failure to write the file meant", () => {
    const dir = tempDir();
    const target = join(dir, "missing", "config.json");
    expect(fileSystemProblem(thrown(() => writeFileAtomic(target, "{}")))).toBe(`${target}: cannot write: there is no such file or folder (ENOENT).`);
  });
});
