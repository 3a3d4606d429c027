/** `graphnet predict RUN_DIR (--index N | image.png)`: class probabilities for one digit. */
import { Command } from "commander";
import { UserError, loadWeights, readDigitPicture, reopenSession } from "../../src/index.js";
import { loadRunOpModules } from "../op-modules.js";
import { nonNegativeInt } from "../options.js";

export function predictCommand(): Command {
  return new Command("predict")
    .description("Print the class probabilities of one digit: a test image of the run's split, or a PNG picture.")
    .argument("<run-dir>", "a run folder written by graphnet train")
    .argument("[image]", "a PNG picture of one digit (light or dark background; it is centred and scaled as MNIST's digits)")
    .option("--index <n>", "the n-th image of the run's test split", nonNegativeInt("--index"))
    .action(async (dir: string, image: string | undefined, options: { index?: number }) => {
      if (image === undefined && options.index === undefined) {
        throw new UserError("predict needs a digit: --index N (the N-th image of the run's test split) or the path of a PNG picture.");
      }
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
      const probs = session.model.predict(pixels);
      const ranked = [...probs.keys()].sort((a, b) => probs[b]! - probs[a]!);
      const lines = ranked.map((k) => `  ${k}  ${probs[k]!.toFixed(4)}  ${"█".repeat(Math.round(probs[k]! * 40))}`);
      process.stdout.write(`predicted ${ranked[0]}${truth}\n${lines.join("\n")}\n`);
    });
}
