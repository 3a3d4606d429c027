/**
 * Row chains: consecutive steps of a plan that each compute row r of their outputs from row r of their
 * inputs — a training step's forward pass, its loss and the deltas of its backward pass — handed to the
 * worker thread as ONE job instead of one job per kernel.
 *
 * Why: each hand-over between the threads is a wait for the worker, and on a busy machine a descheduled
 * worker makes every one of them long. Kernel by kernel (share.ts), a training step of the report's MLP
 * makes up to 16 hand-overs; as a chain, its rows are cut once: the worker runs the list of the chain's
 * kernel calls on rows [cut, n) (a job list: pool.ts) while the main thread runs the same calls on rows
 * [0, cut), and one wait ends the chain — before the weight gradients, which sum over all the rows (the
 * plan puts them last: PlanOptions.gradientsLast; they go to the worker as one job too, call-group.ts).
 * The main thread, its own rows done, takes over the worker's entries it has not begun (pool.ts).
 *
 * A chain is built from the kernels themselves: each step's kernel, if it is marked as doing nothing but
 * its SharedCalls' runs (sharedOnly), is run once in recording mode, which gives its calls with their
 * whole arguments (constant: byte offsets and sizes); every call must be row-local (PartLayout.rowLocal)
 * over a multiple of the chain's rows. The cut is the loss's fixed cut (splitPoint: the batch's sum is
 * taken in those two halves whoever runs them), which is a multiple of 4 rows for the products' row
 * blocks. Every output element is computed as one thread computes it, so the results are the same bit for
 * bit, shared or not.
 *
 * What the threads must not do is touch each other's rows of a value while the other is still at an
 * earlier or later step of the chain: the planner lets values whose lifetimes do not overlap share memory,
 * and within a chain the two threads are at different steps. So a step joins a chain only if no two values
 * of the chain sharing memory have one thread's part of one overlap the other thread's part of the other
 * (a value read whole — a weight, the loss's seed — counts as both threads' in full). The scratch spaces
 * are each thread's own, and the loss's partial sums have a slot of their own (FastKernelContext.sums).
 */
import { sameShape } from "../../../graph/ir.js";
import type { Kernel, RunContext } from "../../../ops/op.js";
import type { CompiledStep } from "../../backend.js";
import type { Plan, PlannedValue, PlanStep } from "../../plan.js";
import { nothing, replaceRuns, stepsCoveredBy } from "./fusion.js";
import type { WasmPool } from "./pool.js";
import { isSharedOnly, type CallRecorder, type SharedCall } from "./share.js";
import { Split } from "./split.js";
import { splitPoint } from "./split-policy.js";

/** The run context of a recording: a sharedOnly kernel reads none of it. */
const RECORDING: RunContext = { training: true, seed: 0, step: 0 };

/** A SharedCall as a kernel's run made it: with the whole call's arguments. */
export interface Call {
  readonly call: SharedCall;
  readonly args: Float64Array;
}

/** Records the SharedCalls a kernel makes and the work it leaves for after its parts (see CallRecorder). */
export class ChainRecorder implements CallRecorder {
  recording = false;
  private calls: Call[] = [];
  private finishers: (() => void)[] = [];

  record(call: SharedCall, args: Float64Array): void {
    this.calls.push({ call, args });
  }

  later(finish: () => void): void {
    this.finishers.push(finish);
  }

  /** The calls and the finishing work of one run of a sharedOnly kernel (which computes nothing meanwhile). */
  take(step: CompiledStep): { calls: Call[]; finishers: (() => void)[] } {
    this.calls = [];
    this.finishers = [];
    this.recording = true;
    try {
      step.kernel(step.inputs, step.output, RECORDING);
    } finally {
      this.recording = false;
    }
    return { calls: this.calls, finishers: this.finishers };
  }
}

/** A chain's calls: the main thread's part of each, the worker's list (in the pool), and the work after. */
class RowChain {
  private readonly firsts: Float64Array[];

  constructor(
    private readonly pool: WasmPool,
    private readonly split: Split,
    private readonly calls: readonly Call[],
    cuts: readonly number[],
    private readonly finishers: readonly (() => void)[],
    private readonly list: Float64Array,
  ) {
    this.firsts = calls.map(({ call, args }, i) => call.parts(args, cuts[i]!).first);
  }

  readonly kernel: Kernel = () => {
    const { calls, firsts } = this;
    const started = this.split.begin() && this.pool.startList(this.list);
    if (started) for (let i = 0; i < calls.length; i++) calls[i]!.call.callWith(firsts[i]!);
    else for (let i = 0; i < calls.length; i++) calls[i]!.call.runAlone(calls[i]!.args);
    this.split.end(this.pool, started);
    for (let i = 0; i < this.finishers.length; i++) this.finishers[i]!();
  };
}

/** A step's inputs that a chain reads row by row (the others, a weight say, it reads whole). */
function readsByRows(step: PlanStep, input: number): boolean {
  const { node, inputs, output } = step;
  if (node.op === "matmul") return input === 0 && node.attrs.transpose_a !== true;
  // The loss: the logits and the labels, row by row, into a scalar.
  if (node.op === "softmax_cross_entropy") return sameShape(inputs[input]!.shape, inputs[0]!.shape);
  return sameShape(inputs[input]!.shape, output.shape);
}

/**
 * The steps with every row chain found (of at least two calls, one of them big enough to share on its
 * own) replaced: its last step runs the chain, the others nothing. Without a pool, the steps as they are.
 * `fast`: the steps that run the backend's own kernels for built-in ops.
 */
export function chainRows(
  plan: Plan,
  steps: readonly CompiledStep[],
  fast: ReadonlySet<string>,
  pool: WasmPool | undefined,
  recorder: ChainRecorder,
): CompiledStep[] {
  if (!pool) return [...steps];
  return replaceRuns(steps, (s) => {
    const chain = longestChain(plan, steps, fast, recorder, s);
    if (!chain || chain.calls.length < 2 || !chain.calls.some(({ call }) => call.mayShare)) return chain;
    const list = pool.writeList(chain.calls.map(({ call, args }, i) => ({ job: call.jobIndex, args: call.parts(args, chain.cuts[i]!).second })));
    if (list === undefined) return chain;
    const run = new RowChain(pool, Split.whether(pool.alwaysShares), chain.calls, chain.cuts, chain.finishers, list);
    return { end: chain.end, kernel: run.kernel };
  });
}

/** The longest row chain of steps from `s` on: its end (exclusive), its calls with each one's cut, and the work after; undefined if step s cannot begin one. */
function longestChain(plan: Plan, steps: readonly CompiledStep[], fast: ReadonlySet<string>, recorder: ChainRecorder, s: number) {
  const first = plan.steps[s]!.output.shape;
  if (first.length === 0) return undefined;
  const rows = first[0]!;
  const cut = splitPoint(rows);
  if (cut < 1) return undefined;
  const calls: Call[] = [];
  const cuts: number[] = [];
  const finishers: (() => void)[] = [];
  let end = s;
  for (let t = s; t < steps.length; t++) {
    const kernel = steps[t]!.kernel;
    const covered = kernel === nothing ? [t] : (stepsCoveredBy(kernel) ?? [t]);
    if (covered.some((p) => p < s)) break;
    const planSteps = covered.map((p) => plan.steps[p]!);
    if (!planSteps.every((step) => rowLocalStep(step, rows, s))) break;
    if (!safeToShare(plan.steps.slice(s, t + 1), rows, cut)) break;
    if (kernel !== nothing) {
      if (!isSharedOnly(kernel) || !planSteps.every((step) => fast.has(step.node.id))) break;
      const taken = recorder.take(steps[t]!);
      const stepCuts = taken.calls.map(({ call, args }) => rowCut(call, args, rows, cut));
      if (stepCuts.some((c) => c === undefined)) break;
      calls.push(...taken.calls);
      cuts.push(...(stepCuts as number[]));
      finishers.push(...taken.finishers);
    }
    end = t + 1;
  }
  return end > s ? { end, calls, cuts, finishers } : undefined;
}

/** Where a recorded call is cut at `cut` rows of `rows`: undefined if it is not row-local over them. */
function rowCut(call: SharedCall, args: Float64Array, rows: number, cut: number): number | undefined {
  const units = call.units(args);
  if (!call.rowLocal || units % rows !== 0) return undefined;
  const at = cut * (units / rows);
  return call.fixedCutAt < 0 || call.fixedCutAt === at ? at : undefined;
}

/**
 * Whether a plan step may be a link of a chain over `rows` rows beginning at plan step `s`: its output has
 * those rows (or is the loss, a scalar made of the two halves after the chain), and each input computed
 * in the chain is read by rows.
 */
function rowLocalStep(step: PlanStep, rows: number, s: number): boolean {
  const out = step.output.shape;
  if (!(out.length === 0 ? step.node.op === "softmax_cross_entropy" : out[0] === rows)) return false;
  return step.inputs.every((v, i) => !(v.storage === "work" && v.firstStep >= s) || (v.shape[0] === rows && readsByRows(step, i)));
}

/**
 * Whether no value the steps touch shares memory with another in a way that lets one thread's part of it
 * meet the other thread's part of the other (see the file's comment). A value is read or written by rows
 * (the main thread rows [0, cut), the worker the others) when it has the chain's rows and every step reads
 * it so; otherwise both threads touch all of it.
 */
function safeToShare(steps: readonly PlanStep[], rows: number, cut: number): boolean {
  const byRows = new Map<string, boolean>();
  const values = new Map<string, PlannedValue>();
  const note = (v: PlannedValue, rowWise: boolean) => {
    values.set(v.id, v);
    byRows.set(v.id, (byRows.get(v.id) ?? true) && rowWise && v.storage !== "parameter" && v.storage !== "state" && v.shape[0] === rows);
  };
  for (const step of steps) {
    note(step.output, step.output.shape.length > 0);
    step.inputs.forEach((v, i) => note(v, readsByRows(step, i)));
  }
  // Each value's extent in elements, for the main thread and for the worker.
  const parts = [...values.values()].map((v) => {
    const [from, to] = [v.offset, v.offset + v.elements];
    if (!byRows.get(v.id)) return { from, to, main: [from, to], worker: [from, to] };
    const at = from + cut * (v.elements / rows);
    return { from, to, main: [from, at], worker: [at, to] };
  });
  const meet = ([a, b]: number[], [c, d]: number[]) => a! < d! && c! < b!;
  for (let i = 0; i < parts.length; i++) {
    for (let j = i + 1; j < parts.length; j++) {
      const [p, q] = [parts[i]!, parts[j]!];
      if (!(p.from < q.to && q.from < p.to)) continue;
      if (meet(p.main, q.worker) || meet(p.worker, q.main)) return false;
    }
  }
  return true;
}
