/**
 * `graphnet train` on file-system trouble and on a bad training section: one line naming the path (or
 * the file and field, or the flag) and the problem, exit code 1, never a stack trace. Run in this process
 * through `main`, except where a process of its own is the point (a hang, another user).
 */
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { graphnetInProcess, graphnetProcess } from "../support/cli.js";
import { writeSmallMnist } from "../support/small-mnist.js";

const GRAPH = "graphs/mnist.graph.json";
const tempDir = () => mkdtempSync(join(tmpdir(), "graphnet-train-errors-"));

/** The shipped graph with some top-level fields changed, as a file in a temporary folder. */
function graphWith(change: (graph: Record<string, any>) => void): string {
  const graph = JSON.parse(readFileSync(GRAPH, "utf8"));
  change(graph);
  const file = join(tempDir(), "changed.graph.json");
  writeFileSync(file, JSON.stringify(graph, null, 2));
  return file;
}

/** One line on stderr, starting "graphnet: ", and no stack trace. */
function oneLine(stderr: string): string {
  expect(stderr).toMatch(/^graphnet: [^\n]+\n$/);
  expect(stderr).not.toMatch(/\bat .*:\d+:\d+/);
  return stderr.slice("graphnet: ".length, -1);
}

let data: string;
beforeAll(() => {
  data = writeSmallMnist(200, 60);
});

describe("file-system trouble is one line naming the path", () => {
  it("--out that is a file, or under a file", async () => {
    const dir = tempDir();
    const file = join(dir, "a-file");
    writeFileSync(file, "mine");
    const onFile = await graphnetInProcess("train", GRAPH, "--data", data, "--out", file);
    expect(onFile.code).toBe(1);
    expect(oneLine(onFile.stderr)).toBe(`${file}: cannot create the folder: a file (not a folder) is already there (EEXIST).`);
    const under = await graphnetInProcess("train", GRAPH, "--data", data, "--out", join(file, "run"));
    expect(under.code).toBe(1);
    expect(oneLine(under.stderr)).toBe(`${join(file, "run")}: cannot create the folder: a part of the path is a file, not a folder (ENOTDIR).`);
    expect(readFileSync(file, "utf8")).toBe("mine");
    expect(readdirSync(dir)).toEqual(["a-file"]);
  });

  it("an idx file that is a folder", async () => {
    const broken = writeSmallMnist(20, 10);
    renameSync(join(broken, "t10k-labels-idx1-ubyte"), join(broken, "labels"));
    mkdirSync(join(broken, "t10k-labels-idx1-ubyte"));
    const r = await graphnetInProcess("train", GRAPH, "--data", broken, "--out", join(tempDir(), "run"));
    expect(r.code).toBe(1);
    // Named by its path once the idx reader reads through readFileNamed (src/util/fs-errors.ts).
    expect(oneLine(r.stderr)).toMatch(/^(.*t10k-labels-idx1-ubyte: )?cannot read: it is a folder, not a file \(EISDIR\)\.$/);
  });

  it("--out under /proc fails at once (a recursive mkdir spun there forever)", () => {
    const r = graphnetProcess(["train", GRAPH, "--data", data, "--out", "/proc/graphnet-test/run"]);
    expect(r.code).toBe(1);
    expect(oneLine(r.stderr)).toBe("/proc/graphnet-test: cannot create the folder: the folder it would go in, /proc, takes no new entries (ENOENT).");
  });

  it("--out in a folder its user cannot write to (run as another user when the tests run as root, whom permissions do not stop)", () => {
    const readOnly = tempDir();
    chmodSync(readOnly, 0o555);
    chmodSync(data, 0o755); // the other user reads the data
    const asOther = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};
    const r = graphnetProcess(["train", GRAPH, "--data", data, "--out", join(readOnly, "run")], asOther);
    expect(r.code).toBe(1);
    expect(oneLine(r.stderr)).toBe(`${join(readOnly, "run")}: cannot create the folder: permission denied (EACCES).`);
  });

  it("a graph name that cannot name the default run folder (a NUL, or over 255 bytes) is the graph file's error", async () => {
    for (const [name, problem] of [
      ["mnist\u0000mlp", /holds a NUL character/],
      ["m".repeat(250), /is 250 bytes long, and a folder's name holds at most 255 bytes/],
    ] as const) {
      const file = graphWith((g) => (g.name = name));
      const r = await graphnetInProcess("train", file, "--data", data);
      expect(r.code).toBe(1);
      const line = oneLine(r.stderr);
      expect(line.startsWith(`${file}: field "name": the graph's name names the default run folder, runs/<name>-<time>, but it `)).toBe(true);
      expect(line).toMatch(problem);
      expect(line).toMatch(/give the run folder with --out DIR, or shorten the name\.$/);
    }
    expect(existsSync(join("runs", "m".repeat(250)))).toBe(false);
  });
});

describe("the training section and the flags", () => {
  it("an error in the file's training section is the file's, even with a correct flag for the same key", async () => {
    const file = graphWith((g) => (g.training.learning_rate = -1));
    const r = await graphnetInProcess("train", file, "--data", data, "--lr", "0.01");
    expect(r.code).toBe(1);
    expect(oneLine(r.stderr)).toMatch(new RegExp(`^${file}:\\d+:\\d+: field "training.learning_rate": must be > 0 \\(found -1\\)\\.$`));
  });

  it("a bad flag is the flag's, whatever the file says", async () => {
    const r = await graphnetInProcess("train", GRAPH, "--data", data, "--lr", "-1", "--epochs", "0");
    expect(r.code).toBe(1);
    expect(oneLine(r.stderr)).toMatch(/^--(lr|epochs): must be [>≥]/);
  });
});
