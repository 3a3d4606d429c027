/** What `graphnet export` accepts; what it does is ../commands/export.ts, loaded when it runs. */
import { Command, Option } from "commander";

export interface ExportOptions {
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
    .action(async (target: string, options: ExportOptions) => (await import("../commands/export.js")).exportAction(target, options));
}
