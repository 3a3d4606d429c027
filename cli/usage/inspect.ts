/** What `graphnet inspect` accepts; what it does is ../commands/inspect.ts, loaded when it runs. */
import { Command } from "commander";
import { positiveInt } from "../options.js";

export function inspectCommand(): Command {
  return new Command("inspect")
    .description("List every node with its op, inputs and inferred shape, and the parameter counts.")
    .argument("<graph>", "a graph JSON file")
    .option("--backward", "also list the backward nodes derived by autodiff and the gradient outputs")
    .option("--plan", "print the execution plan of a training step, with arena bytes against one buffer per value")
    .option("--batch <n>", "batch size for --plan (default: the training section's batch_size)", positiveInt("--batch"))
    .option("--json", "print the graph (with --backward: forward and backward) as graph JSON instead")
    .action(async (file: string, options) => (await import("../commands/inspect.js")).inspectAction(file, options));
}
