/**
 * Checking an op by itself, on many random cases drawn by fast-check: `graphnet gradcheck` without a graph.
 *
 * A case is input shapes the op's shape rule accepts, attributes, input values and a weight for every
 * output element, drawn as the op's check hints say (src/check/hints.ts). For each case:
 *
 *   1. the shape rule must return a shape of positive sizes;
 *   2. the kernel, run directly on the case, must write every element of that shape and nothing else:
 *      the output buffer is filled with NaN before it runs, and again with another value, and an element
 *      that still holds the fill was never written — the shape rule promised more than the kernel
 *      computes. The kernel must leave its inputs alone (but for the state its op `updates`, in training
 *      mode) and must not read its output before writing it;
 *   3. with a reference implementation in the hints, the output must have the reference's shape and values;
 *   4. a tiny graph — the inputs, the op, loss = Σ out ⊙ weights — is differentiated, and every element of
 *      the gradient of each checked input is compared with a float64 central difference (checkGradients).
 *      The random weights make every output element matter. A gradient rule that cannot build its
 *      nodes (a gradient of a shape that cannot be summed back to its input's) fails here.
 *
 * The first failing case is shrunk by fast-check to a smallest one (smallest shapes, simplest values),
 * and the report holds that case with what went wrong: which input, which element, analytic against numeric.
 */
import fc from "fast-check";
import { GraphError } from "../graph/errors.js";
import { sizeOf, unravelIndex, type Attrs, type Graph, type GraphNode } from "../graph/ir.js";
import { compileSchema, type SchemaValidator } from "../graph/schema-validator.js";
import type { Kernel, OpDefinition } from "../ops/op.js";
import { getOp } from "../ops/registry.js";
import { checkGradients, GRADCHECK_DEFAULTS, GRADCHECK_RUN_STEP } from "./gradcheck.js";
import { dimension, evenValue } from "./arbitraries.js";
import type { CheckDraw, CheckTensor, OpCheckCase, ShapeTemplate, ValueRange } from "../ops/check-hints.js";
import { DEFAULT_VALUES, MAX_DIM, MAX_RANK, WEIGHT_VALUES, checkHintProblem } from "./hints.js";
import { OP_CHECK_DEFAULTS } from "./op-check-defaults.js";
import { plural } from "../graph/plural.js";
import { drawAttrsFromSchema, undrawableRequiredAttr } from "./schema-attrs.js";

export interface OpCheckOptions {
  /** Random cases per op; default 100. */
  readonly numRuns?: number;
  /** fast-check's seed: the same seed draws the same cases; default 0. */
  readonly seed?: number;
  /** h of the central difference; default 1e-6. */
  readonly step?: number;
}

export { OP_CHECK_DEFAULTS };

/** One drawn case, as it is reported. */
export interface OpCase {
  /** Which of the hint's `cases` it was drawn from (0 when there is one kind). */
  readonly kind: number;
  readonly attrs: Attrs;
  readonly training: boolean;
  readonly inputs: readonly { readonly name: string; readonly shape: readonly number[]; readonly data: readonly number[] }[];
  /** The output's shape, by the op's shape rule. */
  readonly output: readonly number[];
  /** loss = Σ out ⊙ weights. */
  readonly weights: readonly number[];
  /** The inputs whose gradients are checked. */
  readonly wrt: readonly string[];
  /** True when the attributes were drawn from the op's attribute schema (its check hints give none). */
  readonly attrsFromSchema?: boolean;
}

export type OpFailureKind =
  /** The check hints are malformed, or gave something the op refuses. */
  | "hints"
  /** No case could be drawn that the shape rule (and check.nearKink) accepts. */
  | "generate"
  /** The shape rule threw, returned a bad shape, or disagrees with the kernel or the reference. */
  | "shape"
  /** The kernel threw, wrote NaN, touched its inputs or read its output, or differs from the reference. */
  | "kernel"
  /** The gradient rule could not build its nodes. */
  | "gradient rule"
  /** The gradient is numerically wrong. */
  | "gradient";

export interface OpCheckFailure {
  readonly kind: OpFailureKind;
  /** What went wrong, in one sentence. */
  readonly message: string;
  /** The smallest failing case (absent for malformed hints or when no case could be drawn). */
  readonly case?: OpCase;
  /** What the kernel wrote for the case (NaN where it wrote nothing), when it ran. */
  readonly outputData?: readonly number[];
  /** For a wrong gradient: the input, the element, and the two values. */
  readonly input?: string;
  readonly element?: readonly number[];
  readonly analytic?: number;
  readonly numeric?: number;
}

export interface OpCheckReport {
  readonly op: string;
  readonly status: "pass" | "fail" | "skip";
  /** Why the op was skipped. */
  readonly reason?: string;
  /** Cases checked (up to and including the first failing one). */
  readonly cases: number;
  /** Cases drawn and put aside because the shape rule or check.nearKink refused them. */
  readonly discarded: number;
  readonly seed: number;
  /** How many times fast-check shrank the first failing case. */
  readonly shrinks: number;
  readonly milliseconds: number;
  readonly failure?: OpCheckFailure;
}

/** Why an op is not checked, or undefined when it is. */
export function skipReason(def: OpDefinition<any>): string | undefined {
  if (typeof def.check?.skip === "string") return def.check.skip;
  if (def.role === "input") return "fed before each run, not computed";
  if (def.role === "parameter") return "trainable state, not computed";
  if (def.role === "state") return "non-trainable state, not computed";
  if (def.inputs.length === 0) return "no inputs to differentiate";
  if (!def.gradient) return "no gradient rule";
  return undefined;
}

/**
 * Checks one op on `numRuns` random cases; see the file's comment for what is checked. The op must be
 * registered (registerOp): its gradient is derived and run by the engine, which finds ops by name.
 */
export function checkOp(def: OpDefinition<any>, options: OpCheckOptions = {}): OpCheckReport {
  if (getOp(def.name) === undefined) throw new Error(`checkOp: op "${def.name}" is not registered; register it first (registerOp).`);
  const started = performance.now();
  const seed = options.seed ?? OP_CHECK_DEFAULTS.seed;
  const base = { op: def.name, cases: 0, discarded: 0, seed, shrinks: 0 };
  const elapsed = () => performance.now() - started;
  const reason = skipReason(def);
  if (reason !== undefined) return { ...base, status: "skip", reason, milliseconds: elapsed() };
  const hintProblem = checkHintProblem(def);
  if (hintProblem !== undefined) return { ...base, status: "fail", milliseconds: elapsed(), failure: { kind: "hints", message: hintProblem } };
  let validateAttrs: SchemaValidator;
  try {
    validateAttrs = compileSchema(def.attrs);
  } catch (err) {
    return {
      ...base,
      status: "fail",
      milliseconds: elapsed(),
      failure: { kind: "hints", message: `the attribute schema does not compile: ${errorText(err)}` },
    };
  }

  const kinds = caseKinds(def);
  const undrawable = kinds.some((hints) => hints.attrs === undefined) ? undrawableRequiredAttr(def.attrs as Record<string, unknown>) : undefined;
  if (undrawable !== undefined) {
    const message =
      `the required attribute "${undrawable.name}" cannot be drawn from the op's attribute schema (${undrawable.why}); ` +
      `give check.attrs (samples, or a function of the input shapes).`;
    return { ...base, status: "fail", milliseconds: elapsed(), failure: { kind: "hints", message } };
  }
  let lastFailure: OpCheckFailure | undefined;
  let lastRefusal = "";
  const property = fc.property(fc.gen(), (g) => {
    const drawn = drawCase(def, kinds, g, validateAttrs);
    if ("refused" in drawn) lastRefusal = drawn.refused;
    fc.pre(!("refused" in drawn));
    const failure = "failure" in drawn ? drawn.failure : checkCase(def, drawn.case, kinds[drawn.case.kind]!, options);
    if (failure) lastFailure = failure;
    return failure === undefined;
  });
  const details = fc.check(property, { numRuns: options.numRuns ?? OP_CHECK_DEFAULTS.numRuns, seed, maxSkipsPerRun: 20 });
  const report = { ...base, cases: details.numRuns, discarded: details.numSkips, shrinks: details.numShrinks };
  if (!details.failed) return { ...report, status: "pass", milliseconds: elapsed() };
  if (details.counterexample === null) {
    const message = details.interrupted
      ? "the check was interrupted."
      : `could not draw inputs the op accepts: ${details.numSkips} drawn cases were refused for ${details.numRuns} accepted (the last: ${lastRefusal}). ` +
        `Give the op check hints (check.shapes, check.attrs) that match its shape rule.`;
    return { ...report, status: "fail", milliseconds: elapsed(), failure: { kind: "generate", message } };
  }
  // The last failing run is the counterexample fast-check shrank to.
  const failure = lastFailure ?? { kind: "gradient" as const, message: `the check itself failed: ${errorText(details.errorInstance)}` };
  return { ...report, status: "fail", milliseconds: elapsed(), failure };
}

// ─── Drawing cases ──────────────────────────────────────────────────────────────────────────────────

type CaseHints = OpCheckCase<any>;

/** The kinds of case: each of `check.cases` over the hint's top-level fields, or the top level alone. */
function caseKinds(def: OpDefinition<any>): CaseHints[] {
  const { skip: _skip, cases, ...top } = def.check ?? {};
  return cases && cases.length > 0 ? cases.map((c) => ({ ...top, ...c })) : [top];
}

type Drawn = { case: OpCase } | { refused: string } | { failure: OpCheckFailure };

// Builders for fc.gen(), which caches an arbitrary per builder and (deeply compared) arguments: module-level
// functions of plain numbers keep that cache small and let a shrunk case reuse its earlier draws.
const integerIn = (min: number, max: number) => fc.integer({ min, max });
const tensorValues = (min: number, max: number, n: number) => fc.array(evenValue(min, max), { minLength: n, maxLength: n });
/**
 * At least this many values are drawn for each tensor, and the first ones used: when a failing case shrinks
 * to a smaller shape, its tensors keep their (already shrunk) leading values instead of drawing new ones.
 */
const VALUE_POOL = MAX_DIM ** MAX_RANK;

function drawValues(g: fc.GeneratorValue, [min, max]: ValueRange, n: number): number[] {
  return g(tensorValues, min, max, Math.max(n, VALUE_POOL)).slice(0, n);
}
const dimensionRun = (maxLength: number) => fc.array(dimension, { maxLength });
const oneDimension = () => dimension;

function drawCase(def: OpDefinition<any>, kinds: readonly CaseHints[], g: fc.GeneratorValue, validateAttrs: SchemaValidator): Drawn {
  const draw: CheckDraw = {
    int: (min, max) => g(integerIn, Math.ceil(min), Math.floor(max)),
    bool: () => g(fc.boolean),
    pick: (items) => items[items.length > 1 ? g(integerIn, 0, items.length - 1) : 0]!,
  };
  const kind = kinds.length > 1 ? draw.int(0, kinds.length - 1) : 0;
  const hints = kinds[kind]!;
  let shapes = drawShapes(hints.shapes ?? def.inputs.map(() => ["..."]), g);
  if (hints.broadcast) shapes = shapes.map((s) => (draw.bool() ? broadcastPattern(s, draw) : s));

  let attrs: Attrs;
  // Without hints for them, the attributes come from the op's schema (see schema-attrs.ts), or stay {}.
  const fromSchema = hints.attrs === undefined ? drawAttrsFromSchema(def.attrs as Record<string, unknown>, g) : undefined;
  try {
    attrs = typeof hints.attrs === "function" ? hints.attrs(shapes, draw) : hints.attrs ? draw.pick(hints.attrs) : (fromSchema ?? {});
  } catch (err) {
    return { failure: { kind: "hints", message: `check.attrs threw ${errorText(err)} for input shapes ${shapes.map(fmtShape).join(", ")}.` } };
  }
  const attrProblem = validateAttrs(attrs);
  // A drawing from the schema that the schema refuses (a rule the mapping does not read) is put aside.
  if (attrProblem !== null && fromSchema !== undefined) return { refused: `the attribute schema refused the drawn ${JSON.stringify(attrs)}` };
  if (attrProblem !== null) {
    const at = attrProblem.path.length > 0 ? `"${attrProblem.path.join(".")}" ` : "";
    return {
      failure: { kind: "hints", message: `check.attrs gave ${JSON.stringify(attrs)}, which the op's attribute schema refuses: ${at}${attrProblem.message}` },
    };
  }

  let output: readonly unknown[];
  try {
    output = def.shape(shapes, attrs);
  } catch (err) {
    if (isShapeError(err)) return { refused: `the shape rule refused ${shapes.map(fmtShape).join(", ")}: ${(err as Error).message}` };
    return { failure: { kind: "shape", message: `the shape rule threw ${errorText(err)} for input shapes ${shapes.map(fmtShape).join(", ")}.` } };
  }
  if (!Array.isArray(output) || !output.every((d) => typeof d === "number" && Number.isInteger(d) && d >= 1)) {
    return {
      failure: {
        kind: "shape",
        message: `the shape rule returned ${JSON.stringify(output)} for input shapes ${shapes.map(fmtShape).join(", ")}; it must be an array of sizes ≥ 1 (symbols only where an input has them).`,
      },
    };
  }
  const outputShape = output as number[];

  const inputs = def.inputs.map((name, i) => {
    const range = rangeFor(hints.values, name);
    const n = sizeOf(shapes[i]!);
    return { name, shape: shapes[i]!, data: drawValues(g, range, n) };
  });
  if (hints.nearKink) {
    let near: boolean;
    try {
      near = hints.nearKink(inputs, attrs) === true;
    } catch (err) {
      return { failure: { kind: "hints", message: `check.nearKink threw ${errorText(err)}.` } };
    }
    if (near) return { refused: "check.nearKink refused the values" };
  }
  const n = sizeOf(outputShape);
  const weights = drawValues(g, WEIGHT_VALUES, n);
  const wrt = hints.wrt ?? def.inputs;
  const drawnCase: OpCase = { kind, attrs, training: hints.training ?? true, inputs, output: outputShape, weights, wrt: [...new Set(wrt)] };
  return { case: fromSchema !== undefined ? { ...drawnCase, attrsFromSchema: true } : drawnCase };
}

/** Concrete shapes for the templates: named sizes shared across inputs, one shared run for "...". */
function drawShapes(templates: readonly ShapeTemplate[], g: fc.GeneratorValue): number[][] {
  const named = new Map<string, number>();
  const fixed = Math.max(0, ...templates.map((t) => t.filter((d) => d !== "...").length));
  const run = templates.some((t) => t.includes("...")) ? g(dimensionRun, Math.max(0, MAX_RANK - fixed)) : [];
  return templates.map((t) =>
    t.flatMap((d) => {
      if (d === "...") return run;
      if (typeof d === "number") return [d];
      if (!named.has(d)) named.set(d, g(oneDimension));
      return [named.get(d)!];
    }),
  );
}

/** A shape that broadcasts to `full`: leading axes dropped, some of the others set to 1. */
function broadcastPattern(full: readonly number[], draw: CheckDraw): number[] {
  const drop = draw.int(0, full.length);
  return full.slice(drop).map((d) => (draw.bool() ? 1 : d));
}

function rangeFor(values: CaseHints["values"], input: string): ValueRange {
  if (values === undefined) return DEFAULT_VALUES;
  if (Array.isArray(values)) return values as unknown as ValueRange;
  return (values as Record<string, ValueRange>)[input] ?? DEFAULT_VALUES;
}

// ─── Checking one case ──────────────────────────────────────────────────────────────────────────────

/** What is wrong with the op on this case, or undefined when nothing is. */
export function checkCase(def: OpDefinition<any>, c: OpCase, hints: CaseHints, options: OpCheckOptions = {}): OpCheckFailure | undefined {
  const forward = checkKernel(def, c, hints);
  if ("failure" in forward) return forward.failure;
  const outputData = forward.output;

  const ids = nodeIds(c.inputs.map((x) => x.name));
  // The inputs the op updates are state, as the engine requires of them (checkStateUpdates); the others are fed.
  const updated = new Set(def.updates ?? []);
  const nodes: GraphNode[] = [
    ...c.inputs.map((x, i): GraphNode =>
      updated.has(x.name)
        ? { id: ids[i]!, op: "state", inputs: [], attrs: { shape: [...x.shape], init: "zeros" } }
        : { id: ids[i]!, op: "input", inputs: [], attrs: { shape: [...x.shape] } },
    ),
    { id: "out", op: def.name, inputs: ids, attrs: c.attrs },
    { id: "weights", op: "input", inputs: [], attrs: { shape: [...c.output] } },
    { id: "weighted", op: "mul", inputs: ["out", "weights"], attrs: {} },
    { id: "loss", op: "sum_to", inputs: ["weighted"], attrs: { shape: [] } },
  ];
  const graph: Graph = { name: `check ${def.name}`, nodes, loss: "loss" };
  const feeds: Record<string, readonly number[]> = { weights: c.weights };
  c.inputs.forEach((x, i) => (feeds[ids[i]!] = x.data));
  const wrt = c.inputs.flatMap((x, i) => (c.wrt.includes(x.name) ? [ids[i]!] : []));
  let report;
  try {
    report = checkGradients(graph, {
      wrt,
      feeds: feeds as Record<string, ArrayLike<number>>,
      sizes: {},
      maxChecksPerValue: Infinity,
      training: c.training,
      ...(options.step !== undefined ? { step: options.step } : {}),
      ...(hints.tolerance ? { tolerance: hints.tolerance } : {}),
    });
  } catch (err) {
    return { kind: "gradient rule", message: gradientRuleProblem(err, ids, c), case: c, outputData };
  }
  const failed = report.rows.find((r) => !r.pass);
  if (!failed) return undefined;
  const input = c.inputs[ids.indexOf(failed.id)]!.name;
  const { index, analytic, numeric } = failed.worst;
  return {
    kind: "gradient",
    message: `the gradient of input "${input}" is wrong at element ${fmtShape(index)}: autodiff ${fmt(analytic)}, numeric ${fmt(numeric)}.`,
    case: c,
    outputData,
    input,
    element: index,
    analytic,
    numeric,
  };
}

/** Fill value of the second run: an element still holding it after the kernel ran was never written. */
const SENTINEL = 7.25;

/** Runs the kernel on the case, directly, and checks what it wrote. */
function checkKernel(def: OpDefinition<any>, c: OpCase, hints: CaseHints): { output: number[] } | { failure: OpCheckFailure } {
  const fail = (kind: OpFailureKind, message: string, output?: ArrayLike<number>) => ({
    failure: { kind, message, case: c, ...(output ? { outputData: Array.from(output) } : {}) },
  });
  let kernel: Kernel;
  try {
    kernel = def.kernel({ nodeId: "out", attrs: c.attrs, inputShapes: c.inputs.map((x) => x.shape), outputShape: c.output });
  } catch (err) {
    return fail("kernel", `the kernel factory threw ${errorText(err)}.`);
  }
  if (typeof kernel !== "function") return fail("kernel", `the kernel factory returned ${typeof kernel}, not a kernel function.`);
  const n = sizeOf(c.output);
  const inputs = c.inputs.map((x) => Float64Array.from(x.data));
  // The state the op updates in training mode: it may change then, and each run starts from the drawn values.
  const updated = new Set(c.training ? (def.updates ?? []) : []);
  const run = (fill: number): Float64Array | { error: unknown } => {
    for (const [i, x] of c.inputs.entries()) if (updated.has(x.name)) inputs[i]!.set(x.data);
    const out = new Float64Array(n).fill(fill);
    try {
      kernel(inputs, out, { training: c.training, seed: GRADCHECK_DEFAULTS.seed, step: GRADCHECK_RUN_STEP });
    } catch (err) {
      return { error: err };
    }
    return out;
  };
  const first = run(NaN);
  if (!(first instanceof Float64Array)) return fail("kernel", `the kernel threw ${errorText(first.error)}.`);
  for (let i = 0; i < inputs.length; i++) {
    const x = c.inputs[i]!;
    if (updated.has(x.name)) continue;
    const k = x.data.findIndex((v, j) => !Object.is(v, inputs[i]![j]));
    if (k >= 0) {
      return fail(
        "kernel",
        `the kernel changed its input "${x.name}" (element ${fmtShape(unravelIndex(k, x.shape))}: ${fmt(x.data[k]!)} became ${fmt(inputs[i]![k]!)}); a kernel may only write its output${def.updates?.includes(x.name) ? " (and, in training mode only, the state its op updates)" : ""}.`,
        first,
      );
    }
  }
  const second = run(SENTINEL);
  if (!(second instanceof Float64Array)) return fail("kernel", `the kernel threw ${errorText(second.error)}.`);
  for (let k = 0; k < n; k++) {
    const a = first[k]!;
    const b = second[k]!;
    const at = fmtShape(unravelIndex(k, c.output));
    if (Number.isNaN(a) && b === SENTINEL) {
      return fail(
        "shape",
        `the kernel did not write element ${at} of its output: the shape rule gives ${fmtShape(c.output)} (${plural(n, "element")}), more than the kernel computes.`,
        first,
      );
    }
    if (Number.isNaN(a) && Number.isNaN(b)) return fail("kernel", `the kernel wrote NaN at element ${at} of its output, for finite inputs.`, first);
    if (!Object.is(a, b)) {
      return fail(
        "kernel",
        `element ${at} of the output depends on what the output buffer held before the kernel ran (${fmt(a)} after filling it with NaN, ${fmt(b)} after ${SENTINEL}): the kernel reads its output before writing it.`,
        first,
      );
    }
  }
  if (hints.reference) {
    let expected: CheckTensor;
    try {
      expected = hints.reference(c.inputs, c.attrs);
    } catch (err) {
      return fail("hints", `check.reference threw ${errorText(err)}.`, first);
    }
    const shape = [...(expected?.shape ?? [])];
    if (shape.length !== c.output.length || shape.some((d, i) => d !== c.output[i])) {
      return fail("shape", `the shape rule gives ${fmtShape(c.output)}, but the reference implementation computes ${fmtShape(shape)}.`, first);
    }
    for (let k = 0; k < n; k++) {
      const want = expected.data[k]!;
      const got = first[k]!;
      if (!(Math.abs(got - want) <= 1e-9 + 1e-7 * Math.abs(want))) {
        return fail(
          "kernel",
          `the kernel's output differs from the reference at element ${fmtShape(unravelIndex(k, c.output))}: kernel ${fmt(got)}, reference ${fmt(want)}.`,
          first,
        );
      }
    }
  }
  return { output: Array.from(first) };
}

/** Node ids for the inputs: their names, made unique and kept clear of the other nodes of the check graph. */
function nodeIds(names: readonly string[]): string[] {
  const taken = new Set(["out", "weights", "weighted", "loss"]);
  return names.map((name) => {
    let id = name;
    for (let k = 2; taken.has(id); k++) id = `${name}#${k}`;
    taken.add(id);
    return id;
  });
}

function gradientRuleProblem(err: unknown, ids: readonly string[], c: OpCase): string {
  if (err instanceof GraphError) {
    const m = /^no gradient reaches "([^"]*)"/.exec(err.problem);
    if (m) {
      const name = c.inputs[ids.indexOf(m[1]!)]?.name ?? m[1];
      return `the gradient rule gives no gradient (null) for input "${name}"; if the op does not differentiate it, leave it out of check.wrt.`;
    }
    const where = err.location.nodeId !== undefined ? `node "${err.location.nodeId}": ` : "";
    return `the gradient rule failed: ${where}${err.problem}`;
  }
  return `the gradient rule threw ${errorText(err)}.`;
}

// ─── Formatting ─────────────────────────────────────────────────────────────────────────────────────

/** A failure with its case, as lines of text for a terminal (no trailing newline). */
export function formatOpFailure(report: OpCheckReport): string {
  const f = report.failure;
  if (!f) return "";
  const lines = [`${report.op}: ${f.message}`];
  const c = f.case;
  if (c) {
    const found = `case ${report.cases} of the run with --seed ${report.seed}`;
    lines.push(`  smallest failing case${report.shrinks > 0 ? ` (${found}, shrunk ${report.shrinks} times)` : ` (${found})`}:`);
    const rows: [string, string, string][] = [];
    // Drawn attributes say where they came from: a user who sees α = 0.01 knows it was not one of their samples.
    const drawn = c.attrsFromSchema ? "  (drawn from the attribute schema; check.attrs chooses them)" : "";
    if (Object.keys(c.attrs).length > 0 || drawn) rows.push(["attrs", JSON.stringify(c.attrs) + drawn, ""]);
    if (!c.training) rows.push(["mode", "evaluation", ""]);
    for (const x of c.inputs) rows.push([x.name, fmtShape(x.shape), fmtValues(x.data) + (c.wrt.includes(x.name) ? "" : "  (not differentiated)")]);
    rows.push(["output", fmtShape(c.output), f.outputData ? fmtValues(f.outputData) : ""]);
    rows.push(["weights", fmtShape(c.output), `${fmtValues(c.weights)}  (loss = Σ output ⊙ weights)`]);
    const w0 = Math.max(...rows.map((r) => r[0].length));
    const w1 = Math.max(...rows.map((r) => (r[2] === "" ? 0 : r[1].length)));
    for (const [k, shape, values] of rows) lines.push(`    ${k.padEnd(w0)}  ${values === "" ? shape : `${shape.padEnd(w1)}  ${values}`}`.trimEnd());
    if (f.kind === "gradient") {
      lines.push(`  d loss / d ${f.input}${fmtShape(f.element ?? [])}: autodiff ${fmt(f.analytic!)}, numeric ${fmt(f.numeric!)}`);
    }
  }
  return lines.join("\n");
}

const MAX_VALUES_SHOWN = 16;

function fmtValues(values: readonly number[]): string {
  const shown = values.slice(0, MAX_VALUES_SHOWN).map(fmt);
  return `${shown.join(", ")}${values.length > MAX_VALUES_SHOWN ? `, … (${values.length} values)` : ""}`;
}

/** A number in at most 8 significant digits. */
function fmt(x: number): string {
  if (!Number.isFinite(x) || Number.isInteger(x)) return String(x);
  return String(Number(x.toPrecision(8)));
}

function fmtShape(shape: readonly (number | string)[]): string {
  return `[${shape.join(", ")}]`;
}

// ─── Helpers ────────────────────────────────────────────────────────────────────────────────────────

/**
 * A ShapeError, including one from another copy of graphnet (a user's module may import its own): the
 * class name is the contract, not the identity of the class.
 */
function isShapeError(err: unknown): err is Error & { field?: string } {
  return err instanceof Error && err.name === "ShapeError";
}

function errorText(err: unknown): string {
  if (err instanceof Error) return `${err.name}: ${err.message}`;
  return String(err);
}
