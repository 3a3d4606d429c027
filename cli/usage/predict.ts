/** What `graphnet predict` accepts; what it does is ../commands/predict.ts, loaded when it runs. */
import { Command } from "commander";
import { nonNegativeInt } from "../options.js";

export interface PredictOptions {
  index?: number;
  image?: string;
  show?: string;
}

export function predictCommand(): Command {
  return new Command("predict")
    .description("Print the class probabilities of one digit: a test image of the run's split, or a picture (PNG or JPEG).")
    .argument("<run-dir>", "a run folder written by graphnet train")
    .argument("[image]", "the picture, as --image gives it")
    .option("--index <n>", "the n-th image of the run's test split", nonNegativeInt("--index"))
    .option(
      "--image <file>",
      "a PNG or JPEG picture of one digit, photographed or drawn: its background is taken out (a light one inverted), the digit cropped, fitted in 20 × 20 and centred by mass, as MNIST's were",
    )
    .option("--show <file>", "write the 28 × 28 image the model is given, as PNG")
    .action(async (dir: string, positional: string | undefined, options: PredictOptions) =>
      (await import("../commands/predict.js")).predictAction(dir, positional, options),
    );
}
