/**
 * What the ONNX tests share: graphnet's own forward pass of a graph with given weights (the reference
 * kernels, evaluation mode), ONNX Runtime's run of a model's bytes, random weights and MNIST-like inputs,
 * and the relative difference the two are held to.
 */
import * as ort from "onnxruntime-node";
import { Executor } from "../../src/exec/executor.js";
import { compilePlan } from "../../src/exec/plan.js";
import type { Graph } from "../../src/graph/ir.js";
import { initialWeights } from "../../src/onnx/weights.js";
import { getOp } from "../../src/ops/registry.js";
import { Random } from "../../src/util/random.js";

/** graphnet's values of `outputs` for inputs fed by id, at the inputs' batch size, in evaluation mode. */
export function graphnetRun(
  graph: Graph,
  weights: ReadonlyMap<string, Float32Array>,
  feeds: Readonly<Record<string, Float32Array>>,
  batch: number,
  outputs: readonly string[],
): Map<string, Float32Array> {
  const plan = compilePlan(graph, { outputs, sizes: { batch }, dtype: "float32" });
  const executor = new Executor(plan, { seed: 1, backend: "ts" });
  for (const id of [...executor.parameterIds(), ...executor.stateIds()]) executor.view(id).set(weights.get(id)!);
  for (const [id, values] of Object.entries(feeds)) executor.view(id).set(values);
  executor.run({ training: false });
  return new Map(outputs.map((id) => [id, Float32Array.from(executor.view(id))]));
}

/** ONNX Runtime's outputs of a model for float32 inputs of the given shapes. */
export async function ortRun(
  model: Uint8Array,
  feeds: Readonly<Record<string, { data: Float32Array; dims: readonly number[] }>>,
): Promise<Map<string, Float32Array>> {
  const session = await ort.InferenceSession.create(model);
  try {
    const tensors = Object.fromEntries(Object.entries(feeds).map(([name, { data, dims }]) => [name, new ort.Tensor("float32", data, dims)]));
    const results = await session.run(tensors);
    return new Map(Object.entries(results).map(([name, tensor]) => [name, Float32Array.from(tensor.data as Float32Array)]));
  } finally {
    await session.release();
  }
}

/**
 * Random weights: the graph's own initialisation with this seed, then every value that initialises to a
 * constant (biases, γ and β, the running statistics) drawn at random too (a variance positive), so that
 * no value is a default an exporter could get right by forgetting it.
 */
export function randomWeights(graph: Graph, seed: number): Map<string, Float32Array> {
  const weights = initialWeights(graph, seed);
  const random = new Random(seed);
  for (const node of graph.nodes) {
    const init = node.attrs.init;
    if (!["zeros", "ones"].includes(String(init)) || !weights.has(node.id)) continue;
    const positive = getOp(node.op)!.role === "state" && init === "ones";
    weights.get(node.id)!.forEach((_, i, values) => (values[i] = positive ? 0.5 + Math.abs(random.normal()) : 0.2 * random.normal()));
  }
  return weights;
}

/** `rows` MNIST-like images: pixels in [0, 1], four fifths of them zero. */
export function mnistLikeImages(rows: number, seed: number): Float32Array {
  const random = new Random(seed);
  return Float32Array.from({ length: rows * 784 }, () => (random.uniform() < 0.8 ? 0 : random.uniform()));
}

/**
 * The largest difference of two tensors relative to the values: max |a − b| / max(|b|, 0.01·max|b|) over
 * the elements. A value far below the tensor's scale (a sum whose terms cancel, a probability of 1e-9) is
 * judged against 1 % of the largest value instead of itself: float32 rounding is relative to the terms
 * that made it, not to what is left of them.
 */
export function maxRelativeDifference(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return Infinity;
  let scale = 0;
  for (const v of b) scale = Math.max(scale, Math.abs(v));
  const floor = Math.max(0.01 * scale, Number.MIN_VALUE);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!) / Math.max(Math.abs(b[i]!), floor));
  return worst;
}
