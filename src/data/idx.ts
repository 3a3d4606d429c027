/**
 * The idx format of MNIST (LeCun's): a big-endian header — magic number, then the size of each
 * dimension — followed by the data as unsigned bytes. Files may be gzipped (`.gz`).
 */
import { existsSync } from "node:fs";
import { readFileNamed } from "../util/fs-errors.js";
import { gunzipSync } from "node:zlib";
import { UserError } from "../graph/errors.js";

const UNSIGNED_BYTE = 0x08;

export interface IdxArray {
  readonly file: string;
  /** Sizes of the dimensions, e.g. [60000, 28, 28] for images, [60000] for labels. */
  readonly dims: readonly number[];
  readonly data: Uint8Array;
}

/** Reads `path`, or `path.gz` when only the gzipped file exists. */
export function readIdx(path: string): IdxArray {
  const file = existsSync(path) ? path : existsSync(`${path}.gz`) ? `${path}.gz` : null;
  if (file === null) throw new UserError(`${path}: no such idx file (nor ${path}.gz).`);
  let bytes: Buffer = readFileNamed(file); // a folder or a missing file is worded as every file-system error
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      bytes = gunzipSync(bytes);
    } catch (err) {
      throw new UserError(`${file}: the file looks gzipped but cannot be decompressed (${(err as Error).message}).`);
    }
  }
  return parseIdx(bytes, file);
}

export function parseIdx(bytes: Uint8Array, file: string): IdxArray {
  if (bytes.length < 4 || bytes[0] !== 0 || bytes[1] !== 0) {
    throw new UserError(`${file}: not an idx file (an idx file starts with two zero bytes, a type byte and the number of dimensions).`);
  }
  if (bytes[2] !== UNSIGNED_BYTE) {
    throw new UserError(`${file}: idx data of type 0x${bytes[2]!.toString(16)} is not supported; expected unsigned bytes (0x08), as in MNIST.`);
  }
  const rank = bytes[3]!;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerBytes = 4 + 4 * rank;
  if (rank === 0 || bytes.length < headerBytes) throw new UserError(`${file}: the idx header is truncated.`);
  const dims = Array.from({ length: rank }, (_, i) => view.getUint32(4 + 4 * i, false));
  const count = dims.reduce((a, b) => a * b, 1);
  // Exactly: a file longer than its header says is as suspect as a shorter one (a header of the wrong
  // dimensions, two files joined), and reading only the announced part would hide it.
  if (bytes.length !== headerBytes + count) {
    const held = bytes.length - headerBytes;
    const why = held < count ? "it is cut short" : `${held - count} byte${held - count === 1 ? "" : "s"} too many`;
    throw new UserError(`${file}: the header announces ${dims.join(" × ")} = ${count} bytes of data, but the file holds ${held} (${why}).`);
  }
  return { file, dims, data: bytes.subarray(headerBytes) };
}
