import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { UserError } from "../../src/graph/errors.js";
import { parseIdx, readIdx } from "../../src/data/idx.js";
import { loadMnist } from "../../src/data/mnist.js";

function idxBytes(dims: number[], data: number[]): Uint8Array {
  const header = new DataView(new ArrayBuffer(4 + 4 * dims.length));
  header.setUint8(2, 0x08);
  header.setUint8(3, dims.length);
  dims.forEach((d, i) => header.setUint32(4 + 4 * i, d, false));
  return new Uint8Array([...new Uint8Array(header.buffer), ...data]);
}

describe("idx files", () => {
  it("reads dimensions and bytes, plain or gzipped (found as NAME.gz)", () => {
    const dir = mkdtempSync(join(tmpdir(), "graphnet-idx-"));
    const bytes = idxBytes([2, 2, 3], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 255]);
    writeFileSync(join(dir, "plain"), bytes);
    writeFileSync(join(dir, "zipped.gz"), gzipSync(bytes));
    for (const name of ["plain", "zipped"]) {
      const idx = readIdx(join(dir, name));
      expect(idx.dims).toEqual([2, 2, 3]);
      expect([...idx.data]).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 255]);
    }
  });

  it.each([
    ["not idx", new Uint8Array([1, 2, 3, 4, 5]), /not an idx file/],
    ["floats", new Uint8Array([0, 0, 0x0d, 1, 0, 0, 0, 1, 0, 0, 0, 0]), /type 0xd is not supported/],
    ["truncated data", idxBytes([10], [1, 2, 3]), /announces 10 = 10 bytes of data, but the file holds 3/],
  ])("rejects %s with a message naming the file", (_name, bytes, message) => {
    expect(() => parseIdx(bytes, "some/file")).toThrow(UserError);
    expect(() => parseIdx(bytes, "some/file")).toThrow(message);
  });

  it("a missing file names the path", () => {
    expect(() => readIdx("/no/such/train-images-idx3-ubyte")).toThrow(/\/no\/such\/train-images-idx3-ubyte: no such idx file/);
  });
});

describe("the bundled MNIST", () => {
  it("holds 70,000 images of 28 × 28 in 10 classes, training file first", () => {
    const mnist = loadMnist();
    expect(mnist.count).toBe(70_000);
    expect(mnist.features).toBe(784);
    expect(mnist.side).toBe(28);
    expect(mnist.classes).toBe(10);
    expect(mnist.officialTrainCount).toBe(60_000);
    expect(mnist.images.length).toBe(70_000 * 784);
    expect(mnist.labels[0]).toBe(5); // MNIST's first training image is a 5
    // About 19 % of MNIST's pixels are nonzero.
    const nonzero = mnist.images.reduce((n, p) => n + (p > 0 ? 1 : 0), 0) / mnist.images.length;
    expect(nonzero).toBeGreaterThan(0.17);
    expect(nonzero).toBeLessThan(0.21);
  });
});
