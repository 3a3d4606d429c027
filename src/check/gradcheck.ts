/**
 * Numerical gradient checking: the gradients autodiff derives, against float64 central differences
 * (L(θ + h) − L(θ − h)) / 2h, element by element. Used by the tests and by `graphnet gradcheck`.
 *
 * One float64 plan computes the loss and every wanted gradient. It is run once for the analytic
 * gradients; then each checked element of a parameter (or input) is perturbed in place in the arena and
 * the same plan is run again for the loss alone. Every run uses the same step, so dropout draws the same
 * mask each time and the checked function is a fixed, deterministic one.
 *
 * Kinks are the caller's concern: where the loss is not differentiable (relu at 0, a clamp's edge) the
 * two one-sided derivatives differ and no tolerance is right. A central difference straddles a kink when
 * a value feeding relu lies within about h·|∂value/∂θ| of 0; with random values in a small graph this is
 * rare but not impossible, so tests that must never flake keep such values away from 0 (by filtering
 * their random data, or by feeding the parameters too).
 *
 * Parameters are initialised by their `init` and then given N(0, 0.1²) noise: zero-initialised biases
 * would otherwise sit all alike, and symmetric weights or exact zeros make kinks and ties likely.
 */
import { differentiate } from "../autodiff/differentiate.js";
import { GraphError } from "../graph/errors.js";
import { unravelIndex, type ConcreteShape, type Graph } from "../graph/ir.js";
import { Executor } from "../exec/executor.js";
import { initializeParameters } from "../exec/initialize.js";
import { compilePlan } from "../exec/plan.js";
import { getOp } from "../ops/registry.js";
import { Random, hashString } from "../util/random.js";

export interface GradcheckOptions {
  /** Sizes of the symbolic dimensions; default { batch: 4 }. */
  sizes?: Record<string, number>;
  /** Seeds the parameters, the random feeds, the elements picked and the dropout masks; default 0. */
  seed?: number;
  /** The value differentiated; default the graph's loss. A non-scalar loss is checked as the sum of its elements. */
  loss?: string;
  /** The values whose gradients are checked (parameters or inputs); default every parameter. */
  wrt?: readonly string[];
  /** Elements checked per value, picked at random (seeded) when the value is larger; default 24; Infinity = all. */
  maxChecksPerValue?: number;
  /** h of the central difference; default 1e-6. */
  step?: number;
  /** An element passes when |a−n| ≤ abs OR |a−n|/max(|a|,|n|) ≤ rel; default abs 1e-6, rel 1e-5. */
  tolerance?: { abs: number; rel: number };
  /**
   * Values for inputs — and for parameters, replacing their random initialisation — by node id. Inputs not
   * given are random: features U[0,1), labels (attrs.feed "labels") random one-hot rows, others U[−1,1).
   */
  feeds?: Record<string, ArrayLike<number>>;
  /** Run in training mode (dropout active, with one fixed mask); default true. */
  training?: boolean;
}

export interface GradcheckRow {
  id: string;
  shape: number[];
  elements: number;
  checked: number;
  maxAbsError: number;
  maxRelError: number;
  pass: boolean;
  /** The element furthest from passing (the one that failed, when one did). */
  worst: { index: number[]; analytic: number; numeric: number };
}

export interface GradcheckReport {
  loss: string;
  rows: GradcheckRow[];
  pass: boolean;
  /** The loss (summed when not a scalar) at the unperturbed point. */
  lossValue: number;
}

export const GRADCHECK_DEFAULTS = {
  sizes: { batch: 4 },
  seed: 0,
  maxChecksPerValue: 24,
  step: 1e-6,
  tolerance: { abs: 1e-6, rel: 1e-5 },
  training: true,
} as const;

/** Standard deviation of the noise added to every parameter after its initialisation. */
const PARAMETER_NOISE = 0.1;
/** The training step every run uses, so that dropout draws the same masks in all of them. */
export const GRADCHECK_RUN_STEP = 0;

export function checkGradients(graph: Graph, options: GradcheckOptions = {}): GradcheckReport {
  const seed = options.seed ?? GRADCHECK_DEFAULTS.seed;
  const h = options.step ?? GRADCHECK_DEFAULTS.step;
  const tolerance = options.tolerance ?? GRADCHECK_DEFAULTS.tolerance;
  const maxChecks = options.maxChecksPerValue ?? GRADCHECK_DEFAULTS.maxChecksPerValue;
  const training = options.training ?? GRADCHECK_DEFAULTS.training;
  const loss = options.loss ?? graph.loss;
  if (loss === undefined) throw new GraphError(`there is no loss to check: set "loss" in the graph file or pass one.`, { field: "loss" });

  const byId = new Map(graph.nodes.map((n) => [n.id, n]));
  const wrt = options.wrt ?? graph.nodes.filter((n) => getOp(n.op)?.role === "parameter").map((n) => n.id);
  for (const id of wrt) {
    const role = byId.has(id) ? getOp(byId.get(id)!.op)?.role : undefined;
    if (role !== "parameter" && role !== "input") {
      throw new GraphError(
        byId.has(id)
          ? `cannot check the gradient with respect to "${id}": only parameters and inputs can be perturbed in place, and it ${role === "state" ? "is non-trainable state, which has no gradient" : `is computed by op "${byId.get(id)!.op}"`}.`
          : `cannot check the gradient with respect to "${id}": no such node.`,
        { field: "wrt" },
      );
    }
  }
  for (const id of Object.keys(options.feeds ?? {})) {
    if (!byId.has(id)) throw new GraphError(`cannot feed "${id}": no such node.`, { field: "feeds" });
  }

  const differentiated = differentiate(graph, { loss, wrt });
  const gradients = wrt.map((id) => differentiated.gradients![id]!);
  const plan = compilePlan(differentiated, {
    // The wanted values too: one the loss does not depend on is then still in the arena to be perturbed.
    outputs: [...new Set([loss, ...gradients, ...wrt])],
    sizes: options.sizes ?? GRADCHECK_DEFAULTS.sizes,
    dtype: "float64",
  });
  const executor = new Executor(plan, { seed });

  initializeParameters(executor, differentiated, seed);
  const noise = new Random((seed ^ hashString("gradcheck/noise")) >>> 0);
  for (const id of executor.parameterIds()) {
    const view = executor.view(id);
    for (let i = 0; i < view.length; i++) view[i] = view[i]! + PARAMETER_NOISE * noise.normal();
  }
  const feeds = options.feeds ?? {};
  const random = new Random((seed ^ hashString("gradcheck/feeds")) >>> 0);
  for (const node of graph.nodes) {
    if (!executor.has(node.id)) continue; // the loss does not depend on it
    const given = feeds[node.id];
    if (given !== undefined) executor.feed(node.id, given);
    else if (getOp(node.op)?.role === "input") fillRandomInput(executor.view(node.id), executor.value(node.id).shape, node.attrs.feed, random);
  }

  const lossView = executor.view(loss);
  const runLoss = (): number => {
    executor.run({ training, step: GRADCHECK_RUN_STEP });
    let sum = 0;
    for (let i = 0; i < lossView.length; i++) sum += lossView[i]!;
    return sum;
  };

  const lossValue = runLoss();
  const analytic = gradients.map((id) => executor.read(id));

  const rows = wrt.map((id, w): GradcheckRow => {
    const view = executor.view(id);
    const shape = [...executor.value(id).shape];
    const picked = pickElements(view.length, maxChecks, new Random((seed ^ hashString(`gradcheck/pick/${id}`)) >>> 0));
    let maxAbsError = 0;
    let maxRelError = 0;
    let pass = true;
    let worst = { index: -1, analytic: 0, numeric: 0, badness: -Infinity };
    for (const i of picked) {
      const original = view[i]!;
      view[i] = original + h;
      const up = runLoss();
      view[i] = original - h;
      const down = runLoss();
      view[i] = original;
      const a = analytic[w]![i]!;
      const n = (up - down) / (2 * h);
      const abs = Math.abs(a - n);
      const scale = Math.max(Math.abs(a), Math.abs(n));
      const rel = scale === 0 ? 0 : abs / scale;
      // Written so that a NaN (a NaN loss or gradient) fails rather than passes.
      if (!(abs <= tolerance.abs || rel <= tolerance.rel)) pass = false;
      maxAbsError = Number.isNaN(abs) || Number.isNaN(maxAbsError) ? NaN : Math.max(maxAbsError, abs);
      maxRelError = Number.isNaN(rel) || Number.isNaN(maxRelError) ? NaN : Math.max(maxRelError, rel);
      // How far from passing, in units of the tolerance: above 1 fails. The worst element is reported.
      const badness = Number.isNaN(abs) ? Infinity : Math.min(ratio(abs, tolerance.abs), ratio(rel, tolerance.rel));
      if (badness > worst.badness) worst = { index: i, analytic: a, numeric: n, badness };
    }
    return {
      id,
      shape,
      elements: view.length,
      checked: picked.length,
      maxAbsError,
      maxRelError,
      pass,
      worst: { index: worst.index < 0 ? [] : unravelIndex(worst.index, shape), analytic: worst.analytic, numeric: worst.numeric },
    };
  });
  return { loss, rows, pass: rows.every((r) => r.pass), lossValue };
}

function ratio(error: number, tolerance: number): number {
  return tolerance > 0 ? error / tolerance : error === 0 ? 0 : Infinity;
}

function fillRandomInput(view: Float64Array | Float32Array, shape: ConcreteShape, feed: unknown, random: Random): void {
  if (feed === "labels") {
    const classes = shape[shape.length - 1] ?? 1;
    view.fill(0);
    for (let row = 0; row < view.length; row += classes) view[row + random.int(classes)] = 1;
  } else if (feed === "features") {
    for (let i = 0; i < view.length; i++) view[i] = random.uniform();
  } else {
    for (let i = 0; i < view.length; i++) view[i] = 2 * random.uniform() - 1;
  }
}

/** All indices when there are few enough, else `count` distinct ones at random, in increasing order. */
function pickElements(length: number, count: number, random: Random): number[] {
  const all = Array.from({ length }, (_, i) => i);
  if (!(count < length)) return all;
  const k = Math.max(0, Math.floor(count));
  // A partial Fisher–Yates shuffle: the first k entries become a uniform sample without replacement.
  for (let i = 0; i < k; i++) {
    const j = i + random.int(length - i);
    [all[i], all[j]] = [all[j]!, all[i]!];
  }
  return all.slice(0, k).sort((a, b) => a - b);
}
