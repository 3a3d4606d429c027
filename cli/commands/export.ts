/** `graphnet export RUN_OR_GRAPH -o model.onnx`: the forward graph and its weights as an ONNX model. */
import { statSync } from "node:fs";
import { createRequire } from "node:module";
import { Command, Option } from "commander";
import { loadGraphSource, trainingConfig } from "../../src/index.js";
import { exportOnnx } from "../../src/onnx/export.js";
import { initialWeights, runWeights } from "../../src/onnx/weights.js";
import { writeFileAtomic } from "../../src/util/atomic-write.js";
import { loadRunOpModules } from "../op-modules.js";

interface ExportOptions {
  out: string;
  withLoss?: boolean;
  checkpoint: "best" | "last";
}

export function exportCommand(): Command {
  return new Command("export")
    .description("Write a run's (or a graph's) forward graph and weights as an ONNX model (opset 17), for ONNX Runtime and every engine that reads ONNX.")
    .argument("<run-or-graph>", "a run folder written by graphnet train (its best weights), or a graph JSON file (its initial weights)")
    .requiredOption("-o, --out <file>", "where to write the ONNX model")
    .option("--with-loss", "also output the loss (the model then takes the labels as an input too)")
    .addOption(new Option("--checkpoint <which>", "a run's best (lowest validation loss) or last weights").choices(["best", "last"]).default("best"))
    .action(async (target: string, options: ExportOptions) => {
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
    });
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
