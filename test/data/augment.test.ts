import { describe, expect, it } from "vitest";
import { augmentBatch, transform } from "../../src/data/augment.js";
import { Random } from "../../src/util/random.js";

const side = 7;
function image(): Float64Array {
  const img = new Float64Array(side * side);
  img[2 * side + 3] = 1; // one bright pixel at row 2, column 3
  img[4 * side + 4] = 0.5;
  return img;
}

describe("augmentation", () => {
  it("a whole-pixel shift moves every pixel, filling with black", () => {
    const out = new Float64Array(side * side);
    transform(image(), out, side, 1, 2, 0);
    expect(out[4 * side + 4]).toBeCloseTo(1, 12); // (2,3) → (4,4)
    expect(out[6 * side + 5]).toBeCloseTo(0.5, 12); // (4,4) → (6,5)
    expect(out.reduce((a, b) => a + b, 0)).toBeCloseTo(1.5, 12);
  });

  it("a rotation by 90° about the centre maps (row, col) to (col, side−1−row)", () => {
    const out = new Float64Array(side * side);
    transform(image(), out, side, 0, 0, Math.PI / 2);
    // With x to the right and y down, +90° sends the pixel at (row 2, col 3) to (row 3, col 4).
    const bright = out.indexOf(Math.max(...out));
    expect([Math.floor(bright / side), bright % side]).toEqual([3, 4]);
  });

  it("is seeded: the same seed gives the same batch, another seed another", () => {
    const batch = () => {
      const x = new Float32Array(3 * side * side);
      for (let r = 0; r < 3; r++) x.set(image(), r * side * side);
      return x;
    };
    const run = (seed: number) => {
      const x = batch();
      augmentBatch(x, 3, side, new Random(seed), { maxShift: 2, maxRotation: 10 }, new Float64Array(side * side));
      return [...x];
    };
    expect(run(1)).toEqual(run(1));
    expect(run(1)).not.toEqual(run(2));
    expect(run(1)).not.toEqual([...batch()]);
  });
});
