/**
 * The report's splits, as index arrays into the full dataset (pixels are never copied to split).
 */
import { UserError } from "../graph/errors.js";
import { MT19937 } from "./mt19937.js";

/**
 * scikit-learn's train_test_split(n samples, test_size, shuffle=True, random_state=seed), index for
 * index: a permutation from NumPy's RandomState(seed); the first ⌈test_size·n⌉ are the test part,
 * the next ⌊(1 − test_size)·n⌋ the training part.
 */
export function trainTestSplit(n: number, testSize: number, seed: number): { train: Uint32Array; test: Uint32Array } {
  const nTest = Math.ceil(testSize * n);
  const nTrain = Math.floor((1 - testSize) * n);
  const permutation = new MT19937(seed).permutation(n);
  return { test: permutation.slice(0, nTest), train: permutation.slice(nTest, nTest + nTrain) };
}

export interface Split {
  readonly train: Uint32Array;
  readonly validation: Uint32Array;
  readonly test: Uint32Array;
}

/**
 * The report's split: all samples shuffled, test_size of them for testing, then val_size of the rest
 * for validation (70,000 MNIST images → 42,000 / 14,000 / 14,000 with 0.2, 0.25 and seed 42).
 */
export function reportSplit(n: number, testSize: number, valSize: number, seed: number): Split {
  const { train: rest, test } = trainTestSplit(n, testSize, seed);
  const inner = trainTestSplit(rest.length, valSize, seed);
  return { train: inner.train.map((i) => rest[i]!), validation: inner.test.map((i) => rest[i]!), test };
}

/**
 * The official split: the first `officialTrain` samples are the training file's, the rest the test
 * file's; validation is val_size of the training part, drawn as in the report.
 */
export function officialSplit(officialTrain: number, n: number, valSize: number, seed: number): Split {
  const inner = trainTestSplit(officialTrain, valSize, seed);
  const test = Uint32Array.from({ length: n - officialTrain }, (_, i) => officialTrain + i);
  return { train: inner.train, validation: inner.test, test };
}

export const SPLIT_KINDS = ["report", "official"] as const;
export type SplitKind = (typeof SPLIT_KINDS)[number];

/** How a data set is split: the kind, and for the report's kind the shares and the seed. */
export interface SplitSettings {
  readonly kind: SplitKind;
  readonly testSize: number;
  readonly valSize: number;
  readonly seed: number;
}

/**
 * Below this many images a set's accuracy moves in steps of 2 % or more: still a result, but one to
 * read with care, and the person is told.
 */
const SMALL_SET = 50;

/** What a data set is, for messages: its images, where they come from, how many came from the training file. */
export interface SplitSource {
  readonly count: number;
  /** Present for samples that are not pictures (a table's): messages then speak of samples, not images. */
  readonly values?: ArrayLike<number>;
  readonly officialTrainCount: number;
  readonly source: string;
}

/**
 * The data split as settings ask, refused when it leaves the training, validation or test set empty
 * (an empty test set has no accuracy: it would be reported as NaN), with a warning for each set smaller
 * than SMALL_SET.
 */
export function splitDataset(data: SplitSource, settings: SplitSettings): { split: Split; warnings: string[] } {
  const split =
    settings.kind === "official"
      ? officialSplit(data.officialTrainCount, data.count, settings.valSize, settings.seed)
      : reportSplit(data.count, settings.testSize, settings.valSize, settings.seed);
  const sizes = { training: split.train.length, validation: split.validation.length, test: split.test.length };
  const empty = (Object.keys(sizes) as (keyof typeof sizes)[]).filter((set) => sizes[set] === 0);
  const noun = data.values ? "sample" : "image";
  const described =
    settings.kind === "official"
      ? `the official split of the ${data.count} ${noun}s in ${data.source} (${data.officialTrainCount} from the training ${data.values ? "part" : "file"}, val_size ${settings.valSize})`
      : `the report's split of the ${data.count} ${noun}s in ${data.source} (test_size ${settings.testSize}, val_size ${settings.valSize})`;
  const counts = `training ${sizes.training}, validation ${sizes.validation}, test ${sizes.test}`;
  if (empty.length > 0) {
    const sets = empty.length === 1 ? `the ${empty[0]} set` : `the ${empty.slice(0, -1).join(", ")} and ${empty.at(-1)} sets`;
    throw new UserError(`${described} leaves ${sets} empty (${counts}). ${remedy(settings.kind, empty, data.values !== undefined)}`);
  }
  const warnings = (Object.keys(sizes) as (keyof typeof sizes)[])
    .filter((set) => sizes[set] < SMALL_SET)
    .map(
      (set) =>
        `the ${set} set holds only ${sizes[set]} ${noun}${sizes[set] === 1 ? "" : "s"} (${counts}): ${set === "training" ? "the model learns from very few examples" : `its accuracy moves in steps of ${Number((100 / sizes[set]).toPrecision(2))} %`}.`,
    );
  return { split, warnings };
}

function remedy(kind: SplitKind, empty: readonly string[], tabular: boolean): string {
  if (kind === "official" && tabular) {
    return empty.includes("test")
      ? "The official split tests on a separate test part (an .npz's x_test and y_test), which this data has not: use --split report."
      : "Give the training part more samples, or change --val-size.";
  }
  if (kind === "official") {
    return empty.includes("test")
      ? "The official split tests on the test files (t10k-…), which hold no images: give some, or use --split report."
      : "Give the training file more images, or change --val-size.";
  }
  return empty.includes("test") ? "Raise --test-size, or give more images." : "Lower --test-size (or --val-size), or give more images.";
}
