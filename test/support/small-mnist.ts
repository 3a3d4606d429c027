/** A small MNIST in a temporary directory, in the idx layout `--data DIR` reads: real digits, few of them. */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { loadMnist, type Dataset } from "../../src/data/mnist.js";

let bundled: Dataset | undefined;

/** The bundled MNIST, loaded once per test file (unzipping it takes the best part of a second); not to be modified. */
export function mnist(): Dataset {
  bundled ??= loadMnist();
  return bundled;
}

function idx(dims: number[], data: Uint8Array): Uint8Array {
  const header = new DataView(new ArrayBuffer(4 + 4 * dims.length));
  header.setUint8(2, 0x08);
  header.setUint8(3, dims.length);
  dims.forEach((d, i) => header.setUint32(4 + 4 * i, d, false));
  const out = new Uint8Array(header.byteLength + data.length);
  out.set(new Uint8Array(header.buffer));
  out.set(data, header.byteLength);
  return out;
}

/**
 * The first `train` images of MNIST's training file and the first `test` of its test file; gzipped when
 * asked; with `rows`, each image stored as a row of 784 values (idx files of count × 784) instead of 28 × 28.
 */
export function writeSmallMnist(train = 500, test = 100, gzip = false, rows = false): string {
  const data = mnist();
  const dir = mkdtempSync(join(tmpdir(), "graphnet-small-mnist-"));
  const write = (name: string, bytes: Uint8Array) => writeFileSync(join(dir, gzip ? `${name}.gz` : name), gzip ? gzipSync(bytes) : bytes);
  const f = data.features;
  const testStart = data.officialTrainCount;
  const image = rows ? [784] : [28, 28];
  write("train-images-idx3-ubyte", idx([train, ...image], data.images.subarray(0, train * f)));
  write("train-labels-idx1-ubyte", idx([train], data.labels.subarray(0, train)));
  write("t10k-images-idx3-ubyte", idx([test, ...image], data.images.subarray(testStart * f, (testStart + test) * f)));
  write("t10k-labels-idx1-ubyte", idx([test], data.labels.subarray(testStart, testStart + test)));
  return dir;
}
