/**
 * Steps of a plan that the WebAssembly backend runs as one kernel. So far one pattern: the softmax of the
 * logits, the cross-entropy loss on them and its gradient — three steps of a classifier's training plan
 * that each compute the same exponentials — become one pass over each row at the last of the three,
 * bit for bit what the three kernels give (tested).
 */
import { sizeOf } from "../../../graph/ir.js";
import type { FloatArray, Kernel } from "../../../ops/op.js";
import type { Plan } from "../../plan.js";
import { splitPoint, SPLIT_SOFTMAX_ELEMENTS, type FastKernelContext } from "./kernels.js";
import { JOB } from "./pool.js";

/** A step as the executor compiled it. */
export interface CompiledStep {
  readonly id: string;
  readonly kernel: Kernel;
  readonly inputs: readonly FloatArray[];
  readonly output: FloatArray;
}

const nothing: Kernel = () => {};

/** The steps with every fusable pattern replaced: its last step runs the fused kernel, the others nothing. */
export function fuseSteps(plan: Plan, steps: readonly CompiledStep[], fast: ReadonlySet<string>, context: FastKernelContext): CompiledStep[] {
  const fused = [...steps];
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
    fused[k] = { ...steps[k]!, kernel: softmaxCrossEntropyAll(shape[0]!, shape[1]!, steps[i]!.output, steps[j]!.output, context) };
    fused[i] = { ...steps[i]!, kernel: nothing };
    fused[j] = { ...steps[j]!, kernel: nothing };
  });
  return fused;
}

/** The fused kernel, rows split between the threads; the loss summed in the same two halves as softmax_cross_entropy's. */
function softmaxCrossEntropyAll(rows: number, n: number, probs: FloatArray, loss: FloatArray, { kernels, pool, scratch, memory }: FastKernelContext): Kernel {
  const h = splitPoint(rows);
  const parts = new Float64Array(memory.buffer, scratch, 2);
  const split = pool !== undefined && rows * n >= SPLIT_SOFTMAX_ELEMENTS;
  const pp = probs.byteOffset;
  return ([z, y, dL], grad) => {
    const [pz, py, pd, pg] = [z!.byteOffset, y!.byteOffset, dL!.byteOffset, grad.byteOffset];
    const o = 4 * h * n;
    const started = split && pool!.start(JOB.softmaxCrossEntropyAll, pz + o, py + o, pd, pp + o, pg + o, rows - h, n, rows, scratch + 8);
    if (!started) kernels.softmaxCrossEntropyAll(pz + o, py + o, pd, pp + o, pg + o, rows - h, n, rows, scratch + 8);
    kernels.softmaxCrossEntropyAll(pz, py, pd, pp, pg, h, n, rows, scratch);
    if (started) pool!.finish();
    loss[0] = (parts[0]! + parts[1]!) / rows;
  };
}
