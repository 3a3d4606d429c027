/** What `graphnet import` accepts; what it does is ../commands/import.ts, loaded when it runs. */
import { Command } from "commander";

export function importCommand(): Command {
  return new Command("import")
    .description("Read an ONNX model into a graph file and its weights (a checkpoint), with a loss head and a training section so train can fine-tune it.")
    .argument("<model>", "an ONNX model file (.onnx)")
    .requiredOption("-o, --out <dir>", "the folder to write: <name>.graph.json, best.safetensors and (for a model of MNIST's shape) config.json")
    .action(async (file: string, options: { out: string }) => (await import("../commands/import.js")).importAction(file, options));
}
