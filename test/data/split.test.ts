/**
 * Our split is NumPy's and scikit-learn's, index for index. The expected indices were printed by
 *   python3 -c "import numpy as np; print(np.random.RandomState(42).permutation(70000)[:8])"
 * and by the same two-stage split the anchor (../shared/anchors/seed_numpy.py, split_indices) makes.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MT19937 } from "../../src/data/mt19937.js";
import { officialSplit, reportSplit, splitDataset, trainTestSplit } from "../../src/data/split.js";
import { UserError } from "../../src/graph/errors.js";

describe("NumPy's RandomState(seed).permutation", () => {
  it("matches NumPy 2.4 for seed 42", () => {
    const p = new MT19937(42).permutation(70_000);
    expect([...p.slice(0, 8)]).toEqual([46730, 48393, 41416, 34506, 43725, 11615, 24656, 22411]);
    expect([...p.slice(-8)]).toEqual([16023, 60263, 44131, 37194, 6265, 54886, 860, 15795]);
    expect([...new MT19937(42).permutation(56_000).slice(0, 8)]).toEqual([52141, 44163, 35746, 13713, 32127, 52216, 48490, 30532]);
  });

  it("is a permutation for any n and seed", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 500 }), fc.integer({ min: 0, max: 2 ** 32 - 1 }), (n, seed) => {
        const p = new MT19937(seed).permutation(n);
        expect([...p].sort((a, b) => a - b)).toEqual([...Array(n).keys()]);
      }),
    );
  });
});

describe("the report's split", () => {
  it("gives 42,000 / 14,000 / 14,000 images, the same indices as scikit-learn's train_test_split applied twice", () => {
    const split = reportSplit(70_000, 0.2, 0.25, 42);
    expect([split.train.length, split.validation.length, split.test.length]).toEqual([42_000, 14_000, 14_000]);
    expect([...split.train.slice(0, 5)]).toEqual([12641, 64529, 53586, 65927, 29241]);
    expect([...split.validation.slice(0, 5)]).toEqual([10234, 22304, 2945, 45481, 38536]);
    expect([...split.test.slice(0, 5)]).toEqual([46730, 48393, 41416, 34506, 43725]);
    const all = new Set([...split.train, ...split.validation, ...split.test]);
    expect(all.size).toBe(70_000);
  });

  it("rounds like scikit-learn: the test part gets the ceiling", () => {
    const { train, test } = trainTestSplit(11, 0.25, 0);
    expect([train.length, test.length]).toEqual([8, 3]);
  });

  it("the official split keeps the 10,000 test images and draws validation from the 60,000", () => {
    const split = officialSplit(60_000, 70_000, 0.25, 42);
    expect([split.train.length, split.validation.length, split.test.length]).toEqual([45_000, 15_000, 10_000]);
    expect(Math.max(...split.train, ...split.validation)).toBeLessThan(60_000);
    expect(Math.min(...split.test)).toBe(60_000);
  });
});

describe("a split that leaves a set empty, or nearly", () => {
  const data = (count: number, officialTrainCount = count) => ({ count, officialTrainCount, source: "some/data" });
  const report = { kind: "report", testSize: 0.2, valSize: 0.25, seed: 42 } as const;

  function refusal(run: () => unknown): string {
    let error: unknown;
    try {
      run();
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(UserError);
    expect((error as Error).message).not.toContain("\n");
    return (error as Error).message;
  }

  it.each<[string, Parameters<typeof splitDataset>, RegExp]>([
    [
      "a test share of 0.9999999 takes every image",
      [data(600), { ...report, testSize: 0.9999999 }],
      /^the report's split of the 600 images in some\/data \(test_size 0\.9999999, val_size 0\.25\) leaves the training and validation sets empty \(training 0, validation 0, test 600\)\. Lower --test-size/,
    ],
    ["three images leave nothing to train on", [data(3), { ...report, testSize: 0.5 }], /leaves the training set empty \(training 0, validation 1, test 2\)/],
    [
      "an official split whose test file holds no images",
      [data(500, 500), { ...report, kind: "official" }],
      /^the official split of the 500 images in some\/data \(500 from the training file, val_size 0\.25\) leaves the test set empty \(training 375, validation 125, test 0\)\. The official split tests on the test files/,
    ],
    [
      "an official split of one training image",
      [data(11, 1), { ...report, kind: "official" }],
      /leaves the training set empty \(training 0, validation 1, test 10\)/,
    ],
    ["no images at all", [data(0), report], /leaves the training, validation and test sets empty \(training 0, validation 0, test 0\)/],
  ])("is refused: %s", (_name, args, message) => {
    expect(refusal(() => splitDataset(...args))).toMatch(message);
  });

  it("a set of fewer than 50 images is kept, with a warning for each", () => {
    const { split, warnings } = splitDataset(data(100), { ...report, testSize: 0.01 });
    expect(split.test).toHaveLength(1);
    expect(warnings).toEqual([
      "the validation set holds only 25 images (training 74, validation 25, test 1): its accuracy moves in steps of 4 %.",
      "the test set holds only 1 image (training 74, validation 25, test 1): its accuracy moves in steps of 100 %.",
    ]);
    expect(splitDataset(data(60), report).warnings.map((w) => w.split(" (")[0])).toEqual([
      "the training set holds only 36 images",
      "the validation set holds only 12 images",
      "the test set holds only 12 images",
    ]);
  });

  it("MNIST's splits are the ones above, with no warning", () => {
    const mnist = data(70_000, 60_000);
    expect(splitDataset(mnist, report)).toEqual({ split: reportSplit(70_000, 0.2, 0.25, 42), warnings: [] });
    expect(splitDataset(mnist, { ...report, kind: "official" })).toEqual({ split: officialSplit(60_000, 70_000, 0.25, 42), warnings: [] });
  });
});
