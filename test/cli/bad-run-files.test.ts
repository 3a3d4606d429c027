/**
 * Run folders damaged one way each — a config.json or a checkpoint that parses but is malformed, or
 * that does not fit the graph — and pictures that cannot be a digit, through `graphnet eval`, `predict`
 * and `train --resume`, as a person meets them: one line naming the file and what is wrong, exit code 1,
 * no stack trace. The many ways a file can be malformed are in test/train/checkpoint-format.test.ts and
 * run-record.test.ts; here a representative few go through the program's own `main` in-process (the
 * commander program the executable runs, its output captured), and two through the executable itself
 * (each spawn costs about a second).
 */
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { main } from "../../cli/program.js";
import { startSession, train } from "../../src/index.js";
import { encodeSafetensors, readSafetensors } from "../../src/train/safetensors.js";
import { claimedPng, flatPng } from "../support/png.js";
import { writeSmallMnist } from "../support/small-mnist.js";

interface Outcome {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The executable, in a process of its own. */
const BIN = join(process.cwd(), "dist", "cli", "main.js");
const spawned = async (...args: string[]): Promise<Outcome> => {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: "utf8", timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
};

/** The same program in this process, its output captured. */
const output = { stdout: "", stderr: "" };
beforeEach(() => {
  output.stdout = output.stderr = "";
  for (const stream of ["stdout", "stderr"] as const) {
    vi.spyOn(process[stream], "write").mockImplementation((chunk: string | Uint8Array) => {
      output[stream] += String(chunk);
      return true;
    });
  }
});
afterEach(() => {
  vi.restoreAllMocks();
});
const graphnet = async (...args: string[]): Promise<Outcome> => {
  const code = await main(args);
  return { code, ...output };
};

const root = mkdtempSync(join(tmpdir(), "graphnet-bad-runs-"));
let good: string;
let dataDir: string;
beforeAll(async () => {
  dataDir = writeSmallMnist(200, 50);
  const session = startSession({ graphFile: "graphs/mnist.graph.json", dataDir, outDir: join(root, "good"), overrides: { num_epochs: 1 } });
  await train(session);
  session.folder.release(); // the copies are resumed by this same process
  good = session.folder.dir;
});

let copies = 0;
/** A copy of the good run, damaged by `damage(dir)`. */
function damagedRun(damage: (dir: string) => void): string {
  const dir = join(root, `bad-${++copies}`);
  cpSync(good, dir, { recursive: true });
  damage(dir);
  return dir;
}

const editConfig = (edit: (config: Record<string, any>) => unknown) => (dir: string) => {
  const path = join(dir, "config.json");
  const config = JSON.parse(readFileSync(path, "utf8"));
  writeFileSync(path, JSON.stringify(edit(config) ?? config));
};

/** Rewrites a checkpoint with its tensors and graphnet metadata changed. */
const editCheckpoint =
  (name: string, edit: (tensors: Map<string, { shape: readonly number[]; data: Float32Array }>, meta: Record<string, any>) => void) => (dir: string) => {
    const path = join(dir, name);
    const file = readSafetensors(path);
    const meta = JSON.parse(file.metadata.graphnet!);
    const tensors = new Map(file.tensors);
    edit(tensors, meta);
    writeFileSync(path, encodeSafetensors(tensors, { graphnet: JSON.stringify(meta) }));
  };

/** One line on stderr starting "graphnet: FILE: ", matching `message`; exit code 1; nothing on stdout. */
function expectRefusal(r: Outcome, file: string, message: RegExp): void {
  expect(r.stderr).toMatch(/^graphnet: [^\n]*\n$/);
  expect(r.stderr.startsWith(`graphnet: ${file}: `)).toBe(true);
  expect(r.stderr).toMatch(message);
  expect(r.code).toBe(1);
  expect(r.stdout).toBe("");
}

describe("a damaged run folder", () => {
  it("config.json that is null: eval says so", async () => {
    const dir = damagedRun((d) => writeFileSync(join(d, "config.json"), "null"));
    expectRefusal(await graphnet("eval", dir), join(dir, "config.json"), /must be an object \(found null\)\.$/m);
  });

  it("config.json with op_modules: 5: predict says which field and what it must be", async () => {
    const dir = damagedRun(editConfig((c) => void (c.op_modules = 5)));
    expectRefusal(await graphnet("predict", dir, "--index", "0"), join(dir, "config.json"), /field "op_modules": must be an array \(found 5\)/);
  });

  it('config.json with split "weird": refused, not taken for the report\'s split', async () => {
    const dir = damagedRun(editConfig((c) => void (c.data.split = "weird")));
    expectRefusal(await graphnet("eval", dir), join(dir, "config.json"), /field "data\.split": must be one of "report", "official" \(found "weird"\)/);
  });

  it("a best checkpoint whose W1 is stored transposed: eval names the tensor and both shapes", async () => {
    // Transposed throughout, its optimizer moments too: a checkpoint consistent in itself that does not fit the graph.
    const transpose = editCheckpoint("best.safetensors", (tensors) => {
      for (const name of ["W1", "optimizer.m.W1", "optimizer.v.W1"]) tensors.set(name, { ...tensors.get(name)!, shape: [128, 784] });
    });
    const dir = damagedRun(transpose);
    expectRefusal(
      await graphnet("eval", dir),
      join(dir, "best.safetensors"),
      /tensor "W1" has shape \[128, 784\], but the graph's parameter "W1" is \[784, 128\]/,
    );
  });

  it("a best checkpoint holding NaN weights: eval (the executable) refuses it instead of reporting loss NaN", async () => {
    const dir = damagedRun(
      editCheckpoint("best.safetensors", (tensors) => {
        const b1 = tensors.get("b1")!;
        tensors.set("b1", { ...b1, data: b1.data.map((v, i) => (i === 5 ? NaN : v)) });
      }),
    );
    expectRefusal(await spawned("eval", dir), join(dir, "best.safetensors"), /tensor "b1" holds NaN \(element 5\)/);
  });

  it("a last checkpoint whose metadata lacks progress: --resume says which field", async () => {
    const dir = damagedRun(editCheckpoint("last.safetensors", (_t, meta) => void delete meta.progress));
    expectRefusal(
      await graphnet("train", "--resume", dir, "--quiet"),
      join(dir, "last.safetensors"),
      /checkpoint metadata "graphnet", field "progress": is required but missing/,
    );
  });
});

describe("predict given a picture that cannot be a digit", () => {
  it("a 65-byte PNG claiming 30000 × 30000 pixels is refused from its header, in one line, by the executable", async () => {
    const picture = join(root, "huge.png");
    writeFileSync(picture, claimedPng(30_000, 30_000));
    expectRefusal(
      await spawned("predict", good, picture),
      picture,
      /cannot read the digit: the picture claims 30000 × 30000 pixels; graphnet reads pictures of at most 4096 × 4096/,
    );
  });

  it("a blank picture is predicted with a warning that it holds no digit", async () => {
    const picture = join(root, "blank.png");
    writeFileSync(picture, flatPng(50, 50, [255, 255, 255, 255]));
    const r = await graphnet("predict", good, picture);
    expect(r.stderr).toBe(`warning: ${picture}: the picture holds no digit (it is one flat colour); the prediction below is for an empty input.\n`);
    expect(r.stdout).toMatch(/^predicted \d\n/);
    expect(r.code).toBe(0);
  });
});

describe("train with a split that leaves a set empty", () => {
  it("--test-size 0.9999999 is refused before anything is written, instead of reporting test accuracy NaN", async () => {
    const out = join(root, "all-test");
    const r = await graphnet("train", "graphs/mnist.graph.json", "--data", dataDir, "--test-size", "0.9999999", "--out", out, "--quiet");
    expect(r.stderr).toMatch(
      /^graphnet: the report's split of the 250 images in \S+ \(test_size 0\.9999999, val_size 0\.25\) leaves the training and validation sets empty \(training 0, validation 0, test 250\)\. [^\n]*\n$/,
    );
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    expect(existsSync(out)).toBe(false);
  });
});
