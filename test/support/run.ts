/** Small helpers shared by the op, autodiff and gradcheck tests: build a graph, plan it, run it. */
import { Executor } from "../../src/exec/executor.js";
import { compilePlan, type DType } from "../../src/exec/plan.js";
import type { Attrs, Graph, GraphNode, Shape } from "../../src/graph/ir.js";

export function node(id: string, op: string, inputs: readonly string[] = [], attrs: Attrs = {}): GraphNode {
  return { id, op, inputs: [...inputs], attrs };
}

export function inputNode(id: string, shape: Shape, feed?: "features" | "labels"): GraphNode {
  return node(id, "input", [], feed ? { shape: [...shape], feed } : { shape: [...shape] });
}

export interface RunOptions {
  outputs: readonly string[];
  feeds?: Record<string, ArrayLike<number>>;
  sizes?: Record<string, number>;
  dtype?: DType;
  reuse?: boolean;
  training?: boolean;
  step?: number;
  seed?: number;
}

/** Plans `graph` for `outputs`, feeds every input and parameter given, runs once and reads the outputs. */
export function run(graph: Graph, options: RunOptions): Record<string, Float64Array> {
  const plan = compilePlan(graph, {
    outputs: options.outputs,
    sizes: options.sizes ?? {},
    dtype: options.dtype ?? "float64",
    reuse: options.reuse ?? true,
  });
  const executor = new Executor(plan, { seed: options.seed ?? 0 });
  for (const [id, data] of Object.entries(options.feeds ?? {})) if (executor.has(id)) executor.feed(id, data);
  executor.run({ training: options.training ?? false, step: options.step ?? 0 });
  return Object.fromEntries(options.outputs.map((id) => [id, executor.read(id)]));
}

/** Runs a single op on the given inputs (fed as inputs "x0", "x1", …) and returns its output. */
export function runOp(
  op: string,
  inputs: readonly { shape: readonly number[]; data: ArrayLike<number> }[],
  options: { attrs?: Attrs; dtype?: DType; training?: boolean; step?: number; seed?: number; id?: string } = {},
): Float64Array {
  const id = options.id ?? "y";
  const graph: Graph = {
    name: `op ${op}`,
    nodes: [
      ...inputs.map((x, i) => inputNode(`x${i}`, x.shape)),
      node(
        id,
        op,
        inputs.map((_, i) => `x${i}`),
        options.attrs ?? {},
      ),
    ],
  };
  const feeds = Object.fromEntries(inputs.map((x, i) => [`x${i}`, x.data]));
  return run(graph, { outputs: [id], feeds, ...options })[id]!;
}

export function product(shape: readonly number[]): number {
  return shape.reduce((n, d) => n * d, 1);
}

/** Row-major strides of a shape. */
export function strides(shape: readonly number[]): number[] {
  const out = new Array<number>(shape.length).fill(1);
  for (let i = shape.length - 2; i >= 0; i--) out[i] = out[i + 1]! * shape[i + 1]!;
  return out;
}

/** Every multi-index of a shape, in row-major order. */
export function* indices(shape: readonly number[]): Generator<number[]> {
  const n = product(shape);
  for (let flat = 0; flat < n; flat++) {
    const index = new Array<number>(shape.length);
    let rest = flat;
    for (let d = shape.length - 1; d >= 0; d--) {
      index[d] = rest % shape[d]!;
      rest = Math.floor(rest / shape[d]!);
    }
    yield index;
  }
}

/** True when two arrays hold the same numbers bit for bit (NaN equal to NaN, 0 distinct from −0). */
export function bitwiseEqual(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return false;
  return true;
}
