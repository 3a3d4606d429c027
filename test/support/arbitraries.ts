/** fast-check arbitraries of shapes and tensors shared by the op tests. */
import fc from "fast-check";
import { dimension, evenValue } from "../../src/check/arbitraries.js";
import { product } from "./run.js";

export interface Tensor {
  shape: number[];
  data: number[];
}

/** A dimension's size: 1 to 4 mostly, now and then up to 9 (the op checker's arbitrary). */
export const dim = dimension;

export function shape(minRank: number, maxRank: number): fc.Arbitrary<number[]> {
  return fc.array(dim, { minLength: minRank, maxLength: maxRank });
}

/**
 * Numbers spread evenly over [min, max], with the ends now and then and exact zeros (0 and −0) often when
 * the range holds 0 (the op checker's arbitrary). Finite, so gradient checks can take them.
 */
export const value = evenValue;

/**
 * `values` with NaN, +∞ and −∞ mixed in, about one value in ten: for kernel tests whose oracle says what
 * a special value must give. Never for central differences, which cannot take them.
 */
export function withSpecials(values: fc.Arbitrary<number> = value()): fc.Arbitrary<number> {
  return fc.oneof({ arbitrary: values, weight: 9 }, { arbitrary: fc.constantFrom(Number.NaN, Infinity, -Infinity), weight: 1 });
}

export function tensorOf(shapeArb: fc.Arbitrary<number[]>, values: fc.Arbitrary<number> = value()): fc.Arbitrary<Tensor> {
  return shapeArb.chain((s) => fc.array(values, { minLength: product(s), maxLength: product(s) }).map((data) => ({ shape: s, data })));
}

export function dataFor(s: readonly number[], values: fc.Arbitrary<number> = value()): fc.Arbitrary<number[]> {
  return fc.array(values, { minLength: product(s), maxLength: product(s) });
}

/**
 * A shape that broadcasts to `full`: some leading axes dropped, some of the others set to 1.
 * From [m, n] this gives [m, n], [n], [1, n], [m, 1], [1], [] and so on.
 */
export function broadcastPatternOf(full: readonly number[]): fc.Arbitrary<number[]> {
  return fc
    .tuple(fc.integer({ min: 0, max: full.length }), fc.array(fc.boolean(), { minLength: full.length, maxLength: full.length }))
    .map(([drop, ones]) => full.slice(drop).map((d, i) => (ones[i + drop] ? 1 : d)));
}

/** Rows of labels: one-hot, or arbitrary non-negative weights (which need not sum to 1). */
export function labelsFor(s: readonly number[]): fc.Arbitrary<number[]> {
  const classes = s[s.length - 1]!;
  const rows = product(s) / classes;
  const oneHot = fc.array(fc.nat({ max: classes - 1 }), { minLength: rows, maxLength: rows }).map((hot) => {
    const data = new Array<number>(product(s)).fill(0);
    hot.forEach((k, r) => (data[r * classes + k] = 1));
    return data;
  });
  return fc.oneof(oneHot, dataFor(s, value(0, 1)));
}
