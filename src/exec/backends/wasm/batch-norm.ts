/**
 * The WebAssembly backend's own kernels for batch_norm and batch_norm_grad (asm/kernels.ts batchNorm,
 * batchNormGrad): each channel (the feature of a [batch, F] input, the channel of an [N, C, H, W] one)
 * computed alone, its sums over the batch in float64 — so the threads share a call by channels, and a
 * channel's values are the same whichever thread computes it and wherever the channels are cut. Whether
 * the batch's statistics or the running averages are used is the run's (`run.training`), as in the
 * reference kernel; in training the forward kernel updates the running averages in place.
 *
 * The gradients for x, γ and β are three nodes over the same inputs, each of which would recompute the
 * batch's statistics and the sums over δ: the backend runs them as one kernel (fuseBatchNormGrads), each
 * output the bits its own kernel gives.
 *
 * Held to the op's reference kernel by test/exec/wasm-batch-norm.test.ts.
 */
import { sizeOf, type Attrs, type ConcreteShape } from "../../../graph/ir.js";
import { BATCH_NORM_DEFAULTS } from "../../../ops/batch_norm.js";
import type { FloatArray, Kernel, KernelSpec } from "../../../ops/op.js";
import type { CompiledStep } from "../../backend.js";
import type { Plan } from "../../plan.js";
import { SharedCall, type ShareContext } from "./share.js";
import { splitFor, SPLIT_ELEMENTS } from "./split-policy.js";

type BatchNormKernelFactory = (spec: KernelSpec<Attrs>, context: ShareContext) => Kernel | undefined;

const at = (view: FloatArray) => view.byteOffset;

/** [images, channels, inner…] as the kernels take it: element (n, c, s) at (n·channels + c)·inner + s. */
function layoutOf(x: ConcreteShape): { images: number; channels: number; inner: number } {
  const [images, channels] = x as [number, number];
  return { images, channels, inner: sizeOf(x.slice(2)) };
}

/**
 * batchNorm(x, gamma, beta, runningMean, runningVar, out, channels, images, imageChannels, inner,
 * momentum, epsilon, training), shared by channels.
 */
const batchNormKernel: BatchNormKernelFactory = ({ inputShapes: [x], attrs }, context) => {
  const { images, channels, inner } = layoutOf(x!);
  const momentum = (attrs.momentum as number | undefined) ?? BATCH_NORM_DEFAULTS.momentum;
  const epsilon = (attrs.epsilon as number | undefined) ?? BATCH_NORM_DEFAULTS.epsilon;
  const call = new SharedCall(context, "batchNorm", splitFor(channels, 1, sizeOf(x!), SPLIT_ELEMENTS, context.pool), {
    count: 6,
    perUnit: { 0: 4 * inner, 1: 4, 2: 4, 3: 4, 4: 4, 5: 4 * inner },
  });
  return ([X, gamma, beta, runningMean, runningVar], out, run) =>
    call.run(
      at(X!),
      at(gamma!),
      at(beta!),
      at(runningMean!),
      at(runningVar!),
      at(out),
      channels,
      images,
      channels,
      inner,
      momentum,
      epsilon,
      run.training ? 1 : 0,
    );
};

const WRT = { x: 0, gamma: 1, beta: 2 } as const;

/**
 * batchNormGrad(dy, x, gamma, runningMean, runningVar, out, channels, images, imageChannels, inner,
 * epsilon, training, wrt), shared by channels.
 */
const batchNormGradKernel: BatchNormKernelFactory = ({ inputShapes: [, x], attrs }, context) => {
  const { images, channels, inner } = layoutOf(x!);
  const epsilon = (attrs.epsilon as number | undefined) ?? BATCH_NORM_DEFAULTS.epsilon;
  const wrt = WRT[attrs.wrt as keyof typeof WRT];
  const call = new SharedCall(context, "batchNormGrad", splitFor(channels, 1, sizeOf(x!), SPLIT_ELEMENTS, context.pool), {
    count: 6,
    perUnit: { 0: 4 * inner, 1: 4 * inner, 2: 4, 3: 4, 4: 4, 5: wrt === WRT.x ? 4 * inner : 4 },
  });
  return ([dy, X, gamma, runningMean, runningVar], out, run) =>
    call.run(at(dy!), at(X!), at(gamma!), at(runningMean!), at(runningVar!), at(out), channels, images, channels, inner, epsilon, run.training ? 1 : 0, wrt);
};

/** The batch norm ops' own kernels, by op name. */
export const BATCH_NORM_KERNELS: Readonly<Record<string, BatchNormKernelFactory>> = {
  batch_norm: batchNormKernel,
  batch_norm_grad: batchNormGradKernel,
};

const nothing: Kernel = () => {};

/**
 * The batch_norm_grad steps over the same inputs and ε (x's, γ's and β's gradients of one batch_norm),
 * every one running its own kernel here, as one kernel at the last of them (where the memory of every
 * output it writes is reserved; the others then run nothing): in training, batchNormGrads(dy, x, gamma,
 * dx, dgamma, dbeta, channels, images, imageChannels, inner, epsilon, outputs), shared by channels; in
 * evaluation (rare: a gradient check), each step's own kernel in turn.
 */
export function fuseBatchNormGrads(plan: Plan, steps: readonly CompiledStep[], fused: CompiledStep[], fast: ReadonlySet<string>, context: ShareContext): void {
  const groups = new Map<string, number[]>();
  plan.steps.forEach((step, i) => {
    if (step.node.op !== "batch_norm_grad" || !fast.has(step.node.id)) return;
    const key = JSON.stringify([step.node.inputs, step.node.attrs.epsilon ?? BATCH_NORM_DEFAULTS.epsilon]);
    groups.set(key, [...(groups.get(key) ?? []), i]);
  });
  for (const members of groups.values()) {
    const k = members.at(-1)!;
    const wrts = members.map((i) => plan.steps[i]!.node.attrs.wrt as keyof typeof WRT);
    if (members.length < 2 || new Set(wrts).size !== members.length) continue;
    // Computed at step k: the others' outputs must not be read before k, and their memory must stay theirs until then.
    const outputs = members.map((i) => plan.steps[i]!.output);
    const readBefore = (id: string) => plan.steps.slice(0, k).some((s) => s.inputs.some((v) => v.id === id));
    if (outputs.some((v) => v.lastStep < k || readBefore(v.id))) continue;
    // An output not asked for is at 0 (moved like the others in the worker's part, never written: `which`).
    const outputOf = (wrt: keyof typeof WRT) => {
      const m = wrts.indexOf(wrt);
      return m < 0 ? 0 : steps[members[m]!]!.output.byteOffset;
    };
    const which = wrts.reduce((mask, wrt) => mask | (1 << WRT[wrt]), 0);
    const [dx, dgamma, dbeta] = [outputOf("x"), outputOf("gamma"), outputOf("beta")];
    const x = plan.steps[k]!.inputs[1]!.shape;
    const { images, channels, inner } = layoutOf(x);
    const epsilon = (plan.steps[k]!.node.attrs.epsilon as number | undefined) ?? BATCH_NORM_DEFAULTS.epsilon;
    const call = new SharedCall(context, "batchNormGrads", splitFor(channels, 1, sizeOf(x), SPLIT_ELEMENTS, context.pool), {
      count: 6,
      perUnit: { 0: 4 * inner, 1: 4 * inner, 2: 4, 3: 4 * inner, 4: 4, 5: 4 },
    });
    const separate = members.map((i) => steps[i]!);
    fused[k] = {
      ...steps[k]!,
      kernel: ([dy, X, gamma], _output, run) => {
        if (run.training) call.run(at(dy!), at(X!), at(gamma!), dx, dgamma, dbeta, channels, images, channels, inner, epsilon, which);
        else for (const s of separate) s.kernel(s.inputs, s.output, run);
      },
    };
    for (const i of members.slice(0, -1)) fused[i] = { ...steps[i]!, kernel: nothing };
  }
}
