/** `graphnet import model.onnx -o DIR`: an ONNX model as a graph file and its weights (DIR reads as a run folder where it can). */
import { formatShape } from "../../src/graph/ir.js";
import { inferShapes } from "../../src/graph-file/shapes.js";
import { importOnnx } from "../../src/onnx/import.js";
import { writeImportFolder } from "../../src/onnx/import-folder.js";
import { getOp } from "../../src/ops/registry.js";
import { readGivenFile } from "../../src/util/fs-errors.js";
import { formatInt } from "../table.js";

/** `graphnet import`, its command line parsed by ../usage/import.ts. */
export function importAction(file: string, options: { out: string }): void {
  const imported = importOnnx(readGivenFile(file, "ONNX model"), file);
  const written = writeImportFolder(options.out, imported);
  for (const warning of imported.warnings) process.stderr.write(`warning: ${warning}\n`);
  const { graph } = imported;
  const shapes = inferShapes(graph);
  const count = graph.nodes
    .filter((n) => getOp(n.op)?.role === "parameter")
    .reduce((sum, n) => sum + (shapes.get(n.id)! as number[]).reduce((p, d) => p * d, 1), 0);
  const inputs = graph.nodes.filter((n) => n.op === "input").map((n) => `${n.id} ${formatShape(shapes.get(n.id)!)}`);
  const outputs = Object.entries(graph.outputs ?? {})
    .map(([name, id]) => (name === id ? name : `${name} (${id})`))
    .join(", ");
  process.stdout.write(
    [
      `${graph.name}: ${graph.nodes.length} nodes, ${formatInt(count)} parameters; inputs ${inputs.join(", ")}; outputs ${outputs}` +
        `${graph.loss ? `; loss "${graph.loss}"` : ""}`,
      `wrote ${[written.graphFile, written.checkpoint, ...(written.record ? [written.record] : [])].join(", ")}`,
      "",
    ].join("\n"),
  );
}
