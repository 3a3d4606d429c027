/**
 * The WebAssembly backend's own kernels for batch_norm and batch_norm_grad (asm/kernels.ts batchNorm,
 * batchNormGrad): each channel (the feature of a [batch, F] input, the channel of an [N, C, H, W] one)
 * computed alone, its sums over the batch in float64 — so the threads share a call by channels, and a
 * channel's values are the same whichever thread computes it and wherever the channels are cut. Whether
 * the batch's statistics or the running averages are used is the run's (`run.training`), as in the
 * reference kernel; in training the forward kernel updates the running averages in place.
 *
 * Held to the op's reference kernel by test/exec/wasm-batch-norm.test.ts.
 */
import { sizeOf, type Attrs, type ConcreteShape } from "../../../graph/ir.js";
import { BATCH_NORM_DEFAULTS } from "../../../ops/batch_norm.js";
import type { FloatArray, Kernel, KernelSpec } from "../../../ops/op.js";
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
