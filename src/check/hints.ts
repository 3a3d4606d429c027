/**
 * What `checkOp` does with an op's check hints: the sizes and value ranges it draws by default, and the
 * one-sentence verdict on a malformed `check` field. The hints' types sit beside the op definition, in
 * ops/check-hints.ts, so that an op's file needs nothing from this floor.
 */
import type { ValueRange } from "../ops/check-hints.js";

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
