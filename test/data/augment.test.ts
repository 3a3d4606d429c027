import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { augmentBatch, checkAugmentable, drawAugmentation, transform } from "../../src/data/augment.js";
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

  /** A random square picture of side 1 to 12, in MNIST's steps of 1/255. */
  const picture = fc
    .integer({ min: 1, max: 12 })
    .chain((n) => fc.array(fc.integer({ min: 0, max: 255 }), { minLength: n * n, maxLength: n * n }).map((v) => ({ n, data: v.map((k) => k / 255) })));
  /** The picture moved by (dx, dy) pixels, written out: what comes from outside the frame is black. */
  const naiveShift = (get: (row: number, col: number) => number, n: number, dx: number, dy: number) =>
    Array.from({ length: n * n }, (_, k) => {
      const [row, col] = [Math.floor(k / n) - dy, (k % n) - dx];
      return row >= 0 && row < n && col >= 0 && col < n ? get(row, col) : 0;
    });

  it("a whole-pixel shift by (dx, dy) moves every pixel by exactly (dx, dy), whatever the picture", () => {
    fc.assert(
      fc.property(picture, fc.integer({ min: -13, max: 13 }), fc.integer({ min: -13, max: 13 }), ({ n, data }, dx, dy) => {
        const out = new Float64Array(n * n);
        transform(data, out, n, dx, dy, 0);
        expect(Array.from(out)).toEqual(naiveShift((row, col) => data[row * n + col]!, n, dx, dy));
      }),
      { numRuns: 300 },
    );
  });

  it("a rotation by a multiple of 90° about the centre, then a shift, moves every pixel where the naive quarter turn does", () => {
    // With x to the right and y down, +90° sends (row, col) to (col, n−1−row): read back, out(r, c) = in(n−1−c, r).
    const quarter: Record<string, (row: number, col: number, n: number) => [number, number]> = {
      "90": (r, c, n) => [n - 1 - c, r],
      "180": (r, c, n) => [n - 1 - r, n - 1 - c],
      "270": (r, c, n) => [c, n - 1 - r],
      "-90": (r, c, n) => [c, n - 1 - r],
    };
    fc.assert(
      fc.property(
        picture,
        fc.constantFrom("90", "180", "270", "-90"),
        fc.integer({ min: -3, max: 3 }),
        fc.integer({ min: -3, max: 3 }),
        ({ n, data }, degrees, dx, dy) => {
          const out = new Float64Array(n * n);
          transform(data, out, n, dx, dy, (Number(degrees) * Math.PI) / 180);
          const turned = (row: number, col: number) => {
            const [r, c] = quarter[degrees]!(row, col, n);
            return data[r * n + c]!;
          };
          const expected = naiveShift(turned, n, dx, dy);
          // cos(π/2) is 6e-17, not 0: the sampled point is off the pixel by as much, and bilinear weights mix in its neighbours by as much.
          for (let k = 0; k < n * n; k++) {
            if (!(Math.abs(out[k]! - expected[k]!) <= 1e-12)) expect.fail(`${degrees}°, (${dx}, ${dy}), pixel ${k}: ${out[k]}, expected ${expected[k]}`);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it("a rotation by θ and a shift turn a smooth, elongated, off-centre blob into the blob turned by θ about the centre and shifted", () => {
    // f(x, y) = exp(−u²/2σ₁² − v²/2σ₂²), u along the blob's long axis at angle `tilt` (x to the right, y down).
    const n = 40;
    const c = (n - 1) / 2;
    const [s1, s2] = [4, 2];
    const blob = (x: number, y: number, bx: number, by: number, tilt: number) => {
      const u = (x - bx) * Math.cos(tilt) + (y - by) * Math.sin(tilt);
      const v = -(x - bx) * Math.sin(tilt) + (y - by) * Math.cos(tilt);
      return Math.exp(-(u * u) / (2 * s1 * s1) - (v * v) / (2 * s2 * s2));
    };
    /** Mass, centroid and the angle of the long axis (from the second moments). */
    const moments = (img: ArrayLike<number>) => {
      let [m, sx, sy] = [0, 0, 0];
      for (let k = 0; k < n * n; k++) [m, sx, sy] = [m + img[k]!, sx + img[k]! * (k % n), sy + img[k]! * Math.floor(k / n)];
      const [mx, my] = [sx / m, sy / m];
      let [xx, yy, xy] = [0, 0, 0];
      for (let k = 0; k < n * n; k++) {
        const [x, y] = [(k % n) - mx, Math.floor(k / n) - my];
        [xx, yy, xy] = [xx + img[k]! * x * x, yy + img[k]! * y * y, xy + img[k]! * x * y];
      }
      return { m, mx, my, axis: Math.atan2(2 * xy, xx - yy) / 2 };
    };
    // Bilinear interpolation is off by at most (1/8)(max|f_xx| + max|f_yy|) ≤ 1/(4σ₂²); the blob's tail cut at
    // the frame (at least 12 pixels from its centre) adds less than 0.01.
    const pixelBound = 1 / (4 * s2 * s2) + 0.01;
    fc.assert(
      fc.property(
        fc.double({ min: -Math.PI / 4, max: Math.PI / 4, noNaN: true }),
        fc.integer({ min: -2, max: 2 }),
        fc.integer({ min: -2, max: 2 }),
        fc.double({ min: 0, max: Math.PI, noNaN: true }),
        fc.double({ min: 0, max: 2 * Math.PI, noNaN: true }),
        fc.double({ min: 3, max: 5, noNaN: true }),
        (theta, dx, dy, tilt, where, radius) => {
          const [bx, by] = [c + radius * Math.cos(where), c + radius * Math.sin(where)];
          const img = Float64Array.from({ length: n * n }, (_, k) => blob(k % n, Math.floor(k / n), bx, by, tilt));
          const out = new Float64Array(n * n);
          transform(img, out, n, dx, dy, theta);
          // The blob's centre turned by θ about the frame's centre (x to the right, y down), then shifted.
          const tx = Math.cos(theta) * (bx - c) - Math.sin(theta) * (by - c) + c + dx;
          const ty = Math.sin(theta) * (bx - c) + Math.cos(theta) * (by - c) + c + dy;
          for (let k = 0; k < n * n; k++) {
            const want = blob(k % n, Math.floor(k / n), tx, ty, tilt + theta);
            if (!(Math.abs(out[k]! - want) <= pixelBound)) expect.fail(`pixel (${Math.floor(k / n)}, ${k % n}): ${out[k]}, the turned blob ${want}`);
          }
          const [before, after] = [moments(img), moments(out)];
          expect(Math.abs(after.m / before.m - 1), "mass").toBeLessThan(0.005);
          expect(Math.hypot(after.mx - tx, after.my - ty), "centroid, in pixels").toBeLessThan(0.02);
          const turn = after.axis - before.axis - theta;
          // An axis has no direction: compare angles modulo 180°.
          expect(Math.abs(Math.atan2(Math.sin(2 * turn), Math.cos(2 * turn)) / 2), "long axis, in radians").toBeLessThan((0.5 * Math.PI) / 180);
        },
      ),
      { numRuns: 100 },
    );
  });

  it("draws whole shifts within ±maxShift and angles within ±maxRotation degrees, and uses the whole of both ranges", () => {
    for (const [settings, seed] of [
      [{ maxShift: 0, maxRotation: 0 }, 1],
      [{ maxShift: 1, maxRotation: 5 }, 2],
      [{ maxShift: 2, maxRotation: 10 }, 3],
      [{ maxShift: 3, maxRotation: 30 }, 4],
    ] as const) {
      const random = new Random(seed);
      const limit = (settings.maxRotation * Math.PI) / 180;
      const shifts = [new Set<number>(), new Set<number>()];
      let [low, high] = [0, 0];
      for (let i = 0; i < 5000; i++) {
        const { dx, dy, angle } = drawAugmentation(random, settings);
        [dx, dy].forEach((d, axis) => {
          if (!(Number.isInteger(d) && Math.abs(d) <= settings.maxShift)) expect.fail(`shift ${d} with maxShift ${settings.maxShift}`);
          shifts[axis]!.add(d);
        });
        if (!(Math.abs(angle) <= limit)) expect.fail(`angle ${angle} rad with maxRotation ${settings.maxRotation}°`);
        [low, high] = [Math.min(low, angle), Math.max(high, angle)];
      }
      // Every whole shift from −maxShift to maxShift, along each axis.
      for (const axis of shifts)
        expect([...axis].sort((a, b) => a - b)).toEqual(Array.from({ length: 2 * settings.maxShift + 1 }, (_, i) => i - settings.maxShift));
      // Both ends of the range are reached (5000 uniform draws all within 99 % of one side: probability 0.995⁵⁰⁰⁰ ≈ 1e-11).
      expect(high).toBeGreaterThanOrEqual(0.99 * limit);
      expect(low).toBeLessThanOrEqual(-0.99 * limit);
    }
  });

  it("augments each row of a batch by the transform drawn for it, in order", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 10 }),
        fc.integer({ min: 1, max: 6 }),
        fc.nat(),
        fc.integer({ min: 0, max: 3 }),
        fc.integer({ min: 0, max: 30 }),
        (n, rows, seed, maxShift, maxRotation) => {
          const settings = { maxShift, maxRotation };
          const x = Float32Array.from({ length: rows * n * n }, (_, k) => ((k * 2_654_435_761) >>> 24) / 255);
          const expected = new Float32Array(x.length);
          const draws = new Random(seed);
          for (let r = 0; r < rows; r++) {
            const { dx, dy, angle } = drawAugmentation(draws, settings);
            transform(x.subarray(r * n * n, (r + 1) * n * n), expected.subarray(r * n * n, (r + 1) * n * n), n, dx, dy, angle);
          }
          augmentBatch(x, rows, n, new Random(seed), settings, new Float64Array(n * n));
          expect(Array.from(x)).toEqual(Array.from(expected));
        },
      ),
      { numRuns: 200 },
    );
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
