/**
 * Our split is NumPy's and scikit-learn's, index for index. The expected indices were printed by
 *   python3 -c "import numpy as np; print(np.random.RandomState(42).permutation(70000)[:8])"
 * and by the same two-stage split the anchor (../shared/anchors/seed_numpy.py, split_indices) makes.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MT19937 } from "../../src/data/mt19937.js";
import { officialSplit, reportSplit, trainTestSplit } from "../../src/data/split.js";

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
