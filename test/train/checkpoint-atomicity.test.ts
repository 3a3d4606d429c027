/**
 * A checkpoint write that fails partway — in the write (a full disk), the fsync or the close (an I/O
 * error the disk reports late), the rename — leaves the previous checkpoint byte for byte and no
 * temporary file, and says which file could not be written. The failures are made in node:fs itself
 * (vi.mock below), so the code under test is the one that runs: writeFileAtomic, saveCheckpoint, and
 * `graphnet train` around them.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { loadCheckpoint, saveCheckpoint, type Checkpoint, type Progress } from "../../src/train/checkpoint.js";
import { writeFileAtomic } from "../../src/util/atomic-write.js";
import { fileSystemProblem } from "../../src/util/fs-errors.js";
import { graphnetInProcess } from "../support/cli.js";
import { writeSmallMnist } from "../support/small-mnist.js";

type Step = "write" | "fsync" | "close" | "rename";

/** The fault to make, shared with the node:fs mock (hoisted above the imports, as vi.mock is). */
const fault = vi.hoisted(() => ({
  /** The file whose atomic write must fail (its base name), and where. */
  file: undefined as string | undefined,
  at: undefined as "write" | "fsync" | "close" | "rename" | undefined,
  /** How many atomic writes of `file` to let through first. */
  skip: 0,
  /** The file's bytes at the moment its write failed: what must still be there after. */
  before: undefined as Buffer | undefined,
  /** Every call on a temporary file of writeFileAtomic's, and on its folder, in order. */
  log: [] as string[],
  /** The descriptors whose atomic write is the one to fail, and the files they were to become. */
  doomed: new Set<number>(),
  doomedRenames: new Set<string>(),
}));

vi.mock("node:fs", async (importOriginal) => {
  const fs = await importOriginal<typeof import("node:fs")>();
  const { basename: base, dirname: dir, join: joinPath } = await import("node:path");
  /** The open temporary files (descriptor → the file they will become), and the folders opened to fsync. */
  const temporary = new Map<number, string>();
  const folders = new Set<number>();
  const nodeError = (code: string, syscall: string) =>
    Object.assign(new Error(`${code}: injected failure, ${syscall}`), { code, syscall, errno: code === "ENOSPC" ? -28 : -5 });
  const fail = (code: string, syscall: string, target: string): never => {
    fault.before = fs.existsSync(target) ? fs.readFileSync(target) : undefined;
    throw nodeError(code, syscall);
  };
  const tempTarget = (path: string) => {
    const m = /^\.(.+)\.(\d+)\.tmp$/.exec(base(path));
    return m && Number(m[2]) === process.pid ? joinPath(dir(path), m[1]!) : undefined;
  };
  const mocked = {
    ...fs,
    openSync: ((path: string, ...rest: never[]) => {
      const fd = (fs.openSync as (...a: unknown[]) => number)(path, ...rest);
      const target = tempTarget(String(path));
      if (target !== undefined) {
        temporary.set(fd, target);
        fault.log.push(`open ${base(String(path))}`);
        if (fault.file === base(target) && fault.skip-- === 0) {
          fault.doomed.add(fd);
          fault.doomedRenames.add(target);
        }
      } else if (fault.file === base(String(path)) && fault.skip-- === 0) {
        // The file itself opened to be written (a writer that is not atomic): fail there all the same.
        temporary.set(fd, String(path));
        fault.doomed.add(fd);
      } else if (fs.fstatSync(fd).isDirectory()) {
        folders.add(fd);
        fault.log.push(`open folder ${base(String(path))}`);
      }
      return fd;
    }) as typeof fs.openSync,
    writeSync: ((fd: number, buffer: Uint8Array, offset?: number, length?: number) => {
      if (fault.doomed.has(fd) && fault.at === "write") {
        // Half the bytes reach the disk, then the disk is full.
        fs.writeSync(fd, buffer, offset ?? 0, Math.floor((length ?? buffer.length) / 2));
        fail("ENOSPC", "write", temporary.get(fd)!);
      }
      if (temporary.has(fd)) fault.log.push("write");
      return (fs.writeSync as (...a: unknown[]) => number)(fd, buffer, offset, length);
    }) as typeof fs.writeSync,
    fsyncSync: (fd: number) => {
      if (fault.doomed.has(fd) && fault.at === "fsync") fail("EIO", "fsync", temporary.get(fd)!);
      if (temporary.has(fd)) fault.log.push("fsync");
      if (folders.has(fd)) fault.log.push("fsync folder");
      fs.fsyncSync(fd);
    },
    closeSync: (fd: number) => {
      const target = temporary.get(fd);
      temporary.delete(fd);
      folders.delete(fd);
      const failing = fault.doomed.delete(fd) && fault.at === "close";
      fs.closeSync(fd);
      if (target !== undefined) fault.log.push("close");
      // A network file system may report a failed write only when the file is closed.
      if (failing) fail("EIO", "close", target!);
    },
    renameSync: (from: string, to: string) => {
      if (fault.doomedRenames.delete(String(to)) && fault.at === "rename") fail("ENOSPC", "rename", String(to));
      if (tempTarget(String(from)) !== undefined) fault.log.push(`rename to ${base(String(to))}`);
      fs.renameSync(from, to);
    },
  };
  return { ...mocked, default: mocked };
});

afterEach(() => {
  Object.assign(fault, { file: undefined, at: undefined, skip: 0, before: undefined, log: [], doomed: new Set(), doomedRenames: new Set() });
});

const progress: Progress = {
  epoch: 1,
  batchInEpoch: 0,
  randomAtEpochStart: [1, 2, 3, 4],
  randomNow: [],
  epochLossSum: 0,
  epochCorrect: 0,
  epochSamples: 0,
  epochSeconds: 0,
  bestValidationLoss: 0.5,
  bestEpoch: 1,
  epochsWithoutImprovement: 0,
};

/** A checkpoint big enough that a half-written one is plainly not the whole (a 64 KiB W1). */
function checkpoint(value: number, epoch: number): Checkpoint {
  const W1 = new Float32Array(128 * 128).fill(value);
  const b1 = Float32Array.from([value, -value, 0]);
  return {
    parameters: new Map([
      ["W1", W1],
      ["b1", b1],
    ]),
    shapes: new Map([
      ["W1", [128, 128]],
      ["b1", [3]],
    ]),
    optimizer: { name: "sgd", steps: epoch * 10, state: {} },
    progress: { ...progress, epoch },
  };
}

/** The error a call throws (the test fails if it throws none). */
function thrown(work: () => unknown): unknown {
  try {
    work();
  } catch (err) {
    return err;
  }
  throw new Error("expected the write to fail");
}

const temporaryFiles = (dir: string) => readdirSync(dir).filter((name) => name.endsWith(".tmp"));

describe("a checkpoint whose write fails partway", () => {
  const steps: [Step, string][] = [
    ["write", "no space is left on the device (ENOSPC)"],
    ["fsync", "the device reported an input/output error (EIO)"],
    ["close", "the device reported an input/output error (EIO)"],
    ["rename", "no space is left on the device (ENOSPC)"],
  ];
  it.each(steps)("in the %s: the previous checkpoint is byte for byte as it was, and no temporary file remains", (at, reason) => {
    const dir = mkdtempSync(join(tmpdir(), "graphnet-atomic-"));
    const path = join(dir, "last.safetensors");
    saveCheckpoint(path, checkpoint(0.25, 1), ["W1", "b1"]);
    const previous = readFileSync(path);

    Object.assign(fault, { file: "last.safetensors", at, skip: 0 });
    const err = thrown(() => saveCheckpoint(path, checkpoint(-0.75, 2), ["W1", "b1"]));
    expect(fault.before, "the injected failure was reached").toBeDefined();
    // The file meant is named (not the temporary one), with the reason, as `graphnet` prints it.
    expect(fileSystemProblem(err)).toBe(`${path}: cannot write: ${reason}.`);
    expect(readFileSync(path).equals(previous)).toBe(true);
    expect(loadCheckpoint(path).progress.epoch).toBe(1);
    expect(temporaryFiles(dir)).toEqual([]);
    expect(readdirSync(dir)).toEqual(["last.safetensors"]);
  });

  it("and the next write succeeds, whole", () => {
    const dir = mkdtempSync(join(tmpdir(), "graphnet-atomic-"));
    const path = join(dir, "last.safetensors");
    saveCheckpoint(path, checkpoint(0.25, 1), ["W1", "b1"]);
    Object.assign(fault, { file: "last.safetensors", at: "write", skip: 0 });
    thrown(() => saveCheckpoint(path, checkpoint(-0.75, 2), ["W1", "b1"]));
    saveCheckpoint(path, checkpoint(-0.75, 2), ["W1", "b1"]);
    const back = loadCheckpoint(path);
    expect(back.progress.epoch).toBe(2);
    expect(back.parameters.get("W1")!.every((v) => v === -0.75)).toBe(true);
    expect(temporaryFiles(dir)).toEqual([]);
  });

  it("a file that did not exist before is not there after (no half-written file in its place)", () => {
    const dir = mkdtempSync(join(tmpdir(), "graphnet-atomic-"));
    const path = join(dir, "config.json");
    Object.assign(fault, { file: "config.json", at: "write", skip: 0 });
    const err = thrown(() => writeFileAtomic(path, JSON.stringify({ padding: "x".repeat(10_000) })));
    expect(fileSystemProblem(err)).toBe(`${path}: cannot write: no space is left on the device (ENOSPC).`);
    expect(readdirSync(dir)).toEqual([]);
  });
});

describe("a checkpoint written whole", () => {
  it("is flushed to disk before it is renamed into place, and the folder after", () => {
    const dir = mkdtempSync(join(tmpdir(), "graphnet-atomic-"));
    const path = join(dir, "best.safetensors");
    saveCheckpoint(path, checkpoint(0.5, 1), ["W1", "b1"]);
    const log = fault.log.filter((entry, i) => entry !== "write" || fault.log[i - 1] !== "write"); // one "write" for a run of them
    expect(log).toEqual([
      `open .best.safetensors.${process.pid}.tmp`,
      "write",
      "fsync",
      "close",
      "rename to best.safetensors",
      `open folder ${basename(dirname(path))}`,
      "fsync folder",
    ]);
    expect(existsSync(path)).toBe(true);
  });
});

describe("graphnet train, when the disk fills while it saves a checkpoint", () => {
  it("exits with 1 and one line naming the file; the last good checkpoint is intact and resumable", async () => {
    const data = writeSmallMnist(200, 50);
    const out = join(mkdtempSync(join(tmpdir(), "graphnet-atomic-run-")), "run");
    // Epoch 1's last.safetensors is written; epoch 2's fails in its rename.
    Object.assign(fault, { file: "last.safetensors", at: "rename", skip: 1 });
    const r = await graphnetInProcess("train", "graphs/mnist.graph.json", "--data", data, "--epochs", "2", "--out", out, "--quiet");
    const last = join(out, "last.safetensors");
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`graphnet: ${last}: cannot write: no space is left on the device (ENOSPC).\n`);
    expect(fault.before, "the injected failure was reached").toBeDefined();
    expect(readFileSync(last).equals(fault.before!)).toBe(true);
    expect(loadCheckpoint(last).progress.epoch).toBe(1);
    expect(temporaryFiles(out)).toEqual([]);
    expect(existsSync(join(out, ".lock"))).toBe(false);
    const resumed = await graphnetInProcess("train", "--resume", out, "--quiet");
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(loadCheckpoint(last).progress.epoch).toBe(2);
  });
});
