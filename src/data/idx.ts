/**
 * The idx format of MNIST (LeCun's): a big-endian header — magic number, then the size of each
 * dimension — followed by the data as unsigned bytes. Files may be gzipped (`.gz`).
 */
import { closeSync, existsSync, fstatSync, openSync, readSync } from "node:fs";
import { readFileNamed, reattributed } from "../util/fs-errors.js";
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
  const file = idxFileOf(path);
  // A folder or a missing file is worded as every file-system error.
  return parseIdx(decompressed(readFileNamed(file), file), file);
}

/** An idx file whose header has been read and checked, its data not yet read. */
export interface OpenIdx {
  readonly file: string;
  readonly dims: readonly number[];
  /** Bytes of data: the product of the dimensions. */
  readonly length: number;
  /** Reads the data into `target` from `offset` on. */
  readInto(target: Uint8Array, offset: number): void;
}

/**
 * `path` (or `path.gz`) with its header read and checked as readIdx checks it, so that the data can then
 * be read straight into the caller's buffer: MNIST's 55 MB read into one array and copied into another
 * cost a noticeable share of a short training run. A gzipped file is decompressed at once.
 */
export function openIdx(path: string): OpenIdx {
  const file = idxFileOf(path);
  const size = withFile(file, (fd) => fstatSync(fd).size);
  const head = new Uint8Array(Math.min(size, MAX_HEADER_BYTES));
  withFile(file, (fd) => readFully(fd, head, 0, head.length, 0, file));
  if (head[0] === 0x1f && head[1] === 0x8b) {
    const idx = readIdx(file);
    return { file, dims: idx.dims, length: idx.data.length, readInto: (target, offset) => target.set(idx.data, offset) };
  }
  const { dims, headerBytes, count } = parseIdxHeader(head, size, file);
  return { file, dims, length: count, readInto: (target, offset) => withFile(file, (fd) => readFully(fd, target, offset, count, headerBytes, file)) };
}

/** The largest idx header: the magic number and 255 dimensions. */
const MAX_HEADER_BYTES = 4 + 4 * 255;

function idxFileOf(path: string): string {
  const file = existsSync(path) ? path : existsSync(`${path}.gz`) ? `${path}.gz` : null;
  if (file === null) throw new UserError(`${path}: no such idx file (nor ${path}.gz).`);
  return file;
}

function decompressed(bytes: Buffer, file: string): Buffer {
  if (!(bytes[0] === 0x1f && bytes[1] === 0x8b)) return bytes;
  try {
    return gunzipSync(bytes);
  } catch (err) {
    throw new UserError(`${file}: the file looks gzipped but cannot be decompressed (${(err as Error).message}).`);
  }
}

/** `use` of the file opened for reading; its file-system errors name the file, as readFileNamed's do. */
function withFile<T>(file: string, use: (fd: number) => T): T {
  let fd: number;
  try {
    fd = openSync(file, "r");
  } catch (err) {
    throw reattributed(err, "read", file);
  }
  try {
    return use(fd);
  } catch (err) {
    throw reattributed(err, "read", file);
  } finally {
    closeSync(fd);
  }
}

function readFully(fd: number, target: Uint8Array, offset: number, length: number, position: number, file: string): void {
  for (let done = 0; done < length;) {
    const read = readSync(fd, target, offset + done, length - done, position + done);
    if (read === 0) throw new UserError(`${file}: the file ended while it was read; was it being written?`);
    done += read;
  }
}

export function parseIdx(bytes: Uint8Array, file: string): IdxArray {
  const { dims, headerBytes } = parseIdxHeader(bytes, bytes.length, file);
  return { file, dims, data: bytes.subarray(headerBytes) };
}

/** The header at the start of an idx file of `length` bytes, checked against that length. */
function parseIdxHeader(bytes: Uint8Array, length: number, file: string): { dims: number[]; headerBytes: number; count: number } {
  if (bytes.length < 4 || bytes[0] !== 0 || bytes[1] !== 0) {
    throw new UserError(`${file}: not an idx file (an idx file starts with two zero bytes, a type byte and the number of dimensions).`);
  }
  if (bytes[2] !== UNSIGNED_BYTE) {
    throw new UserError(`${file}: idx data of type 0x${bytes[2]!.toString(16)} is not supported; expected unsigned bytes (0x08), as in MNIST.`);
  }
  const rank = bytes[3]!;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerBytes = 4 + 4 * rank;
  if (rank === 0 || length < headerBytes) throw new UserError(`${file}: the idx header is truncated.`);
  const dims = Array.from({ length: rank }, (_, i) => view.getUint32(4 + 4 * i, false));
  const count = dims.reduce((a, b) => a * b, 1);
  // Exactly: a file longer than its header says is as suspect as a shorter one (a header of the wrong
  // dimensions, two files joined), and reading only the announced part would hide it.
  if (length !== headerBytes + count) {
    const held = length - headerBytes;
    const why = held < count ? "it is cut short" : `${held - count} byte${held - count === 1 ? "" : "s"} too many`;
    throw new UserError(`${file}: the header announces ${dims.join(" × ")} = ${count} bytes of data, but the file holds ${held} (${why}).`);
  }
  return { dims, headerBytes, count };
}
