/** .npy and .npz files written as numpy.save and numpy.savez write them, for tests of the readers. */
import { zipSync } from "fflate";

const ARRAYS = {
  "<f4": Float32Array,
  "<f8": Float64Array,
  "|u1": Uint8Array,
  "|i1": Int8Array,
  "<i4": Int32Array,
} as const;

export type Descr = keyof typeof ARRAYS | "<i8";

/**
 * An .npy file of `values` (in C order, or laid out in Fortran order when `fortran`): the magic, version
 * 1.0, the header dict padded with spaces to a multiple of 64 bytes and ended by a newline, the data.
 */
export function npy(descr: Descr, shape: readonly number[], values: ArrayLike<number>, fortran = false): Uint8Array {
  const tuple = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(", ")})`;
  const dict = `{'descr': '${descr}', 'fortran_order': ${fortran ? "True" : "False"}, 'shape': ${tuple}, }`;
  const unpadded = 10 + dict.length + 1;
  const header = dict + " ".repeat((64 - (unpadded % 64)) % 64) + "\n";
  const ordered = fortran ? fortranOrder(values, shape) : Array.from(values);
  const data = descr === "<i8" ? new Uint8Array(BigInt64Array.from(ordered, (v) => BigInt(v)).buffer) : new Uint8Array(ARRAYS[descr].from(ordered).buffer);
  const out = new Uint8Array(10 + header.length + data.length);
  out.set([0x93, ..."NUMPY"].map((c) => (typeof c === "number" ? c : c.charCodeAt(0))));
  out.set([1, 0, header.length & 0xff, header.length >> 8], 6);
  out.set(new TextEncoder().encode(header), 10);
  out.set(data, 10 + header.length);
  return out;
}

/** An .npz of the arrays, as numpy.savez(file, name=array, …) writes it. */
export function npz(arrays: Record<string, Uint8Array>): Uint8Array {
  return zipSync(Object.fromEntries(Object.entries(arrays).map(([name, bytes]) => [`${name}.npy`, bytes])));
}

/** Values of a 2-D C-order array, laid out column by column. */
function fortranOrder(values: ArrayLike<number>, shape: readonly number[]): number[] {
  const [rows, cols] = shape as [number, number];
  const out: number[] = [];
  for (let c = 0; c < cols; c++) for (let r = 0; r < rows; r++) out.push(values[r * cols + c]!);
  return out;
}
