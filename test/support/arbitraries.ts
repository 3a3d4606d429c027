/** fast-check arbitraries of shapes and tensors shared by the op tests. */
import fc from "fast-check";
import { product } from "./run.js";

export interface Tensor {
  shape: number[];
  data: number[];
}

export const dim = fc.integer({ min: 1, max: 4 });

export function shape(minRank: number, maxRank: number): fc.Arbitrary<number[]> {
  return fc.array(dim, { minLength: minRank, maxLength: maxRank });
}

/**
 * Numbers spread evenly over [min, max], with the ends now and then. (fc.double spreads evenly over the
 * representable doubles instead, so most of its values would be within 1e-100 of 0.)
 */
export const value = (min = -3, max = 3): fc.Arbitrary<number> =>
  fc.oneof(
    { arbitrary: fc.integer({ min: 0, max: 2 ** 30 }).map((k) => min + ((max - min) * k) / 2 ** 30), weight: 15 },
    { arbitrary: fc.constantFrom(min, max), weight: 1 },
  );

/** A dropout rate in [0, 0.9], in tenths. */
export const rate = fc.integer({ min: 0, max: 9 }).map((k) => k / 10);

/** Values away from 0, where relu has its kink. */
export const awayFromZero = value().filter((x) => Math.abs(x) > 1e-3);

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
