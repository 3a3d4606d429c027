/**
 * Call groups: consecutive steps whose kernels do not depend on each other — none reads what another
 * writes — handed to the worker as ONE job list, each call cut where its own Split says. The weight and
 * bias gradients of a training step, which the plan puts after its row chain (PlanOptions.gradientsLast,
 * chain.ts), are such steps: each sums over every row of the batch, so none can join the chain, but one
 * hand-over does for all of them instead of one each (a step of the report's MLP: five at batch 256).
 *
 * Each call keeps what it learns alone: its Split's cut moves with the two threads' times for its parts,
 * the main thread's as it runs them and the worker's as it writes them into its list entry. Whether the
 * group is shared at all, a Split of its own learns. Each output element is computed as by one thread,
 * wherever the cuts fall, so the results are the same bit for bit.
 */
import type { Kernel } from "../../../ops/op.js";
import type { CompiledStep } from "../../backend.js";
import type { Plan, PlannedValue, PlanStep } from "../../plan.js";
import type { Call, ChainRecorder } from "./chain.js";
import { nothing, replaceRuns, stepsCoveredBy } from "./fusion.js";
import { LIST_ENTRY_MS, LIST_ENTRY_SLOTS, type WasmPool } from "./pool.js";
import { isSharedOnly, MAX_ARGS } from "./share.js";
import { Split } from "./split.js";

/** A group's calls: those shared (their parts rewritten into the worker's list at each run), and the small ones the main thread runs whole. */
class CallGroup {
  private readonly firsts: Float64Array[];
  private readonly mainMs: Float64Array;

  constructor(
    private readonly pool: WasmPool,
    private readonly split: Split,
    private readonly shared: readonly Call[],
    private readonly alone: readonly Call[],
    private readonly list: Float64Array,
  ) {
    this.firsts = shared.map(() => new Float64Array(MAX_ARGS));
    this.mainMs = new Float64Array(shared.length);
  }

  readonly kernel: Kernel = () => {
    const { shared, firsts, list, mainMs } = this;
    const share = this.split.begin();
    if (share) {
      for (let i = 0; i < shared.length; i++) {
        const { call, args } = shared[i]!;
        call.writeParts(args, call.cutOf(args), firsts[i]!, list, i * LIST_ENTRY_SLOTS + 1);
      }
    }
    const started = share && this.pool.startList(list);
    for (let i = 0; i < shared.length; i++) {
      const { call, args } = shared[i]!;
      if (!started) {
        call.runAlone(args);
        continue;
      }
      const begin = performance.now();
      call.callWith(firsts[i]!);
      mainMs[i] = performance.now() - begin;
    }
    for (let i = 0; i < this.alone.length; i++) this.alone[i]!.call.runAlone(this.alone[i]!.args);
    this.split.end(this.pool, started);
    if (!started) return;
    // The worker's time for each call (NaN where the main thread took the list back).
    for (let i = 0; i < shared.length; i++) {
      const workerMs = list[i * LIST_ENTRY_SLOTS + LIST_ENTRY_MS]!;
      if (workerMs > 0) shared[i]!.call.learn(mainMs[i]!, workerMs);
    }
  };
}

/**
 * The steps with every call group found (of at least two calls that share on their own) replaced: its
 * last step runs the group, the others nothing. Without a pool, the steps as they are. `fast`: the steps
 * that run the backend's own kernels for built-in ops.
 */
export function groupCalls(
  plan: Plan,
  steps: readonly CompiledStep[],
  fast: ReadonlySet<string>,
  pool: WasmPool | undefined,
  recorder: ChainRecorder,
): CompiledStep[] {
  if (!pool) return [...steps];
  return replaceRuns(steps, (s) => {
    const group = longestGroup(plan, steps, fast, recorder, s);
    const shared = group?.calls.filter(({ call }) => call.mayShare) ?? [];
    if (!group || shared.length < 2) return group;
    const list = pool.writeList(shared.map(({ call, args }) => ({ job: call.jobIndex, args })));
    if (!list) return group;
    const alone = group.calls.filter(({ call }) => !call.mayShare);
    return { end: group.end, kernel: new CallGroup(pool, Split.whether(pool.alwaysShares), shared, alone, list).kernel };
  });
}

/** The longest group of steps from `s` on: its end (exclusive) and its calls; undefined if step s cannot begin one. */
function longestGroup(plan: Plan, steps: readonly CompiledStep[], fast: ReadonlySet<string>, recorder: ChainRecorder, s: number) {
  const calls: Call[] = [];
  let end = s;
  for (let t = s; t < steps.length; t++) {
    const kernel = steps[t]!.kernel;
    // A group holds whole kernels: a fused one with all its steps, nothing computed by a kernel elsewhere.
    if (kernel === nothing) break;
    const covered = stepsCoveredBy(kernel) ?? [t];
    if (covered.some((p) => p < s)) break;
    const planSteps = covered.map((p) => plan.steps[p]!);
    if (!isSharedOnly(kernel) || !planSteps.every((step) => fast.has(step.node.id))) break;
    if (!independent(plan.steps.slice(s, t + 1))) break;
    const taken = recorder.take(steps[t]!);
    // The work after a kernel's parts (the loss's halves added) is a row chain's business, not a group's.
    if (taken.finishers.length > 0) break;
    calls.push(...taken.calls);
    end = t + 1;
  }
  return end > s ? { end, calls } : undefined;
}

/**
 * Whether no step reads a value another of them writes, and no value written shares memory with another
 * value of theirs: the threads run their parts of each in any order against the other's.
 */
function independent(steps: readonly PlanStep[]): boolean {
  const written = new Set(steps.map((step) => step.output.id));
  if (steps.some((step) => step.inputs.some((v) => written.has(v.id)))) return false;
  const values = new Map<string, PlannedValue>();
  for (const step of steps) for (const v of [step.output, ...step.inputs]) values.set(v.id, v);
  const all = [...values.values()];
  return all.every((a, i) =>
    all.slice(i + 1).every((b) => !(written.has(a.id) || written.has(b.id)) || !(a.offset < b.offset + b.elements && b.offset < a.offset + a.elements)),
  );
}
