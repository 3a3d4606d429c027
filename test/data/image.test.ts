import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PNG } from "pngjs";
import { describe, expect, it } from "vitest";
import { readDigitPng } from "../../src/data/image.js";
import { loadMnist } from "../../src/data/mnist.js";
import { UserError } from "../../src/graph/errors.js";

/** An MNIST digit drawn as a person might: dark ink on white, 3× larger, off-centre in a 120 × 100 picture. */
function pictureOf(pixels: Uint8Array): string {
  const png = new PNG({ width: 120, height: 100 });
  png.data.fill(255);
  for (let y = 0; y < 84; y++)
    for (let x = 0; x < 84; x++) {
      const v = 255 - pixels[Math.floor(y / 3) * 28 + Math.floor(x / 3)]!;
      const at = 4 * ((y + 10) * 120 + (x + 30));
      png.data[at] = png.data[at + 1] = png.data[at + 2] = v;
    }
  const file = join(mkdtempSync(join(tmpdir(), "graphnet-png-")), "digit.png");
  writeFileSync(file, PNG.sync.write(png));
  return file;
}

function correlation(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = a.length;
  const mean = (v: ArrayLike<number>) => Array.from(v).reduce((s, x) => s + x, 0) / n;
  const [ma, mb] = [mean(a), mean(b)];
  let ab = 0,
    aa = 0,
    bb = 0;
  for (let i = 0; i < n; i++) {
    ab += (a[i]! - ma) * (b[i]! - mb);
    aa += (a[i]! - ma) ** 2;
    bb += (b[i]! - mb) ** 2;
  }
  return ab / Math.sqrt(aa * bb);
}

describe("a PNG picture of a digit becomes an MNIST-like input", () => {
  const mnist = loadMnist();
  it.each([0, 1, 2, 3, 60_000])("MNIST image %i, inverted, enlarged and moved, comes back close to itself", (index) => {
    const original = mnist.images.subarray(index * 784, (index + 1) * 784);
    const input = readDigitPng(pictureOf(original));
    expect(input).toHaveLength(784);
    expect(Math.max(...input)).toBeLessThanOrEqual(1);
    expect(Math.min(...input)).toBeGreaterThanOrEqual(0);
    expect(
      correlation(
        input,
        Array.from(original, (p) => p / 255),
      ),
    ).toBeGreaterThan(0.85);
  });

  it("a file that is not a PNG is refused, naming it", () => {
    const file = join(mkdtempSync(join(tmpdir(), "graphnet-png-")), "digit.png");
    writeFileSync(file, "not an image");
    expect(() => readDigitPng(file)).toThrow(UserError);
    expect(() => readDigitPng(file)).toThrow(/digit\.png: cannot read the digit: it is not a PNG image/);
  });
});
