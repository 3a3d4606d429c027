/**
 * NumPy's .npy format (numpy.lib.format): the magic "\x93NUMPY", a version, the length of a header, the
 * header — a Python dict literal {'descr': '<f4', 'fortran_order': False, 'shape': (150, 4), } — and the
 * data. Read here: little-endian floats (float32, float64) and integers (int8–64, uint8–64), in C or
 * Fortran order; anything else is refused with one line naming the file.
 */
import { UserError } from "../graph/errors.js";

export interface NpyArray {
  /** The file (or, inside an .npz, "data.npz: x.npy"), for messages. */
  readonly file: string;
  readonly shape: readonly number[];
  /** NumPy's name of the dtype, for messages: "float32", "int64", … */
  readonly dtype: string;
  /** Whether the dtype is an integer one. */
  readonly integer: boolean;
  /** The values, in C (row-major) order whatever the file's order; integers beyond 2^53 lose precision. */
  readonly values: Float64Array;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

/** The dtypes read: NumPy's descr without its byte-order character, and how to read one element. */
const DTYPES: Record<string, { name: string; bytes: number; integer: boolean; read: (view: DataView, at: number) => number }> = {
  f4: { name: "float32", bytes: 4, integer: false, read: (v, at) => v.getFloat32(at, true) },
  f8: { name: "float64", bytes: 8, integer: false, read: (v, at) => v.getFloat64(at, true) },
  i1: { name: "int8", bytes: 1, integer: true, read: (v, at) => v.getInt8(at) },
  i2: { name: "int16", bytes: 2, integer: true, read: (v, at) => v.getInt16(at, true) },
  i4: { name: "int32", bytes: 4, integer: true, read: (v, at) => v.getInt32(at, true) },
  i8: { name: "int64", bytes: 8, integer: true, read: (v, at) => Number(v.getBigInt64(at, true)) },
  u1: { name: "uint8", bytes: 1, integer: true, read: (v, at) => v.getUint8(at) },
  u2: { name: "uint16", bytes: 2, integer: true, read: (v, at) => v.getUint16(at, true) },
  u4: { name: "uint32", bytes: 4, integer: true, read: (v, at) => v.getUint32(at, true) },
  u8: { name: "uint64", bytes: 8, integer: true, read: (v, at) => Number(v.getBigUint64(at, true)) },
};

const SUPPORTED = "float32, float64, int8–int64 or uint8–uint64, little-endian";

/** The array that `bytes`, the content of `file`, holds. */
export function parseNpy(bytes: Uint8Array, file: string): NpyArray {
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b)) {
    throw new UserError(`${file}: not a NumPy .npy file (it does not start with "\\x93NUMPY"); save arrays with numpy.save.`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const major = bytes[6]!;
  if (major < 1 || major > 3) throw new UserError(`${file}: .npy format version ${major} is not supported (1, 2 or 3 are).`);
  const [lengthBytes, headerLength] = major === 1 ? [2, view.getUint16(8, true)] : [4, bytes.length >= 12 ? view.getUint32(8, true) : Infinity];
  const dataStart = 8 + lengthBytes + headerLength;
  if (dataStart > bytes.length) throw new UserError(`${file}: the .npy header is cut short.`);
  const header = new TextDecoder(major === 3 ? "utf-8" : "latin1").decode(bytes.subarray(8 + lengthBytes, dataStart));
  const { descr, fortranOrder, shape } = parseHeader(header, file);
  const order = descr[0]!;
  const dtype = DTYPES[descr.slice(1)];
  if (!dtype || !(order === "<" || order === "|" || (order === "=" && dtype.bytes === 1))) {
    const why = order === ">" && dtype ? `big-endian ${dtype.name}` : `dtype '${descr}'`;
    throw new UserError(`${file}: holds ${why}; graphnet reads ${SUPPORTED} (in NumPy: a.astype("<f4")).`);
  }
  const count = shape.reduce((a, b) => a * b, 1);
  const held = bytes.length - dataStart;
  if (held !== count * dtype.bytes) {
    throw new UserError(
      `${file}: the header announces shape (${shape.join(", ")}) of ${dtype.name}, ${count * dtype.bytes} bytes of data, but the file holds ${held}.`,
    );
  }
  const values = new Float64Array(count);
  for (let i = 0; i < count; i++) values[i] = dtype.read(view, dataStart + i * dtype.bytes);
  return { file, shape, dtype: dtype.name, integer: dtype.integer, values: fortranOrder ? toCOrder(values, shape) : values };
}

/** The header's three keys, from its Python literal (the only form numpy.save writes). */
function parseHeader(header: string, file: string): { descr: string; fortranOrder: boolean; shape: number[] } {
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(header)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) {
    throw new UserError(`${file}: the .npy header ${JSON.stringify(header.trim())} lacks 'descr', 'fortran_order' or 'shape'.`);
  }
  const parts = shapeText
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
  if (!parts.every((s) => /^\d+L?$/.test(s))) throw new UserError(`${file}: the .npy header's shape (${shapeText}) is not a tuple of sizes.`);
  return { descr, fortranOrder: fortran === "True", shape: parts.map((s) => Number.parseInt(s, 10)) };
}

/** Values stored in Fortran (column-major) order, rearranged into C (row-major) order. */
function toCOrder(values: Float64Array, shape: readonly number[]): Float64Array {
  if (shape.length < 2) return values;
  const out = new Float64Array(values.length);
  const rank = shape.length;
  const index = new Array<number>(rank).fill(0);
  // Walk the elements in Fortran order (first index fastest), writing each where C order puts it.
  for (let f = 0; f < values.length; f++) {
    let c = 0;
    for (let d = 0; d < rank; d++) c = c * shape[d]! + index[d]!;
    out[c] = values[f]!;
    for (let d = 0; d < rank; d++) {
      if (++index[d]! < shape[d]!) break;
      index[d] = 0;
    }
  }
  return out;
}
