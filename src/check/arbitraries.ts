/** fast-check arbitraries for numbers and shapes, shared by the op checker and the tests. */
import fc from "fast-check";
import { LARGE_DIM, MAX_DIM } from "./hints.js";

/**
 * Numbers spread evenly over [min, max], with the ends now and then, and, when the range holds 0, exact
 * zeros of both signs in about one value in nine; they shrink towards min. (fc.double spreads evenly over
 * the representable doubles instead, so most of its values would be within 1e-100 of 0; an even spread
 * alone would almost never give exactly 0, where relu's kink and matmul's zero-skipping are.)
 */
export function evenValue(min = -3, max = 3): fc.Arbitrary<number> {
  if (min === max) return fc.constant(min);
  const parts: fc.WeightedArbitrary<number>[] = [
    { arbitrary: fc.integer({ min: 0, max: 2 ** 30 }).map((k) => min + ((max - min) * k) / 2 ** 30), weight: 15 },
    { arbitrary: fc.constantFrom(min, max), weight: 1 },
  ];
  if (min <= 0 && max >= 0) parts.push({ arbitrary: fc.constantFrom(0, -0), weight: 2 });
  // withCrossShrink: a failing zero or end is also tried as a value of the even spread, so that shrinking still goes towards min.
  return fc.oneof({ withCrossShrink: true }, ...parts);
}

/**
 * A dimension's size: 1 to MAX_DIM (4) mostly, and in one draw in ten MAX_DIM + 1 to LARGE_DIM (9), past
 * the small sizes where a loop's remainder or a row longer than a block would never show; shrinking towards 1.
 */
export const dimension: fc.Arbitrary<number> = fc.oneof(
  { withCrossShrink: true },
  { arbitrary: fc.integer({ min: 1, max: MAX_DIM }), weight: 9 },
  { arbitrary: fc.integer({ min: MAX_DIM + 1, max: LARGE_DIM }), weight: 1 },
);
