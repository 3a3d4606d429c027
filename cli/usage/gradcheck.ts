/** What `graphnet gradcheck` accepts; what it does is ../commands/gradcheck.ts, loaded when it runs. */
import { Command } from "commander";
import { OP_CHECK_DEFAULTS } from "../../src/check/op-check-defaults.js";
import { positiveInt, nonNegativeInt, rate } from "../options.js";
import type { CliContext } from "../program.js";

export function gradcheckCommand(context: CliContext): Command {
  return new Command("gradcheck")
    .description(
      "Compare the autodiff's gradients with float64 central differences: a graph's parameters, or (without a graph file) " +
        "ops by themselves on random shapes and values — every built-in op, the ops of --ops modules, or those named with --op.",
    )
    .argument("[graph]", "a graph JSON file; without it, ops are checked")
    .option("--op <name>", "check this op, built in or from --ops (repeat for several); without a graph file", (v: string, prev: string[] | undefined) => [
      ...(prev ?? []),
      v,
    ])
    .option("--runs <n>", `random cases per op (default ${OP_CHECK_DEFAULTS.numRuns}); without a graph file`, positiveInt("--runs"))
    .option("--seed <n>", "seed of the parameters, the batch and the elements checked; for ops, of the random cases", nonNegativeInt("--seed"), 0)
    .option("--batch <n>", "batch size of the random batch", positiveInt("--batch"), 4)
    .option("--checks <n>", "elements checked per parameter, picked at random", positiveInt("--checks"))
    .option("--all", "check every element of every parameter (slow for large layers)")
    .option(
      "--dropout <rate>",
      "dropout rate while checking, with a fixed mask; dropout nodes are checked at the training section's dropout_rate even when use_dropout is off (0: check without)",
      rate("--dropout"),
    )
    .action(async (file: string | undefined, options, command: Command) =>
      (await import("../commands/gradcheck.js")).gradcheckAction(context, file, options, command),
    );
}
