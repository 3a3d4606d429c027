/** `graphnet predict RUN_DIR (--index N | --image FILE)`: class probabilities for one digit. */
import { writeFileSync } from "node:fs";
import { Command } from "commander";
import { UserError, digitInputPng, loadWeights, readDigitPicture, reopenSession } from "../../src/index.js";
import { loadRunOpModules } from "../op-modules.js";
import { nonNegativeInt } from "../options.js";

const NEEDS_A_DIGIT = "predict needs a digit: give --index N (the N-th image of the run's test split) or --image FILE (a PNG or JPEG picture of a digit).";

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
    .action(async (dir: string, positional: string | undefined, options: { index?: number; image?: string; show?: string }) => {
      if (positional !== undefined && options.image !== undefined && positional !== options.image) {
        throw new UserError(`predict takes one picture: ${positional} or --image ${options.image}, not both.`);
      }
      const image = options.image ?? positional;
      if (image === undefined && options.index === undefined) throw new UserError(NEEDS_A_DIGIT);
      if (image !== undefined && options.index !== undefined) throw new UserError(`predict takes one digit: --index ${options.index} or ${image}, not both.`);
      // The picture first: a file that cannot be a digit is refused before the run is loaded.
      const picture = image === undefined ? undefined : readDigitPicture(image);
      await loadRunOpModules(dir); // the custom ops the run was trained with
      const session = reopenSession(dir);
      loadWeights(session);
      let pixels: ArrayLike<number>;
      let truth = "";
      if (picture) {
        if (picture.warning) process.stderr.write(`warning: ${picture.warning}\n`);
        pixels = picture.pixels;
      } else {
        const index = options.index!;
        const test = session.split.test;
        if (index >= test.length) throw new UserError(`--index must be below ${test.length}, the number of test images.`);
        const sample = test[index]!;
        const f = session.data.features;
        pixels = Float64Array.from(session.data.images.subarray(sample * f, (sample + 1) * f), (p) => p / 255);
        truth = ` (true label ${session.data.labels[sample]})`;
      }
      if (options.show !== undefined) writeShown(options.show, pixels, session.data.side);
      const probs = session.model.predict(pixels);
      const ranked = [...probs.keys()].sort((a, b) => probs[b]! - probs[a]!);
      const lines = ranked.map((k) => `  ${k}  ${probs[k]!.toFixed(4)}  ${"█".repeat(Math.round(probs[k]! * 40))}`);
      process.stdout.write(`predicted ${ranked[0]}${truth}\n${lines.join("\n")}\n`);
    });
}

/** The model's input as a picture, for --show (a file-system error is worded by the program, naming the file). */
function writeShown(file: string, pixels: ArrayLike<number>, side: number): void {
  if (side !== 28 || pixels.length !== 784)
    throw new UserError(`--show draws 28 × 28 digits; this run's inputs are ${pixels.length} values, not an MNIST image.`);
  writeFileSync(file, digitInputPng(pixels));
}
