/**
 * Check hints: what an op's definition may say (in its optional `check` field) about how to test it, so
 * that `checkOp` can generate random inputs the op accepts. The hint lives beside the op, in its file.
 *
 * Without a hint an op is checked as an elementwise op: every input gets the same random shape of rank
 * 0 to 3 (sizes 1 to 4, now and then up to 9) and values in [−3, 3] (exact zeros of both signs among
 * them), and the gradient of every input is checked. An op that
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
  /** The attributes: samples to pick from, or a function drawing them for the drawn input shapes. Default {}. */
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

/**
 * The largest size a named or random dimension usually takes (LARGE_DIM in one draw in ten), and the
 * largest rank "..." builds up to.
 */
export const MAX_DIM = 4;
export const LARGE_DIM = 9;
export const MAX_RANK = 3;
export const DEFAULT_VALUES: ValueRange = [-3, 3];
export const WEIGHT_VALUES: ValueRange = [-2, 2];

const CASE_KEYS = ["shapes", "broadcast", "attrs", "values", "wrt", "nearKink", "training", "reference", "tolerance"] as const;
const CHECK_KEYS = [...CASE_KEYS, "skip", "cases"] as const;
const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * What is wrong with an op's `check` field, as one sentence, or undefined when it is well formed. The
 * op's `inputs` must already be a list of names (registerOp checks that).
 */
export function checkHintProblem(def: { readonly name?: unknown; readonly inputs: readonly string[]; readonly check?: unknown }): string | undefined {
  const check = def.check;
  if (check === undefined) return undefined;
  if (!isPlainObject(check)) return `"check" must be an object of check hints, got ${describe(check)}.`;
  const unknown = Object.keys(check).find((k) => !(CHECK_KEYS as readonly string[]).includes(k));
  if (unknown !== undefined) return `"check.${unknown}" is not a check hint (known: ${CHECK_KEYS.join(", ")}).`;
  if (check.skip !== undefined && typeof check.skip !== "string") return `"check.skip" must be a string saying why the op is not checked.`;
  const top = caseProblem(check, "check", def.inputs);
  if (top) return top;
  if (check.cases !== undefined) {
    if (!Array.isArray(check.cases) || check.cases.length === 0) return `"check.cases" must be a non-empty array of case hints.`;
    for (let i = 0; i < check.cases.length; i++) {
      const c: unknown = check.cases[i];
      const where = `check.cases[${i}]`;
      if (!isPlainObject(c)) return `"${where}" must be an object, got ${describe(c)}.`;
      const extra = Object.keys(c).find((k) => !(CASE_KEYS as readonly string[]).includes(k));
      if (extra !== undefined) return `"${where}.${extra}" is not a case hint (known: ${CASE_KEYS.join(", ")}).`;
      const problem = caseProblem(c, where, def.inputs);
      if (problem) return problem;
    }
  }
  return undefined;
}

function caseProblem(c: Record<string, unknown>, where: string, inputs: readonly string[]): string | undefined {
  if (c.shapes !== undefined) {
    if (!Array.isArray(c.shapes) || c.shapes.length !== inputs.length) {
      return `"${where}.shapes" must hold one shape template per input (${inputs.length}: ${inputs.join(", ") || "none"}), got ${describe(c.shapes)}.`;
    }
    for (let i = 0; i < c.shapes.length; i++) {
      const t: unknown = c.shapes[i];
      if (!Array.isArray(t)) return `"${where}.shapes[${i}]" must be an array of dimensions, got ${describe(t)}.`;
      for (const d of t) {
        const ok = (typeof d === "number" && Number.isInteger(d) && d >= 1) || (typeof d === "string" && (d === "..." || NAME.test(d)));
        if (!ok) return `"${where}.shapes[${i}]": ${JSON.stringify(d)} is not a dimension (a size ≥ 1, a name such as "n", or "...").`;
      }
      if (t.filter((d) => d === "...").length > 1) return `"${where}.shapes[${i}]" has "..." more than once.`;
    }
  }
  if (c.broadcast !== undefined && typeof c.broadcast !== "boolean") return `"${where}.broadcast" must be true or false.`;
  if (c.training !== undefined && typeof c.training !== "boolean") return `"${where}.training" must be true or false.`;
  if (c.attrs !== undefined && typeof c.attrs !== "function") {
    if (!Array.isArray(c.attrs) || c.attrs.length === 0 || !c.attrs.every(isPlainObject)) {
      return `"${where}.attrs" must be a non-empty array of attribute objects, or a function (inputShapes, draw) => attrs.`;
    }
  }
  if (c.values !== undefined) {
    if (Array.isArray(c.values)) {
      const p = rangeProblem(c.values);
      if (p) return `"${where}.values" ${p}`;
    } else if (isPlainObject(c.values)) {
      for (const [name, range] of Object.entries(c.values)) {
        if (!inputs.includes(name)) return `"${where}.values" names "${name}", which is not an input of the op (${inputs.join(", ")}).`;
        const p = rangeProblem(range);
        if (p) return `"${where}.values.${name}" ${p}`;
      }
    } else return `"${where}.values" must be a range [min, max] or an object of ranges by input name.`;
  }
  if (c.wrt !== undefined) {
    if (!Array.isArray(c.wrt) || c.wrt.length === 0) return `"${where}.wrt" must be a non-empty array of input names.`;
    for (const name of c.wrt) {
      if (!inputs.includes(name as string)) return `"${where}.wrt" names ${JSON.stringify(name)}, which is not an input of the op (${inputs.join(", ")}).`;
    }
  }
  for (const fn of ["nearKink", "reference"] as const) {
    if (c[fn] !== undefined && typeof c[fn] !== "function") return `"${where}.${fn}" must be a function.`;
  }
  if (c.tolerance !== undefined) {
    const t = c.tolerance as { abs?: unknown; rel?: unknown };
    const ok = isPlainObject(t) && [t.abs, t.rel].every((x) => typeof x === "number" && x >= 0 && Number.isFinite(x));
    if (!ok) return `"${where}.tolerance" must be { abs, rel } with two numbers ≥ 0.`;
  }
  return undefined;
}

function rangeProblem(range: unknown): string | undefined {
  const ok =
    Array.isArray(range) &&
    range.length === 2 &&
    range.every((x) => typeof x === "number" && Number.isFinite(x)) &&
    (range[0] as number) <= (range[1] as number);
  return ok ? undefined : `must be a range [min, max] of two finite numbers with min ≤ max, got ${describe(range)}.`;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return JSON.stringify(value) ?? "an array";
  if (typeof value === "function") return "a function";
  if (typeof value === "object") return "an object";
  return `${typeof value} ${JSON.stringify(value)}`;
}
