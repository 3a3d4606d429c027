/** `graphnet predict RUN_DIR (--index N | --image FILE)`: class probabilities for one digit. */
import { writeFileSync } from "node:fs";
import { sampleInput } from "../../src/data/batch.js";
import { digitInputPng, readDigitPicture } from "../../src/data/image.js";
import { UserError } from "../../src/graph/errors.js";
import { loadWeights, reopenSession } from "../../src/train/session.js";
import { loadRunOpModules } from "../op-modules.js";
import type { PredictOptions } from "../usage/predict.js";

const NEEDS_A_DIGIT = "predict needs a digit: give --index N (the N-th image of the run's test split) or --image FILE (a PNG or JPEG picture of a digit).";

/** `graphnet predict`, its command line parsed by ../usage/predict.ts. */
export async function predictAction(dir: string, positional: string | undefined, options: PredictOptions): Promise<void> {
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
    pixels = sampleInput(session.data, sample);
    truth = ` (true label ${session.data.labels[sample]})`;
  }
  if (options.show !== undefined) writeShown(options.show, pixels, session.data.side);
  const probs = session.model.predict(pixels);
  const ranked = [...probs.keys()].sort((a, b) => probs[b]! - probs[a]!);
  const lines = ranked.map((k) => `  ${k}  ${probs[k]!.toFixed(4)}  ${"█".repeat(Math.round(probs[k]! * 40))}`);
  process.stdout.write(`predicted ${ranked[0]}${truth}\n${lines.join("\n")}\n`);
}

/** The model's input as a picture, for --show (a file-system error is worded by the program, naming the file). */
function writeShown(file: string, pixels: ArrayLike<number>, side: number): void {
  if (side !== 28 || pixels.length !== 784) throw new UserError(`--show draws 28 × 28 digits; this run's inputs are ${pixels.length} values, not an MNIST image.`);
  writeFileSync(file, digitInputPng(pixels));
}
