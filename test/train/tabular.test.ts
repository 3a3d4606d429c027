/**
 * Training on your own data, end to end: examples/tabular's iris graph trained in this process on the CSV
 * file, on .npy arrays (on the wasm backend) and on an .npz, each reaching a sensible accuracy; the run
 * records its data so that eval reopens it; and through the command line, a mismatch is one line.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadWeights, reopenSession, startSession, train, type TrainRequest } from "../../src/index.js";
import { graphnetInProcess } from "../support/cli.js";
import { IRIS, irisX, irisY } from "../support/iris.js";
import { npy, npz } from "../support/numpy-files.js";

const GRAPH = "examples/tabular/iris.graph.json";

const dir = mkdtempSync(join(tmpdir(), "graphnet-tabular-"));
async function trained(request: Omit<TrainRequest, "graphFile">) {
  const session = startSession({ graphFile: GRAPH, outDir: mkdtempSync(join(tmpdir(), "graphnet-run-")), overrides: { num_epochs: 40 }, ...request });
  const outcome = await train(session);
  session.folder.release();
  return { session, outcome };
}

describe("a tabular MLP trained on iris", () => {
  it("from the CSV file: 90 / 30 / 30 samples, ≥ 90 % on the test part; eval reopens the run from config.json", async () => {
    const { session, outcome } = await trained({ dataFile: IRIS });
    expect([session.split.train.length, session.split.validation.length, session.split.test.length]).toEqual([90, 30, 30]);
    expect(outcome.test!.accuracy).toBeGreaterThanOrEqual(0.9);
    expect(session.record.data).toMatchObject({ dir: null, file: IRIS, classes: 3 });
    const reopened = reopenSession(session.folder.dir);
    loadWeights(reopened);
    expect(reopened.model.evaluate(reopened.data, reopened.split.test).accuracy).toBe(outcome.test!.accuracy);
  });

  it("from .npy features and labels, on the wasm backend: the same samples, the same sensible accuracy", async () => {
    const features = join(dir, "x.npy");
    const labels = join(dir, "y.npy");
    writeFileSync(features, npy("<f8", [150, 4], irisX));
    writeFileSync(labels, npy("<i8", [150], irisY));
    const { session, outcome } = await trained({ dataFile: features, labelsFile: labels, backend: "wasm" });
    expect(outcome.test!.accuracy).toBeGreaterThanOrEqual(0.9);
    expect(session.record.data).toMatchObject({ file: features, labels });
  });

  it("from an .npz of float32 features and uint8 labels", async () => {
    const archive = join(dir, "iris.npz");
    writeFileSync(archive, npz({ x: npy("<f4", [150, 4], irisX), y: npy("|u1", [150], irisY) }));
    const { outcome } = await trained({ dataFile: archive });
    expect(outcome.test!.accuracy).toBeGreaterThanOrEqual(0.9);
  });
});

describe("graphnet train --data FILE", () => {
  it("trains on the CSV, its header naming the file; eval of the run reads it again", async () => {
    const out = join(mkdtempSync(join(tmpdir(), "graphnet-run-")), "iris");
    const result = await graphnetInProcess("train", GRAPH, "--data", IRIS, "--label-column", "species", "--epochs", "30", "--out", out);
    expect(result.code).toBe(0);
    expect(result.stderr).toContain(`data: ${IRIS} (label column species), report split 90 / 30 / 30`);
    expect(result.stdout).toMatch(/^test accuracy 0\.9\d+/);
    const evaluated = await graphnetInProcess("eval", out);
    expect(evaluated.code).toBe(0);
    expect(evaluated.stdout).toContain("30 test samples");
  });

  it("refuses a file whose width the graph does not take with one line naming the file and the input, and exits non-zero", async () => {
    const wide = join(dir, "wide.csv");
    writeFileSync(wide, "a,b,c,d,e,label\n1,2,3,4,5,0\n");
    const result = await graphnetInProcess("train", GRAPH, "--data", wide, "--out", join(dir, "never"));
    expect(result.code).not.toBe(0);
    expect(result.stderr.trim().split("\n")).toEqual([
      `graphnet: ${wide}: each sample holds 5 values (5 columns besides the label column "label"), but the graph's input "x" takes [batch, 4]; declare it [batch, 5] or give data of its width.`,
    ]);
  });

  it("refuses augmentation and --split official for a CSV file, and a file that is not one of samples", async () => {
    const augmented = await graphnetInProcess("train", GRAPH, "--data", IRIS, "--augment", "--out", join(dir, "never"));
    expect(augmented.stderr).toMatch(/data augmentation .* shifts and rotates pictures, but these samples are rows of 4 numbers .*--no-augment/);
    const official = await graphnetInProcess("train", GRAPH, "--data", IRIS, "--split", "official", "--out", join(dir, "never"));
    expect(official.stderr).toContain(
      "The official split tests on a separate test part (an .npz's x_test and y_test), which this data has not: use --split report.",
    );
    const text = join(dir, "iris.txt");
    writeFileSync(text, "1,2\n");
    const other = await graphnetInProcess("train", GRAPH, "--data", text, "--out", join(dir, "never"));
    expect(other.stderr).toContain(`--data ${text}: a file of samples must be a .csv, .npz or .npy file`);
    for (const r of [augmented, official, other]) expect([r.code !== 0, r.stderr.trim().split("\n").length]).toEqual([true, 1]);
  });
});
