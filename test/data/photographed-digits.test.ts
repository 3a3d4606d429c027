/**
 * `predict`'s preprocessing on photographed-looking digits: real MNIST test digits drawn in dark ink on
 * off-white paper (#e8e4dc) under uneven light, with noise, thick and thin pens, small and off-centre,
 * saved as PNG and as JPEG. The 28 × 28 input made from each must be the digit MNIST has: close to the
 * original image (correlation > 0.8), its centre of mass within a pixel of (14, 14) as MNIST's are.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { readDigitPicture } from "../../src/data/image.js";
import { asJpeg, asPng, photographed, type PhotoOptions } from "../support/photo.js";
import { mnist } from "../support/small-mnist.js";

const dir = mkdtempSync(join(tmpdir(), "graphnet-photos-"));

/** The first test digits of MNIST, one of each class among them. */
const DIGITS = [0, 1, 2, 3, 4, 7, 8, 11, 18, 61].map((i) => mnist().officialTrainCount + i);

const original = (index: number) => mnist().images.subarray(index * 784, (index + 1) * 784);

export function correlation(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = a.length;
  let [ma, mb] = [0, 0];
  for (let i = 0; i < n; i++) [ma, mb] = [ma + a[i]! / n, mb + b[i]! / n];
  let [ab, aa, bb] = [0, 0, 0];
  for (let i = 0; i < n; i++) {
    ab += (a[i]! - ma) * (b[i]! - mb);
    aa += (a[i]! - ma) ** 2;
    bb += (b[i]! - mb) ** 2;
  }
  return ab / Math.sqrt(aa * bb);
}

/** `pixels` moved by (dx, dy) pixels, zeros coming in. */
function shifted(pixels: ArrayLike<number>, dx: number, dy: number): Float64Array {
  const out = new Float64Array(784);
  for (let y = 0; y < 28; y++)
    for (let x = 0; x < 28; x++) {
      const [sx, sy] = [x - dx, y - dy];
      if (sx >= 0 && sy >= 0 && sx < 28 && sy < 28) out[y * 28 + x] = pixels[sy * 28 + sx]!;
    }
  return out;
}

/**
 * How alike two MNIST-like images are: the correlation of their pixels, the best over shifts of at most
 * a pixel each way. MNIST's rule puts a digit's centre of mass within half a pixel of the centre, so the
 * same digit centred twice by the rule may land a pixel apart.
 */
function likeness(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let best = -1;
  for (const dy of [-1, 0, 1]) for (const dx of [-1, 0, 1]) best = Math.max(best, correlation(shifted(a, dx, dy), b));
  return best;
}

function centreOfMass(pixels: ArrayLike<number>): [number, number] {
  let [mass, x, y] = [0, 0, 0];
  for (let i = 0; i < 784; i++) [mass, x, y] = [mass + pixels[i]!, x + pixels[i]! * (i % 28), y + pixels[i]! * Math.floor(i / 28)];
  return [x / mass, y / mass];
}

const PHOTO: PhotoOptions = { width: 260, height: 220, digitSide: 180, at: [40, 20] };
const CASES: [string, Partial<PhotoOptions>][] = [
  ["on off-white paper", {}],
  ["under uneven light (1.0 → 0.55 across the picture)", { light: [1.05, 0.55] }],
  ["with noise (σ 10 grey levels) under uneven light", { light: [1, 0.6], noise: 10 }],
  ["with a thick pen", { pen: 4, light: [1, 0.7], noise: 5 }],
  ["with a thin pen", { pen: -3, light: [1, 0.7], noise: 5 }],
  ["small (70 px) and off-centre in a 400 × 300 picture", { width: 400, height: 300, digitSide: 70, at: [310, 210], light: [0.9, 0.7], noise: 6 }],
];

describe.each([
  ["PNG", asPng],
  ["JPEG", asJpeg],
] as const)("a photographed digit, as %s, becomes the MNIST digit it shows", (format, encode) => {
  it.each(CASES)("%s", (name, options) => {
    for (const index of DIGITS) {
      const file = join(dir, `${index}-${name.replace(/\W+/g, "-")}.${format.toLowerCase()}`);
      writeFileSync(file, encode(photographed(original(index), { ...PHOTO, ...options, seed: index })));
      const picture = readDigitPicture(file);
      expect(picture.warning, file).toBeUndefined();
      const r = likeness(
        picture.pixels,
        Array.from(original(index), (p) => p / 255),
      );
      expect(r, file).toBeGreaterThan(0.8);
      const [x, y] = centreOfMass(picture.pixels);
      expect(Math.hypot(x - 14, y - 14), file).toBeLessThanOrEqual(1);
    }
  });
});

describe("a photograph of paper with no digit on it", () => {
  const blank = new Uint8Array(784);
  it.each([
    ["PNG", asPng],
    ["JPEG", asJpeg],
  ] as const)("under uneven light, with noise, as %s, is read with a warning and an empty input", (format, encode) => {
    const file = join(dir, `blank.${format.toLowerCase()}`);
    writeFileSync(file, encode(photographed(blank, { ...PHOTO, light: [1.05, 0.55], noise: 10 })));
    const picture = readDigitPicture(file);
    expect(picture.warning).toBe(`${file}: the picture holds no digit (no stroke stands out from its background); the prediction below is for an empty input.`);
    expect(picture.pixels.every((p) => p === 0)).toBe(true);
  });
});
