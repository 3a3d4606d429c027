/**
 * NumPy broadcasting, shared by the elementwise binary ops: the shape rule, and kernels that walk two
 * inputs of broadcast-compatible shapes without allocating while they run.
 */
import { formatShape, sizeOf, type ConcreteShape, type Shape } from "../graph/ir.js";
import { ShapeError, type FloatArray, type Kernel } from "./op.js";

/** Shapes aligned at their last dimension; each pair of dimensions must be equal or one of them 1. */
export function broadcastShapes(a: Shape, b: Shape): Shape {
  const rank = Math.max(a.length, b.length);
  const out: (number | string)[] = [];
  for (let i = 0; i < rank; i++) {
    const da = a[a.length - rank + i] ?? 1;
    const db = b[b.length - rank + i] ?? 1;
    if (da === db || db === 1) out.push(da);
    else if (da === 1) out.push(db);
    else {
      throw new ShapeError(
        `shapes ${formatShape(a)} and ${formatShape(b)} cannot be broadcast together: aligned from the last dimension, ` +
          `each pair of dimensions must be equal or 1, but ${JSON.stringify(da)} meets ${JSON.stringify(db)}.`,
      );
    }
  }
  return out;
}

/**
 * For an input of shape `from` broadcast to `to`, the index into the input of each output element.
 * Computed once per plan; null when no index map is needed (same shape).
 */
export function broadcastIndex(from: ConcreteShape, to: ConcreteShape): Uint32Array | null {
  if (from.length === to.length && from.every((d, i) => d === to[i])) return null;
  const rank = to.length;
  const strides = new Array<number>(rank).fill(0);
  let stride = 1;
  for (let i = rank - 1; i >= 0; i--) {
    const d = from[from.length - rank + i] ?? 1;
    strides[i] = d === 1 ? 0 : stride;
    stride *= d;
  }
  const n = sizeOf(to);
  const index = new Uint32Array(n);
  const counter = new Array<number>(rank).fill(0);
  let offset = 0;
  for (let k = 0; k < n; k++) {
    index[k] = offset;
    for (let i = rank - 1; i >= 0; i--) {
      counter[i]!++;
      offset += strides[i]!;
      if (counter[i]! < to[i]!) break;
      offset -= strides[i]! * counter[i]!;
      counter[i] = 0;
    }
  }
  return index;
}

/** A kernel computing out[k] = f(a[ia(k)], b[ib(k)]) with fast paths for equal shapes and a broadcast suffix (a bias). */
export function binaryKernel(aShape: ConcreteShape, bShape: ConcreteShape, outShape: ConcreteShape, f: (a: number, b: number) => number): Kernel {
  const n = sizeOf(outShape);
  const na = sizeOf(aShape);
  const nb = sizeOf(bShape);
  if (na === n && nb === n) {
    return ([a, b], out) => {
      for (let k = 0; k < n; k++) out[k] = f(a![k]!, b![k]!);
    };
  }
  if (na === n && isSuffixOf(bShape, outShape)) {
    return ([a, b], out) => {
      for (let k = 0; k < n; k += nb) for (let j = 0; j < nb; j++) out[k + j] = f(a![k + j]!, b![j]!);
    };
  }
  if (nb === n && isSuffixOf(aShape, outShape)) {
    return ([a, b], out) => {
      for (let k = 0; k < n; k += na) for (let j = 0; j < na; j++) out[k + j] = f(a![j]!, b![k + j]!);
    };
  }
  const ia = broadcastIndex(aShape, outShape);
  const ib = broadcastIndex(bShape, outShape);
  return ([a, b], out) => {
    for (let k = 0; k < n; k++) out[k] = f(a![ia ? ia[k]! : k]!, b![ib ? ib[k]! : k]!);
  };
}

/** True when `inner`, without leading 1s, equals the trailing dimensions of `outer`. */
function isSuffixOf(inner: ConcreteShape, outer: ConcreteShape): boolean {
  const trimmed = [...inner];
  while (trimmed.length > 0 && trimmed[0] === 1 && trimmed.length > 0) trimmed.shift();
  if (trimmed.length > outer.length) return false;
  const tail = outer.slice(outer.length - trimmed.length);
  return trimmed.every((d, i) => d === tail[i]);
}

/**
 * Sums `input` (of shape `from`) into `out` (of shape `to`, which broadcasts to `from`).
 *
 * Every sum is accumulated in float64 with Neumaier's compensation, whatever the plan's dtype, and
 * rounded once into `out`: summed term by term in float32, 10⁶ terms lose about 5e-4 of their sum (the
 * rounding error grows with the count); in float64 with compensation the error stays near one rounding
 * of the result, for a float64 plan too.
 */
export function sumToKernel(from: ConcreteShape, to: ConcreteShape): Kernel {
  const n = sizeOf(from);
  const m = sizeOf(to);
  if (n === m) {
    return ([x], out) => {
      for (let k = 0; k < n; k++) out[k] = x![k]!;
    };
  }
  // The running sums and their compensations (the low-order parts each addition lost), one per output.
  const sums = new Float64Array(m);
  const lost = new Float64Array(m);
  // A sum that is ±∞ or NaN (an infinite or NaN term, or an overflow) is the plain sum's IEEE value: its
  // compensation, made of ∞ − ∞, is NaN and would turn an infinite sum into NaN.
  const finish = (out: FloatArray) => {
    for (let j = 0; j < m; j++) {
      const s = sums[j]!;
      out[j] = Number.isFinite(s) ? s + lost[j]! : s;
    }
  };
  if (isSuffixOf(to, from)) {
    // The common case: a bias gradient, summing over the batch (and any other leading) axes.
    return ([x], out) => {
      sums.fill(0);
      lost.fill(0);
      for (let k = 0; k < n; k += m) for (let j = 0; j < m; j++) addCompensated(sums, lost, j, x![k + j]!);
      finish(out);
    };
  }
  const index = broadcastIndex(to, from)!;
  return ([x], out) => {
    sums.fill(0);
    lost.fill(0);
    for (let k = 0; k < n; k++) addCompensated(sums, lost, index[k]!, x![k]!);
    finish(out);
  };
}

/** sums[j] += v, what the addition rounds away kept in lost[j] (Neumaier's variant of Kahan summation). */
function addCompensated(sums: Float64Array, lost: Float64Array, j: number, v: number): void {
  const s = sums[j]!;
  const t = s + v;
  lost[j] = lost[j]! + (Math.abs(s) >= Math.abs(v) ? s - t + v : v - t + s);
  sums[j] = t;
}

export type { FloatArray };
