/**
 * Images read when first needed (src/data/deferred-bytes.ts): into an array of their own, or straight into
 * the memory of the model that trains on them, which then holds the only copy — MNIST's 55 MB are not
 * written twice into fresh memory, the costly part of reading them on a virtual machine.
 */
import { describe, expect, it } from "vitest";
import { DeferredBytes } from "../../src/data/deferred-bytes.js";
import { readIdx } from "../../src/data/idx.js";
import { loadMnist } from "../../src/data/mnist.js";
import { Model, loadGraphFile } from "../../src/index.js";
import { writeSmallMnist } from "../support/small-mnist.js";
import { join } from "node:path";

/** Bytes 0, 1, 2, … (mod 256), and the reads made of them. */
function counting(length: number) {
  const reads: { target: Uint8Array; offset: number }[] = [];
  const bytes = new DeferredBytes(length, (target, offset) => {
    reads.push({ target, offset });
    for (let i = 0; i < length; i++) target[offset + i] = i & 255;
  });
  return { bytes, reads };
}

describe("deferred bytes", () => {
  it("are read once, when first asked for, into an array of their own", () => {
    const { bytes, reads } = counting(300);
    expect(reads).toHaveLength(0);
    const first = bytes.bytes;
    expect(bytes.bytes).toBe(first);
    expect(reads).toHaveLength(1);
    expect(first.length).toBe(300);
    expect(first[299]).toBe(299 & 255);
  });

  it("placed before they are read, are read straight into the target, which they are from then on", () => {
    const { bytes, reads } = counting(300);
    const target = new Uint8Array(1_000);
    bytes.placeIn(target, 100);
    expect(reads).toEqual([{ target, offset: 100 }]);
    expect(bytes.bytes.buffer).toBe(target.buffer);
    expect([bytes.bytes.byteOffset, bytes.bytes.length]).toEqual([100, 300]);
    expect(target[100 + 299]).toBe(299 & 255);
  });

  it("placed after they were read, are copied there, and not read again", () => {
    const { bytes, reads } = counting(300);
    const own = bytes.bytes;
    const target = new Uint8Array(1_000);
    bytes.placeIn(target, 8);
    expect(reads).toHaveLength(1);
    expect(bytes.bytes.buffer).toBe(target.buffer);
    expect(Array.from(bytes.bytes)).toEqual(Array.from(own));
  });
});

describe("MNIST's images and a model training on the WebAssembly backend", () => {
  it("are read into the model's memory, the dataset's images a view of them there, the files' bytes", async () => {
    const dir = writeSmallMnist(40, 8);
    const data = loadMnist(dir);
    const model = new Model(loadGraphFile("graphs/mnist.graph.json"), { batchSize: 16, seed: 1, backend: "wasm", threads: 1, data });
    try {
      // A WebAssembly memory's buffer: not an array the loader made.
      expect(data.images.buffer).toBeInstanceOf(SharedArrayBuffer);
      const files = [readIdx(join(dir, "train-images-idx3-ubyte")).data, readIdx(join(dir, "t10k-images-idx3-ubyte")).data];
      expect(Buffer.from(data.images).equals(Buffer.concat(files))).toBe(true);
      expect(data.images.length).toBe(48 * 784);
    } finally {
      await model.close();
    }
  });

  it("are read into an array of their own for a model that keeps no dataset (the reference backend)", async () => {
    const data = loadMnist(writeSmallMnist(40, 8));
    const model = new Model(loadGraphFile("graphs/mnist.graph.json"), { batchSize: 16, seed: 1, backend: "ts", data });
    try {
      expect(data.images.buffer).toBeInstanceOf(ArrayBuffer);
      expect(data.images.length).toBe(48 * 784);
    } finally {
      await model.close();
    }
  });
});
