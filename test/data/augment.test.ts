import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { augmentBatch, checkAugmentable, transform } from "../../src/data/augment.js";
import { loadMnist } from "../../src/data/mnist.js";
import { UserError } from "../../src/graph/errors.js";
import { startSession } from "../../src/train/session.js";
import { Random } from "../../src/util/random.js";
import { writeSmallMnist } from "../support/small-mnist.js";

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

describe("augmentation on images that are not square pictures", () => {
  it.each<[string, number[], RegExp]>([
    [
      "rows of values (rank-2 idx data)",
      [784],
      /these images are rows of 784 values \(the idx file is count × 784\), not 2-D pictures\. Train without augmentation/,
    ],
    ["28 × 14 pictures", [28, 14], /these images are 28 × 14 pictures, not square ones/],
    ["28 × 28 × 3 arrays", [28, 28, 3], /these images are 28 × 28 × 3 arrays, not 2-D pictures/],
  ])("%s are refused, naming the data", (_name, imageShape, message) => {
    const check = () => checkAugmentable({ imageShape, side: 0, source: "my/data" });
    expect(check).toThrow(UserError);
    expect(check).toThrow(/^my\/data: data augmentation \(--augment, use_data_augmentation\) shifts and rotates square pictures/);
    expect(check).toThrow(message);
  });

  it("square pictures are augmented", () => {
    expect(() => checkAugmentable(loadMnist(writeSmallMnist(20, 10)))).not.toThrow();
  });

  it("train with augmentation on rank-2 idx data is refused before the run folder is made", () => {
    const dataDir = writeSmallMnist(200, 50, false, true);
    expect(loadMnist(dataDir).imageShape).toEqual([784]);
    const outDir = join(mkdtempSync(join(tmpdir(), "graphnet-augment-")), "run");
    const start = () => startSession({ graphFile: "graphs/mnist.graph.json", dataDir, outDir, overrides: { use_data_augmentation: true } });
    expect(start).toThrow(/these images are rows of 784 values/);
    expect(existsSync(outDir)).toBe(false);
    // Without augmentation the same data trains.
    expect(startSession({ graphFile: "graphs/mnist.graph.json", dataDir, outDir, overrides: {} }).data.side).toBe(0);
  });
});
