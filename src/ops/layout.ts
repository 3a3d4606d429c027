/**
 * What the shape ops (reshape, flatten, transpose, concat, slice) share: an axis counted from either end,
 * and the product of dimensions that may hold a symbol such as "batch".
 */
import { formatShape, type Dim, type Shape } from "../graph/ir.js";
import { ShapeError } from "./op.js";

/** The axis `axis` of a rank-`rank` shape, counted from the end when negative (−1 is the last); a ShapeError on `field` when out of range. */
export function normalizeAxis(axis: number, rank: number, field: string, what = "an axis"): number {
  if (axis < -rank || axis >= rank) {
    throw new ShapeError(`${field} ${axis} is not ${what} of a rank-${rank} input (from ${-rank} to ${rank - 1}).`, field);
  }
  return axis < 0 ? axis + rank : axis;
}

/**
 * The product of `dims` as one dimension: a size when all are sizes, the symbol itself when exactly one is
 * a symbol and the others multiply to 1 (["batch", 1] → "batch"), and a ShapeError otherwise — a product
 * such as "batch"·16 has no name a shape can hold.
 */
export function dimProduct(dims: Shape, field: string, whole: Shape): Dim {
  let size = 1;
  const symbols: string[] = [];
  for (const d of dims) {
    if (typeof d === "number") size *= d;
    else symbols.push(d);
  }
  if (symbols.length === 0) return size;
  if (symbols.length === 1 && size === 1) return symbols[0]!;
  throw new ShapeError(
    `the axes ${formatShape(dims)} of ${formatShape(whole)} would merge the symbolic size ${symbols.map((s) => `"${s}"`).join(" and ")} with others into one axis, which a shape cannot name; keep each symbol on an axis of its own.`,
    field,
  );
}
