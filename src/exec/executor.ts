/**
 * The executor: owns one arena, makes every view and kernel once, then runs the plan's steps straight
 * through as often as it is asked. Nothing is allocated inside `run`.
 */
import { GraphError } from "../graph/errors.js";
import { formatShape, type Graph } from "../graph/ir.js";
import type { FloatArray, Kernel, RunContext } from "../ops/op.js";
import { requireOp } from "../ops/registry.js";
import type { Plan, PlannedValue } from "./plan.js";

interface CompiledStep {
  readonly id: string;
  readonly kernel: Kernel;
  readonly inputs: readonly FloatArray[];
  readonly output: FloatArray;
}

export interface RunOptions {
  /** Training mode turns dropout on. Default: false (evaluation). */
  readonly training?: boolean;
  /** The training step, which picks the dropout masks. Default: the number of training runs so far. */
  readonly step?: number;
}

export class Executor {
  readonly plan: Plan;
  /** The whole arena as one typed array; parameters occupy its first `plan.parameterElements`. */
  readonly arena: FloatArray;
  private readonly views = new Map<string, FloatArray>();
  private readonly steps: readonly CompiledStep[];
  private readonly context: { training: boolean; seed: number; step: number };
  private trainingRuns = 0;

  constructor(plan: Plan, options: { seed?: number } = {}) {
    this.plan = plan;
    this.arena = plan.dtype === "float64" ? new Float64Array(plan.arenaElements) : new Float32Array(plan.arenaElements);
    for (const value of plan.values.values()) this.views.set(value.id, this.arena.subarray(value.offset, value.offset + value.elements));
    this.steps = plan.steps.map((step) => {
      const op = requireOp(step.node.op);
      return {
        id: step.node.id,
        kernel: op.kernel({
          nodeId: step.node.id,
          attrs: step.node.attrs,
          inputShapes: step.inputs.map((v) => v.shape),
          outputShape: step.output.shape,
        }),
        inputs: step.inputs.map((v) => this.views.get(v.id)!),
        output: this.views.get(step.node.id)!,
      };
    });
    this.context = { training: false, seed: options.seed ?? 0, step: 0 };
  }

  /** Runs every step of the plan once. Outputs stay readable until the next run. */
  run(options?: RunOptions): void {
    // No default object for `options`: a run allocates nothing, not even that.
    const training = options?.training ?? false;
    this.context.training = training;
    this.context.step = options?.step ?? this.trainingRuns;
    if (training) this.trainingRuns++;
    const context: RunContext = this.context;
    for (const step of this.steps) step.kernel(step.inputs, step.output, context);
  }

  has(id: string): boolean {
    return this.views.has(id);
  }

  /** The live view of a value in the arena: write inputs and parameters into it, read outputs from it. */
  view(id: string): FloatArray {
    const view = this.views.get(id);
    if (!view) throw new GraphError(`"${id}" is not part of this plan (it is not needed for the outputs ${this.plan.outputs.join(", ")}).`);
    return view;
  }

  value(id: string): PlannedValue {
    this.view(id);
    return this.plan.values.get(id)!;
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

  /** Ids of the parameters in the plan, in arena order. */
  parameterIds(): string[] {
    return [...this.plan.values.values()].filter((v) => v.storage === "parameter").map((v) => v.id);
  }
}

/** Convenience: the ids of the nodes of `graph` whose op has the given role. */
export function idsWithRole(graph: Graph, role: "input" | "parameter"): string[] {
  return graph.nodes.filter((n) => requireOp(n.op).role === role).map((n) => n.id);
}
