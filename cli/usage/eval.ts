/** What `graphnet eval` accepts; what it does is ../commands/eval.ts, loaded when it runs. */
import { Command, Option } from "commander";

export function evalCommand(): Command {
  return new Command("eval")
    .description("Evaluate a run's weights on its test split: accuracy, loss and the confusion matrix.")
    .argument("<run-dir>", "a run folder written by graphnet train")
    .addOption(new Option("--checkpoint <which>", "the best (lowest validation loss) or the last weights").choices(["best", "last"]).default("best"))
    .action(async (dir: string, options) => (await import("../commands/eval.js")).evalAction(dir, options));
}
