/** `graphnet import model.onnx -o DIR`: an ONNX model as a graph file and its weights (DIR reads as a run folder where it can). */
import { Command } from "commander";
import { formatShape, getOp, inferShapes } from "../../src/index.js";
import { importOnnx } from "../../src/onnx/import.js";
import { writeImportFolder } from "../../src/onnx/import-folder.js";
import { readGivenFile } from "../../src/util/fs-errors.js";
import { formatInt } from "../table.js";

export function importCommand(): Command {
  return new Command("import")
    .description("Read an ONNX model into a graph file and its weights (a checkpoint), with a loss head and a training section so train can fine-tune it.")
    .argument("<model>", "an ONNX model file (.onnx)")
    .requiredOption("-o, --out <dir>", "the folder to write: <name>.graph.json, best.safetensors and (for a model of MNIST's shape) config.json")
    .action((file: string, options: { out: string }) => {
      const imported = importOnnx(readGivenFile(file, "ONNX model"), file);
      const written = writeImportFolder(options.out, imported);
      for (const warning of imported.warnings) process.stderr.write(`warning: ${warning}\n`);
      const { graph } = imported;
      const shapes = inferShapes(graph);
      const count = graph.nodes
        .filter((n) => getOp(n.op)?.role === "parameter")
        .reduce((sum, n) => sum + (shapes.get(n.id)! as number[]).reduce((p, d) => p * d, 1), 0);
      const inputs = graph.nodes.filter((n) => n.op === "input").map((n) => `${n.id} ${formatShape(shapes.get(n.id)!)}`);
      process.stdout.write(
        [
          `${graph.name}: ${graph.nodes.length} nodes, ${formatInt(count)} parameters; inputs ${inputs.join(", ")}; ` +
            `outputs ${Object.entries(graph.outputs ?? {})
              .map(([name, id]) => (name === id ? name : `${name} (${id})`))
              .join(", ")}` +
            `${graph.loss ? `; loss "${graph.loss}"` : ""}`,
          `wrote ${[written.graphFile, written.checkpoint, ...(written.record ? [written.record] : [])].join(", ")}`,
          "",
        ].join("\n"),
      );
    });
}
