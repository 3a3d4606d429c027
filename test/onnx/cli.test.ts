/**
 * The commands, in this process: import PyTorch's MLP, fine-tune it with `train --init-from` (which starts
 * from its weights exactly, and refuses weights of another graph), export the run for ONNX Runtime, and
 * the one-line refusals of export and import.
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { startSession } from "../../src/train/session.js";
import { importOnnx } from "../../src/onnx/import.js";
import { runWeights } from "../../src/onnx/weights.js";
import { graphnetInProcess } from "../support/cli.js";
import { writeSmallMnist } from "../support/small-mnist.js";
import { graphnetRun, maxRelativeDifference, ortRun } from "./support.js";

const work = mkdtempSync(join(tmpdir(), "graphnet-onnx-cli-"));
const data = writeSmallMnist(300, 100);
const FIXTURE = "test/fixtures/onnx/mlp.onnx";

describe("import, fine-tune with --init-from, export", () => {
  const imported = join(work, "mlp");
  const run = join(work, "run");
  const sessions: { folder: { release(): void } }[] = [];
  afterAll(() => sessions.forEach((s) => s.folder.release()));

  it("imports PyTorch's MLP into a folder of a graph file and its weights", async () => {
    const result = await graphnetInProcess("import", FIXTURE, "-o", imported);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^mlp: \d+ nodes, 9,550 parameters; inputs image \[batch, 1, 28, 28\], labels \[batch, 10\]; outputs probs; loss "loss"\n/);
    expect(result.stdout).toContain(`wrote ${join(imported, "mlp.graph.json")}, ${join(imported, "best.safetensors")}, ${join(imported, "config.json")}`);
  });

  it("--init-from starts training from the imported weights, parameter by id", () => {
    const session = startSession({ graphFile: join(imported, "mlp.graph.json"), initFrom: imported, dataDir: data, outDir: join(work, "started") });
    sessions.push(session);
    const { weights } = importOnnx(readFileSync(FIXTURE), FIXTURE);
    expect(session.model.snapshot()).toEqual(weights);
    expect(session.record.init_from).toBe(join(imported, "best.safetensors"));
  });

  it("fine-tunes from the command line and records where it started", async () => {
    const result = await graphnetInProcess(
      "train",
      join(imported, "mlp.graph.json"),
      "--init-from",
      imported,
      "--epochs",
      "1",
      "--data",
      data,
      "--out",
      run,
      "--quiet",
      "--backend",
      "ts",
    );
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^test accuracy 0\.\d{4}/);
    expect(JSON.parse(readFileSync(join(run, "config.json"), "utf8")).init_from).toBe(join(imported, "best.safetensors"));
  });

  it("refuses weights of another graph, and of another shape, before anything is written", () => {
    const cnn = join(work, "cnn");
    return graphnetInProcess("import", "test/fixtures/onnx/cnn.onnx", "-o", cnn).then(() => {
      expect(() => startSession({ graphFile: join(imported, "mlp.graph.json"), initFrom: cnn, dataDir: data, outDir: join(work, "x1") })).toThrow(
        /^--init-from .*best\.safetensors: holds weights for "_0\.weight", .*, which the graph has no parameter of; the checkpoint was saved from another graph\.$/,
      );
      const wider = readFileSync(join(imported, "mlp.graph.json"), "utf8")
        .replace(/\[12, ?784\]/, "[13,784]")
        .replace(/"shape": ?\[12\]/, '"shape":[13]')
        .replace(/\[10, ?12\]/, "[10,13]");
      writeFileSync(join(work, "wider.graph.json"), wider);
      expect(() => startSession({ graphFile: join(work, "wider.graph.json"), initFrom: imported, dataDir: data, outDir: join(work, "x2") })).toThrow(
        /^--init-from .*best\.safetensors: tensor "body\.1\.weight" has shape \[12, 784\], but the graph's parameter "body\.1\.weight" is \[13, 784\]\.$/,
      );
      expect(() => startSession({ graphFile: join(imported, "mlp.graph.json"), initFrom: work, dataDir: data, outDir: join(work, "x3") })).toThrow(
        /^--init-from .*: the folder has no best\.safetensors; give a run folder, a folder written by graphnet import, or a checkpoint file\.$/,
      );
    });
  });

  it("exports the fine-tuned run, which ONNX Runtime runs as graphnet does", async () => {
    const file = join(work, "tuned.onnx");
    const result = await graphnetInProcess("export", run, "-o", file);
    expect(result.code).toBe(0);
    expect(result.stderr).toBe("");
    const { graph, weights } = runWeights(run);
    const images = Float32Array.from({ length: 2 * 784 }, (_, i) => (i % 7) / 7);
    const theirs = await ortRun(readFileSync(file), { image: { data: images, dims: [2, 1, 28, 28] } });
    const ours = graphnetRun(graph, weights, { image: images }, 2, ["probs"]);
    expect(maxRelativeDifference(theirs.get("probs")!, ours.get("probs")!)).toBeLessThanOrEqual(1e-5);
  });
});

describe("the commands' refusals: one line, exit code 1", () => {
  it.each([
    [["import", "README.md", "-o", join(work, "r")], /^graphnet: README\.md: not (a whole |an )ONNX model: /],
    [["import", join(work, "missing.onnx"), "-o", join(work, "m")], /^graphnet: .*missing\.onnx/],
    [
      [
        ...["leaky_relu", "softplus", "log_softmax"].flatMap((op) => ["--ops", `./examples/ops/${op}.js`]),
        "export",
        "examples/ops/mlp.graph.json",
        "-o",
        join(work, "x.onnx"),
      ],
      /^graphnet: examples\/ops\/mlp\.graph\.json:\d+:\d+: node "\w+", field "op": op "my_(softplus|log_softmax)" has no ONNX lowering, so the graph cannot be exported\./,
    ],
  ])("%j", async (argv, message) => {
    const result = await graphnetInProcess(...argv);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(message);
    expect(result.stderr.trimEnd().split("\n")).toHaveLength(1);
  });

  it("export warns that a graph file's weights are its initial ones", async () => {
    const result = await graphnetInProcess("export", "graphs/mnist.graph.json", "-o", join(work, "initial.onnx"));
    expect(result.code).toBe(0);
    expect(result.stderr).toBe("warning: graphs/mnist.graph.json is a graph file, not a run: the model holds its initial weights (seed 42), untrained.\n");
    expect(result.stdout).toMatch(/^wrote .*initial\.onnx \([\d,]+ bytes\)\n$/);
  });
});
