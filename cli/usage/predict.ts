/** What `graphnet predict` accepts; what it does is ../commands/predict.ts, loaded when it runs. */
import { Command } from "commander";
import { nonNegativeInt } from "../options.js";

export function predictCommand(): Command {
  return new Command("predict")
    .description("Print the class probabilities of one digit: a test image of the run's split, or a PNG picture.")
    .argument("<run-dir>", "a run folder written by graphnet train")
    .argument("[image]", "a PNG picture of one digit (light or dark background; it is centred and scaled as MNIST's digits)")
    .option("--index <n>", "the n-th image of the run's test split", nonNegativeInt("--index"))
    .action(async (dir: string, image: string | undefined, options) => (await import("../commands/predict.js")).predictAction(dir, image, options));
}
