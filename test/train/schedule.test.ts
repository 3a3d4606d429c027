/** The learning rate of each step, as the schedule computes it from the run's settings. */
import { describe, expect, it } from "vitest";
import { DEFAULT_TRAINING } from "../../src/graph/training.js";
import { learningRateAt } from "../../src/train/schedule.js";

describe("learningRateAt", () => {
  it("constant: the settings' learning_rate at every step", () => {
    const settings = { ...DEFAULT_TRAINING, learning_rate: 0.004 };
    expect([0, 7, 100].map((step) => learningRateAt(settings, step, 100))).toEqual([0.004, 0.004, 0.004]);
  });

  it("cosine: from learning_rate at the first step, through half of it halfway, down to 0 at the end (and after)", () => {
    const settings = { ...DEFAULT_TRAINING, learning_rate: 0.004, lr_schedule: "cosine" } as const;
    expect(learningRateAt(settings, 0, 100)).toBe(0.004);
    expect(learningRateAt(settings, 50, 100)).toBeCloseTo(0.002, 15);
    expect(learningRateAt(settings, 100, 100)).toBe(0);
    expect(learningRateAt(settings, 120, 100)).toBe(0);
  });
});
