/**
 * Check hints: what an op's definition may say (in its optional `check` field) about how to test it, so
 * that `checkOp` can generate random inputs the op accepts. The hint lives beside the op, in its file.
 *
 * Without a hint an op is checked as an elementwise op: every input gets the same random shape of rank
 * 0 to 3 (sizes 1 to 4, now and then up to 9) and values in [−3, 3] (exact zeros of both signs among
 * them), attributes drawn from the op's attribute schema (src/check/schema-attrs.ts), and the gradient
 * of every input is checked. An op that
 * needs something else says so with plain data — shape templates, attribute samples, value ranges, the
 * inputs to differentiate — and, where data cannot say it, with small functions (attributes that depend on
 * the drawn shapes, values to avoid near a kink, a reference implementation).
 *
 *   check: {
 *     cases: [
 *       { shapes: [["m", "k"], ["k", "n"]] },                                    // matmul
 *       { shapes: [["k", "m"], ["k", "n"]], attrs: [{ transpose_a: true }] },
 *     ],
 *   }
 *
 * Every random choice is made by fast-check, so a failing case shrinks to a smallest one: sizes towards 1,
 * ranks towards 0, values towards the low end of their range, samples towards the first one listed.
 */
import type { Attrs } from "../graph/ir.js";

/**
 * One dimension of a shape template:
 *   - a number: that size;
 *   - a name such as "n": a size drawn at random (1 to 4, now and then up to 9), the same wherever the name
 *     appears in the case;
 *   - "...": a run of random sizes (possibly none) keeping the shape's rank at most 3, the same run in every
 *     input of the case that has one. ["...", "n"] is any shape with at least one axis.
 */
export type DimTemplate = number | string;

/** A shape template, outermost dimension first: [] is a scalar, ["..."] any shape. */
export type ShapeTemplate = readonly DimTemplate[];

/** Random values are drawn evenly from [min, max], the two ends included now and then, and exact zeros (0 and −0) often when the range holds 0. */
export type ValueRange = readonly [min: number, max: number];

/** A tensor of a check case: its shape and its values in row-major order. */
export interface CheckTensor {
  readonly shape: readonly number[];
  readonly data: readonly number[];
}

/** Random choices for hint functions; each shrinks towards its simplest value. */
export interface CheckDraw {
  /** An integer in [min, max] (shrinks towards min). */
  int(min: number, max: number): number;
  /** true or false (shrinks towards false). */
  bool(): boolean;
  /** One of the items (shrinks towards the first). */
  pick<T>(items: readonly T[]): T;
}

/** How to generate one kind of case. Every field is optional; `OpCheck` gives defaults for its cases. */
export interface OpCheckCase<A = Attrs> {
  /** One shape template per input. Default: every input ["..."], that is all inputs of one random shape. */
  readonly shapes?: readonly ShapeTemplate[];
  /**
   * For ops that broadcast: each input may instead get a shape that broadcasts to its drawn shape
   * (leading axes dropped, some axes set to 1), so [m, n] meets [n], [m, 1], [1, n], [] and so on.
   */
  readonly broadcast?: boolean;
  /**
   * The attributes: samples to pick from, or a function drawing them for the drawn input shapes. Default:
   * drawn from the op's attribute schema where it can be (numbers, booleans, constants, tuples, lists and
   * unions of those), else {}. An op with a required attribute the schema cannot say how to draw (a free
   * string, an object, a $ref) must give them here; the check fails naming that attribute otherwise.
   */
  readonly attrs?: readonly A[] | ((inputShapes: readonly (readonly number[])[], draw: CheckDraw) => A);
  /** Range of the input values: one for every input, or by input name (the others keep [−3, 3]). */
  readonly values?: ValueRange | { readonly [input: string]: ValueRange };
  /** The inputs whose gradients are checked, by name. Default: every input. Leave out those the op does not differentiate (labels). */
  readonly wrt?: readonly string[];
  /**
   * True when the drawn values lie too near a point where the op is not differentiable (relu at 0): a
   * central difference there measures neither side's slope, so such cases are not checked.
   */
  readonly nearKink?: (inputs: readonly CheckTensor[], attrs: A) => boolean;
  /** Run the op in training mode (default) or in evaluation mode (matters to dropout). */
  readonly training?: boolean;
  /**
   * A plain, obviously correct implementation. The kernel's output must have the shape of the reference's
   * and its values (within 1e-9 + 1e-7·|value|).
   */
  readonly reference?: (inputs: readonly CheckTensor[], attrs: A) => CheckTensor;
  /** When a gradient element passes: |analytic − numeric| ≤ abs or relative error ≤ rel. Default abs 1e-6, rel 1e-5. */
  readonly tolerance?: { readonly abs: number; readonly rel: number };
}

/** The `check` field of an op definition. */
export interface OpCheck<A = Attrs> extends OpCheckCase<A> {
  /** Why the op is not checked (it is fed rather than computed, it has nothing to differentiate, …). */
  readonly skip?: string;
  /** Kinds of case to draw from, each overriding the fields above; a failure shrinks towards the first. */
  readonly cases?: readonly OpCheckCase<A>[];
}
