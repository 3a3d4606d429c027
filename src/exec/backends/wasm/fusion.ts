/**
 * Steps of a plan that the WebAssembly backend runs as one kernel, bit for bit what the separate kernels
 * give (tested):
 *   - a layer: a product, its bias add and a relu after it — the bias and the relu applied as each block
 *     of the product is stored, instead of two more passes over its output; a convolution likewise, with
 *     a bias [C, 1, 1], each image's output added to and rectified while it is in the cache;
 *   - a classifier's head: the softmax of the logits, the cross-entropy on them and its gradient, which
 *     each compute the same exponentials — one pass over each row;
 *   - batch norm's gradients for x, γ and β, which each compute the batch's statistics (batch-norm.ts).
 * A fused kernel runs at the last of its steps (where the memory of every value it writes is reserved),
 * the others run nothing.
 */
import { sizeOf, type ConcreteShape } from "../../../graph/ir.js";
import type { FloatArray, Kernel } from "../../../ops/op.js";
import type { CompiledStep } from "../../backend.js";
import type { Plan } from "../../plan.js";
import { fuseBatchNormGrads } from "./batch-norm.js";
import { conv2dKernel, isChannelBias } from "./conv.js";
import { matmulKernel, type FastKernelContext } from "./kernels.js";
import { afterParts, isSharedOnly, SharedCall, sharedOnly } from "./share.js";
import { shareFor, splitPoint, SPLIT_SOFTMAX_ELEMENTS } from "./split-policy.js";

/** The kernel of a step another step's fused kernel computes. */
export const nothing: Kernel = () => {};

/** The plan steps each fused kernel computes (by the kernel): its own and those that run `nothing`. */
const covering = new WeakMap<Kernel, readonly number[]>();

/** The plan steps `kernel` computes, if it is a fused kernel; undefined for any other. */
export function stepsCoveredBy(kernel: Kernel): readonly number[] | undefined {
  return covering.get(kernel);
}

/** Steps [from, to) as one kernel (in place): the last of them runs it, the others nothing. */
export function runAsOne(steps: CompiledStep[], from: number, to: number, kernel: Kernel): void {
  steps[to - 1] = { ...steps[to - 1]!, kernel };
  for (let s = from; s < to - 1; s++) steps[s] = { ...steps[s]!, kernel: nothing };
}

/**
 * The steps with each run that `runFrom(s)` finds from step s on replaced by the kernel it gives (runAsOne);
 * a run without a kernel is left as it is, and the search goes on after it (after step s when none is found).
 */
export function replaceRuns(steps: readonly CompiledStep[], runFrom: (s: number) => { end: number; kernel?: Kernel } | undefined): CompiledStep[] {
  const replaced = [...steps];
  for (let s = 0; s < steps.length; ) {
    const run = runFrom(s);
    const end = run?.end ?? s + 1;
    if (run?.kernel) runAsOne(replaced, s, end, run.kernel);
    s = end;
  }
  return replaced;
}

/** The steps with every fusable pattern replaced: its last step runs the fused kernel, the others nothing. */
export function fuseSteps(plan: Plan, steps: readonly CompiledStep[], fast: ReadonlySet<string>, context: FastKernelContext): CompiledStep[] {
  const fused = [...steps];
  fuseLayers(plan, steps, fused, fast, context);
  fuseConvLayers(plan, steps, fused, fast, context);
  fuseHeads(plan, steps, fused, fast, context);
  fuseBatchNormGrads(plan, steps, fused, fast, context);
  return fused;
}

/** softmax(z), softmax_cross_entropy(z, y), softmax_cross_entropy_grad(z, y, dL): see the file's comment. */
function fuseHeads(plan: Plan, steps: readonly CompiledStep[], fused: CompiledStep[], fast: ReadonlySet<string>, context: FastKernelContext): void {
  plan.steps.forEach((gradStep, k) => {
    if (gradStep.node.op !== "softmax_cross_entropy_grad") return;
    const [z, y] = gradStep.node.inputs;
    const same = (op: string, inputs: readonly string[]) => (s: Plan["steps"][number]) =>
      s.node.op === op && s.node.inputs.length === inputs.length && s.node.inputs.every((id, i) => id === inputs[i]);
    const i = plan.steps.findIndex(same("softmax", [z!]));
    const j = plan.steps.findIndex(same("softmax_cross_entropy", [z!, y!]));
    if (i < 0 || j < 0 || i > k || j > k) return;
    // Only where all three run the backend's own kernels (whose bits the fused kernel reproduces).
    if (![i, j, k].every((index) => fast.has(plan.steps[index]!.node.id))) return;
    const [probs, loss] = [plan.steps[i]!.output, plan.steps[j]!.output];
    // Computed at step k instead of i and j: their values must not be read before k, and their memory
    // must stay theirs until then (the planner may give it to another value after their last reader).
    const readBefore = (id: string) => plan.steps.slice(0, k).some((s) => s.inputs.some((v) => v.id === id));
    if (readBefore(probs.id) || readBefore(loss.id) || probs.lastStep < k || loss.lastStep < k) return;
    const shape = probs.shape;
    if (shape.length !== 2 || sizeOf(shape) === 0) return;
    const kernel = softmaxCrossEntropyAll(shape[0]!, shape[1]!, steps[i]!.output, steps[j]!.output, context);
    fused[k] = { ...steps[k]!, kernel };
    covering.set(kernel, [i, j, k]);
    fused[i] = { ...steps[i]!, kernel: nothing };
    fused[j] = { ...steps[j]!, kernel: nothing };
  });
}

/** The fused kernel, rows split between the threads; the loss summed in the same two halves as softmax_cross_entropy's. */
function softmaxCrossEntropyAll(rows: number, n: number, probs: FloatArray, loss: FloatArray, context: FastKernelContext): Kernel {
  const { pool, sums, memory } = context;
  const parts = new Float64Array(memory.buffer, sums, 2);
  // softmaxCrossEntropyAll(z, y, dL, probs, grad, rows, n, batch, sum)
  const f = new SharedCall(context, "softmaxCrossEntropyAll", shareFor(rows * n, SPLIT_SOFTMAX_ELEMENTS, pool), {
    count: 5,
    perUnit: { 0: 4 * n, 1: 4 * n, 3: 4 * n, 4: 4 * n },
    second: { 8: sums + 8 },
    cut: splitPoint(rows),
    aloneInParts: true,
    rowLocal: true,
  });
  const pp = probs.byteOffset;
  const addHalves = () => (loss[0] = (parts[0]! + parts[1]!) / rows);
  return sharedOnly(([z, y, dL], grad) => {
    f.run(z!.byteOffset, y!.byteOffset, dL!.byteOffset, pp, grad.byteOffset, rows, n, rows, sums);
    afterParts(context, addHalves);
  });
}

/**
 * A product step i followed by the add of a bias to its output and (optionally) a relu of the sum, every
 * one running the backend's own kernel: the bias's index among the add's inputs and the last step of
 * the pattern, or undefined. `isBias(bias, x)`: whether the add's other operand is a bias the fused
 * kernel adds to the product's output x.
 */
function layerAt(
  plan: Plan,
  i: number,
  op: string,
  fast: ReadonlySet<string>,
  isBias: (bias: ConcreteShape, x: ConcreteShape) => boolean,
): { biasIndex: number; withRelu: boolean; last: number } | undefined {
  const product = plan.steps[i]!;
  const add = plan.steps[i + 1];
  if (product.node.op !== op || !add || add.node.op !== "add" || !fast.has(product.node.id) || !fast.has(add.node.id)) return undefined;
  const x = product.output;
  // The product's only reader is the add, right after it (its memory may stay its own for longer:
  // PlanOptions.gradientsLast); its other operand is a bias.
  if (x.lastStep < i + 1 || plan.outputs.includes(x.id) || plan.steps.some((s, j) => j !== i + 1 && s.inputs.some((v) => v.id === x.id))) return undefined;
  const biasIndex = add.inputs[0]!.id === x.id ? 1 : 0;
  if (add.inputs[1 - biasIndex]!.id !== x.id || !isBias(add.inputs[biasIndex]!.shape, x.shape)) return undefined;
  const relu = plan.steps[i + 2];
  const withRelu = relu !== undefined && relu.node.op === "relu" && relu.inputs[0]!.id === add.output.id && fast.has(relu.node.id);
  const last = withRelu ? i + 2 : i + 1;
  // The product's operands must still hold their values at the last step.
  if (product.inputs.some((v) => v.lastStep < last)) return undefined;
  return { biasIndex, withRelu, last };
}

/** The steps from i to `last` replaced by `kernel` over the product's operands, run at `last` (writing the add's output). */
function fuseAt(steps: readonly CompiledStep[], fused: CompiledStep[], i: number, last: number, kernel: Kernel): void {
  const operands = steps[i]!.inputs;
  const z = steps[i + 1]!.output;
  const wrapped: Kernel = (_inputs, _output, run) => kernel(operands, z, run);
  if (isSharedOnly(kernel)) sharedOnly(wrapped);
  covering.set(wrapped, Array.from({ length: last - i + 1 }, (_, s) => i + s));
  runAsOne(fused, i, last + 1, wrapped);
}

/** The epilogue of a layer found by layerAt: the bias's address and where relu of the sum goes. */
function epilogueOf(steps: readonly CompiledStep[], i: number, { biasIndex, withRelu }: { biasIndex: number; withRelu: boolean }) {
  const z = steps[i + 1]!.output;
  return { bias: steps[i + 1]!.inputs[biasIndex]!.byteOffset, reluDelta: withRelu ? steps[i + 2]!.output.byteOffset - z.byteOffset : 0 };
}

/** matmul → add(bias) → relu (the relu optional), on consecutive steps: see the file's comment. */
function fuseLayers(plan: Plan, steps: readonly CompiledStep[], fused: CompiledStep[], fast: ReadonlySet<string>, context: FastKernelContext): void {
  const rowBias = (bias: ConcreteShape, x: ConcreteShape) => x.length === 2 && sizeOf(bias) === x[1] && bias.at(-1) === x[1];
  plan.steps.forEach((product, i) => {
    const layer = layerAt(plan, i, "matmul", fast, rowBias);
    if (!layer) return;
    const kernel = matmulKernel(
      { nodeId: product.node.id, attrs: product.node.attrs, inputShapes: product.inputs.map((v) => v.shape), outputShape: product.output.shape },
      { ...context, inputs: product.inputs },
      epilogueOf(steps, i, layer),
    );
    if (kernel) fuseAt(steps, fused, i, layer.last, kernel);
  });
}

/** conv2d → add(bias [C, 1, 1]) → relu (the relu optional), on consecutive steps: a convolutional layer, as fuseLayers. */
function fuseConvLayers(plan: Plan, steps: readonly CompiledStep[], fused: CompiledStep[], fast: ReadonlySet<string>, context: FastKernelContext): void {
  plan.steps.forEach((conv, i) => {
    const layer = layerAt(plan, i, "conv2d", fast, isChannelBias);
    if (!layer) return;
    const kernel = conv2dKernel(
      { nodeId: conv.node.id, attrs: conv.node.attrs, inputShapes: conv.inputs.map((v) => v.shape), outputShape: conv.output.shape },
      { ...context, inputs: conv.inputs },
      epilogueOf(steps, i, layer),
    );
    if (kernel) fuseAt(steps, fused, i, layer.last, kernel);
  });
}
