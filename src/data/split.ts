/**
 * The report's splits, as index arrays into the full dataset (pixels are never copied to split).
 */
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
