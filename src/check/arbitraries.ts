/** fast-check arbitraries for numbers and shapes, shared by the op checker and the tests. */
import fc from "fast-check";
import { MAX_DIM } from "./hints.js";

/**
 * Numbers spread evenly over [min, max], with the ends now and then; they shrink towards min. (fc.double
 * spreads evenly over the representable doubles instead, so most of its values would be within 1e-100 of 0.)
 */
export function evenValue(min = -3, max = 3): fc.Arbitrary<number> {
  if (min === max) return fc.constant(min);
  return fc.oneof(
    { arbitrary: fc.integer({ min: 0, max: 2 ** 30 }).map((k) => min + ((max - min) * k) / 2 ** 30), weight: 15 },
    { arbitrary: fc.constantFrom(min, max), weight: 1 },
  );
}

/** A dimension's size: 1 to MAX_DIM (4), shrinking towards 1. */
export const dimension: fc.Arbitrary<number> = fc.integer({ min: 1, max: MAX_DIM });
