/**
 * The executor: asks a backend (src/exec/backend.ts) for the plan's memory, makes every view and kernel
 * once — the backend's own kernel where it has one, the op's otherwise — then runs the plan's steps
 * straight through as often as it is asked. Nothing is allocated inside `run`.
 */
import { GraphError } from "../graph/errors.js";
import { formatShape } from "../graph/ir.js";
import type { FloatArray, RunContext } from "../ops/op.js";
import { requireOp } from "../ops/registry.js";
import { BACKENDS, type Backend, type BackendName, type CompiledStep, type Sharing, type ThreadStats } from "./backend.js";
import { BACKEND_FACTORIES } from "./backends/index.js";
import type { Batches, Samples } from "./batches.js";
import type { ParameterUpdates } from "./parameter-updates.js";
import type { Plan, PlannedValue } from "./plan.js";

export { BACKENDS, type BackendName, type Sharing, type ThreadStats };

export interface ExecutorOptions {
  /** Seed of the random ops (dropout). */
  readonly seed?: number;
  /** Default "ts". A plan of a dtype the backend does not take (float64 on "wasm") runs on "ts". */
  readonly backend?: BackendName;
  /** wasm: float32 values to reserve in the same memory after the arena, for optimizer state. Default 0. */
  readonly reserveElements?: number;
  /** wasm: threads for the big kernels, 1 or 2 (a worker thread takes part of each). Default 1. */
  readonly threads?: number;
  /**
   * wasm, 2 threads: "auto" (default) — each big kernel learns from its runs' times whether sharing it
   * with the worker pays, and the main thread takes a part back that the worker has not started in time;
   * "always" — every big kernel is shared and the main thread waits for the worker's part (and, at the
   * first run, for the worker to come up). For tests, so that what they check does not depend on how
   * the machine schedules the threads; slower on a busy machine. "adaptive" — as "auto", and besides, the
   * worker sits out whole training steps while the steps run faster without it (a busy machine; see
   * backends/wasm/step-governor.ts): what a Model uses unless its threads are given.
   */
  readonly sharing?: Sharing;
  /** Sharing "adaptive": the clock (ms) the step governor times steps by (a test's own). */
  readonly stepClock?: () => number;
  /**
   * wasm: a dataset to copy once into the arena's memory (after `reserveElements`), from which
   * `batches.fill` then gathers batches of up to `maxRows` rows by one kernel call instead of copying
   * sample by sample from JavaScript. A dataset over 1 GiB, or one that would take the memory past
   * WebAssembly's 4 GiB, stays in JavaScript memory (its batches filled as any other dataset's).
   */
  readonly resident?: { readonly data: Samples; readonly maxRows: number };
}

export interface RunOptions {
  /** Training mode turns dropout on and updates the state. Default: false (evaluation). */
  readonly training?: boolean;
  /** The training step, which picks the dropout masks. Default: the number of training runs so far. */
  readonly step?: number;
}

export class Executor {
  readonly plan: Plan;
  /** The whole arena as one typed array; parameters occupy its first `plan.parameterElements`. */
  readonly arena: FloatArray;
  private readonly views = new Map<string, FloatArray>();
  /** The values `view` hands out: parameters, inputs and the plan's outputs, which keep their memory. */
  private readonly readable: ReadonlySet<string>;
  /** Inputs and parameters not yet given values (by `feed`, or written through `view`): a run refuses to start while any is left. */
  private readonly unfed = new Set<string>();
  private readonly steps: readonly CompiledStep[];
  private readonly context: { training: boolean; seed: number; step: number };
  private trainingRuns = 0;
  /** The name of the backend the plan runs on ("ts" for a plan of a dtype the asked one does not take). */
  readonly backend: BackendName;
  /** The backend itself: its memory, kernels, batches, updates and threads. */
  readonly runtime: Backend;
  /** Ids of the nodes that run a backend's own kernel rather than the op's, in plan order. */
  readonly fastNodes: readonly string[];

  constructor(plan: Plan, options: ExecutorOptions = {}) {
    this.plan = plan;
    const asked = BACKEND_FACTORIES[options.backend ?? "ts"];
    this.backend = asked.dtypes.includes(plan.dtype) ? (options.backend ?? "ts") : "ts";
    this.runtime = BACKEND_FACTORIES[this.backend].create(plan, {
      threads: options.threads ?? 1,
      sharing: options.sharing,
      stepClock: options.stepClock,
      reserveElements: options.reserveElements ?? 0,
      resident: options.resident,
    });
    this.arena = this.runtime.values;
    for (const value of plan.values.values()) this.views.set(value.id, this.arena.subarray(value.offset, value.offset + value.elements));
    const outputs = new Set(plan.outputs);
    this.readable = new Set([...plan.values.values()].filter((v) => v.storage !== "work" || outputs.has(v.id)).map((v) => v.id));
    for (const value of plan.values.values()) if (value.storage !== "work") this.unfed.add(value.id);
    const fastNodes: string[] = [];
    const compiled = plan.steps.map((step): CompiledStep => {
      const op = requireOp(step.node.op);
      const spec = {
        nodeId: step.node.id,
        attrs: step.node.attrs,
        inputShapes: step.inputs.map((v) => v.shape),
        outputShape: step.output.shape,
      };
      const fast = this.runtime.kernelFor(step, spec);
      if (fast) fastNodes.push(step.node.id);
      return {
        id: step.node.id,
        kernel: fast ?? op.kernel(spec),
        inputs: step.inputs.map((v) => this.views.get(v.id)!),
        output: this.views.get(step.node.id)!,
      };
    });
    this.steps = this.runtime.fuse(compiled, new Set(fastNodes));
    this.fastNodes = fastNodes;
    this.context = { training: false, seed: options.seed ?? 0, step: 0 };
  }

  /** Filling this executor's fed views with a dataset's batches, and counting right answers, the backend's way. */
  get batches(): Batches {
    return this.runtime.batches;
  }

  /**
   * Runs every step of the plan once. Outputs stay readable until the next run. Refuses to run while an
   * input, parameter or state has never been given values: it would silently be 0. A training run also
   * updates the state (a batch norm's running averages), each once.
   */
  run(options?: RunOptions): void {
    if (this.unfed.size > 0) this.refuseUnfed();
    // No default object for `options`: a run allocates nothing, not even that.
    const training = options?.training ?? false;
    this.context.training = training;
    this.context.step = options?.step ?? this.trainingRuns;
    if (training) {
      this.trainingRuns++;
      this.runtime.stepBegins?.();
    }
    const context: RunContext = this.context;
    for (const step of this.steps) step.kernel(step.inputs, step.output, context);
  }

  /** Training runs stop for other work (an evaluation, checkpoints): the backend's thread decisions do not count the gap as a step. */
  pauseSteps(): void {
    this.runtime.stepsPause?.();
  }

  /**
   * Resolved when the worker thread is up and takes its parts of the big kernels (at once without one:
   * the ts backend, or one thread); rejected with the reason if it fails or is closed first. Awaiting it
   * is never needed: until then the main thread runs whole kernels itself.
   */
  get ready(): Promise<void> {
    return this.runtime.ready;
  }

  /** What the worker thread has done so far: parts handed over, run by it, taken back by the main thread. */
  threadStats(): ThreadStats {
    return this.runtime.threadStats();
  }

  /**
   * Ends the worker thread, if there is one; resolved when it has ended. The executor stays usable:
   * its runs then use the main thread alone. (An executor that is not closed does not keep the process
   * alive either.)
   */
  close(): Promise<void> {
    return this.runtime.close();
  }

  has(id: string): boolean {
    return this.views.has(id);
  }

  /**
   * The live view of a value in the arena: write inputs and parameters into it, read outputs from it.
   * Only those: any other value's memory is given to later values of the same run (and a value fused
   * into another kernel is never written at all), so what it held would be stale — refused, saying how
   * to keep it (list it among the plan's outputs). Taking the view of an input or parameter counts as
   * giving it values (it is written in place).
   */
  view(id: string): FloatArray {
    const view = this.views.get(id);
    if (view) this.unfed.delete(id);
    if (!view) throw new GraphError(`"${id}" is not part of this plan (it is not needed for the outputs ${this.plan.outputs.join(", ")}).`);
    if (!this.readable.has(id)) {
      throw new GraphError(
        `"${id}" is an intermediate value of this plan, not one of its outputs (${this.plan.outputs.join(", ")}): its memory is reused by later steps, ` +
          `so after a run it no longer holds "${id}". To read it, list it among the outputs: compilePlan(graph, { outputs: [..., "${id}"] }).`,
      );
    }
    return view;
  }

  /** What the plan holds about a value: its shape, storage and place in the arena (any value of the plan). */
  value(id: string): PlannedValue {
    const value = this.plan.values.get(id);
    if (!value) throw new GraphError(`"${id}" is not part of this plan (it is not needed for the outputs ${this.plan.outputs.join(", ")}).`);
    return value;
  }

  /** Copies `data` into an input (or parameter), checking its length against the planned shape. */
  feed(id: string, data: ArrayLike<number>): void {
    const view = this.view(id);
    if (data.length !== view.length) {
      throw new GraphError(`expected ${view.length} values for "${id}" of shape ${formatShape(this.value(id).shape)}, got ${data.length}.`, { nodeId: id });
    }
    view.set(data);
  }

  /** A copy of a value, in float64. */
  read(id: string): Float64Array {
    return Float64Array.from(this.view(id));
  }

  private refuseUnfed(): never {
    const unfed = [...this.unfed];
    const inputs = unfed.filter((id) => this.plan.values.get(id)!.storage === "input");
    const parameters = unfed.filter((id) => this.plan.values.get(id)!.storage === "parameter");
    const state = unfed.filter((id) => this.plan.values.get(id)!.storage === "state");
    const list = (ids: string[]) => ids.map((id) => `"${id}"`).join(", ");
    const problems = [
      ...(inputs.length > 0
        ? [
            `${inputs.length === 1 ? "input" : "inputs"} ${list(inputs)} ${inputs.length === 1 ? "was" : "were"} never fed (executor.feed(id, values), or write into executor.view(id))`,
          ]
        : []),
      ...(parameters.length > 0
        ? [
            `${parameters.length === 1 ? "parameter" : "parameters"} ${list(parameters)} ${parameters.length === 1 ? "was" : "were"} never given values (initializeParameters(executor, graph, seed), or feed them)`,
          ]
        : []),
      ...(state.length > 0
        ? [
            `state ${list(state)} ${state.length === 1 ? "was" : "were"} never given values (initializeParameters(executor, graph, seed) sets it too, or feed it)`,
          ]
        : []),
    ];
    throw new GraphError(`cannot run the plan: ${problems.join("; ")}. Unfed, they would silently be 0.`);
  }

  /**
   * How an optimizer's updates run on this executor's backend, with its state where they read it (on wasm,
   * in the region `reserveElements` set aside, while there is room). One for each optimizer.
   */
  parameterUpdates(): ParameterUpdates {
    return this.runtime.parameterUpdates();
  }

  /** Ids of the parameters in the plan, in arena order. */
  parameterIds(): string[] {
    return this.idsOf("parameter");
  }

  /** Ids of the non-trainable state in the plan (a batch norm's running averages), in arena order. */
  stateIds(): string[] {
    return this.idsOf("state");
  }

  private idsOf(storage: "parameter" | "state"): string[] {
    return [...this.plan.values.values()].filter((v) => v.storage === storage).map((v) => v.id);
  }
}
