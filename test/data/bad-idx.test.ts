/**
 * Data folders with one idx file damaged each way a file can be: refused when loaded, in one line that
 * names the file and says what its header announced against what it holds. An idx file holds exactly the
 * bytes its header announces: neither fewer nor more.
 */
import { cpSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { loadMnist } from "../../src/data/mnist.js";
import { writeSmallMnist } from "../support/small-mnist.js";
import { expectRefusal } from "../support/refusal.js";

function idx(dims: number[], data: Uint8Array | number[] = new Uint8Array(dims.reduce((a, b) => a * b, 1)), type = 0x08): Uint8Array {
  const header = new DataView(new ArrayBuffer(4 + 4 * dims.length));
  header.setUint8(2, type);
  header.setUint8(3, dims.length);
  dims.forEach((d, i) => header.setUint32(4 + 4 * i, d, false));
  return new Uint8Array([...new Uint8Array(header.buffer), ...data]);
}

let sound: string;
beforeAll(() => {
  sound = writeSmallMnist(20, 10);
});

let folders = 0;
/** The sound data folder with `name` replaced by `bytes`; loaded, it must be refused naming that file. */
function refusal(name: string, bytes: Uint8Array): string {
  const dir = join(mkdtempSync(join(tmpdir(), "graphnet-bad-idx-")), `data-${++folders}`);
  cpSync(sound, dir, { recursive: true });
  writeFileSync(join(dir, name), bytes);
  return expectRefusal(() => loadMnist(dir), join(dir, name));
}

const IMAGES = "train-images-idx3-ubyte";
const LABELS = "train-labels-idx1-ubyte";
const TEST_IMAGES = "t10k-images-idx3-ubyte";

describe("an idx file that does not hold what its header announces", () => {
  it("one byte too many is refused", () => {
    expect(refusal(LABELS, idx([20], new Uint8Array(21)))).toMatch(
      /: the header announces 20 = 20 bytes of data, but the file holds 21 \(1 byte too many\)\.$/,
    );
  });

  it("images followed by another file's bytes are refused", () => {
    expect(refusal(IMAGES, idx([20, 28, 28], new Uint8Array(20 * 784 + 16)))).toMatch(
      /announces 20 × 28 × 28 = 15680 bytes of data, but the file holds 15696 \(16 bytes too many\)/,
    );
  });

  it("a file cut short is refused", () => {
    expect(refusal(IMAGES, idx([20, 28, 28], new Uint8Array(1000)))).toMatch(
      /announces 20 × 28 × 28 = 15680 bytes of data, but the file holds 1000 \(it is cut short\)/,
    );
  });

  it("a few bytes claiming 2³² − 1 images are refused, not allocated", () => {
    expect(refusal(IMAGES, idx([2 ** 32 - 1, 28, 28], new Uint8Array(8)))).toMatch(
      /announces 4294967295 × 28 × 28 = 3367254359280 bytes of data, but the file holds 8 \(it is cut short\)/,
    );
  });
});

describe("a file that is not idx, or not MNIST's kind", () => {
  it.each<[string, string, Uint8Array, RegExp]>([
    ["an empty file", LABELS, new Uint8Array(0), /not an idx file/],
    ["text", LABELS, new TextEncoder().encode("label,image\n"), /not an idx file/],
    ["float data", IMAGES, idx([20, 28, 28], new Uint8Array(4 * 20 * 784), 0x0d), /idx data of type 0xd is not supported; expected unsigned bytes \(0x08\)/],
    ["no dimensions", LABELS, idx([]), /the idx header is truncated/],
    ["a header cut short", IMAGES, idx([20, 28, 28]).subarray(0, 10), /the idx header is truncated/],
    ["a gzip stream that is damaged", LABELS, new Uint8Array([0x1f, 0x8b, 8, 0, 1, 2, 3, 4]), /looks gzipped but cannot be decompressed/],
    ["images of one dimension", IMAGES, idx([15680]), /expected images \(at least 2 dimensions: count × pixels\), got 1/],
    ["labels of two dimensions", LABELS, idx([20, 1]), /expected labels \(1 dimension\), got 2/],
    ["fewer labels than images", LABELS, idx([19]), /holds 19 labels for the 20 images of/],
    ["test images of another size than the training images", TEST_IMAGES, idx([10, 14, 14]), /its images have 196 pixels, but those of .* have 784/],
  ])("%s is refused", (_name, file, bytes, message) => {
    expect(refusal(file, bytes)).toMatch(message);
  });
});

describe("a sound data folder", () => {
  it("loads", () => {
    const data = loadMnist(sound);
    expect([data.count, data.features, data.officialTrainCount]).toEqual([30, 784, 20]);
  });
});
