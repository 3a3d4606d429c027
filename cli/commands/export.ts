/** `graphnet export RUN_OR_GRAPH -o model.onnx`: the forward graph and its weights as an ONNX model. */
import { statSync } from "node:fs";
import { createRequire } from "node:module";
import { loadGraphSource } from "../../src/graph-file/load.js";
import { trainingConfig } from "../../src/graph/training.js";
import { exportOnnx } from "../../src/onnx/export.js";
import { initialWeights, runWeights } from "../../src/onnx/weights.js";
import { writeFileAtomic } from "../../src/util/atomic-write.js";
import { loadRunOpModules } from "../op-modules.js";
import type { ExportOptions } from "../usage/export.js";

/** `graphnet export`, its command line parsed by ../usage/export.ts. */
export async function exportAction(target: string, options: ExportOptions): Promise<void> {
  const version = (createRequire(import.meta.url)("graphnet/package.json") as { version: string }).version;
  let bytes: Uint8Array;
  if (isDirectory(target)) {
    await loadRunOpModules(target); // the custom ops the run was trained with
    const { graph, weights } = runWeights(target, options.checkpoint);
    bytes = exportOnnx(graph, weights, { withLoss: options.withLoss === true, producerVersion: version });
  } else {
    const source = loadGraphSource(target);
    const graph = source.graph;
    const seed = trainingConfig(graph).seed;
    bytes = source.guard(() => exportOnnx(graph, initialWeights(graph, seed), { withLoss: options.withLoss === true, producerVersion: version }));
    process.stderr.write(`warning: ${target} is a graph file, not a run: the model holds its initial weights (seed ${seed}), untrained.\n`);
  }
  writeFileAtomic(options.out, bytes);
  process.stdout.write(`wrote ${options.out} (${bytes.length.toLocaleString("en-US")} bytes)\n`);
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
