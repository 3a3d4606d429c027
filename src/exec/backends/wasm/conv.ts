/**
 * The WebAssembly backend's own kernels for the image ops: conv2d and the two ops of its gradient, 2 × 2
 * max pooling and its gradient, and a bias [C, 1, 1] added over channels or summed back to them. Each
 * returns undefined for a case it does not cover (a stride or dilation above 1, another pooling window),
 * and the op's reference kernel runs instead.
 *
 * A convolution runs per image as a product (asm/kernels.ts `conv2d`: the image unfolded into columns in
 * the scratch space, then the blocked matmul); the worker thread takes a part of the images, each image
 * computed the same way by either thread. The input gradient is a convolution too (of δ with the filters
 * reversed and their channels swapped, padded by what the forward padding leaves of the kernel). The
 * filter gradient, a sum over the batch, is always taken in two fixed halves of the batch added at the
 * end, so that one thread and two give the same bits. Both gradients skip the zeros of δ's images that
 * are mostly zeros (a max pooling routes one value of each window back, a relu zeroes more), and the
 * filter gradient those of an input image planned as mostly zeros; skipping gives the dense product's
 * bits (the skipped terms are exact zeros).
 *
 * Every kernel here is held to the op's reference kernel by test/exec/wasm-conv.test.ts.
 */
import { sizeOf, type Attrs, type ConcreteShape } from "../../../graph/ir.js";
import { windowGeometry, type WindowAttrValues, type WindowGeometry } from "../../../ops/conv-geometry.js";
import type { FloatArray, Kernel, KernelSpec } from "../../../ops/op.js";
import { poolGeometry, type PoolAttrs } from "../../../ops/pool-window.js";
import type { PlannedValue, PlanStep } from "../../plan.js";
import { SharedCall, type ShareContext } from "./share.js";
import { shareFor, splitFor, SPLIT_ELEMENTS, SPLIT_MACS } from "./split-policy.js";

/** What these kernels need of the backend (a part of FastKernelContext, kernels.ts). */
export interface ImageKernelContext extends ShareContext {
  /** Byte offset of the main thread's scratch space (sized by imageScratchBytes). */
  readonly scratch: number;
  /** The node's planned inputs: a mostly-zero image input makes the filter gradient skip its zeros. */
  readonly inputs: readonly PlannedValue[];
}

type ImageKernelFactory = (spec: KernelSpec<Attrs>, context: ImageKernelContext) => Kernel | undefined;

const at = (view: FloatArray) => view.byteOffset;
const align = (bytes: number) => Math.ceil(bytes / 64) * 64;

/** Two sizes in one argument, as asm/kernels.ts unpacks them: (high << 16) | low, each a signed 16-bit half. */
function pack(high: number, low: number): number {
  return ((high & 0xffff) << 16) | (low & 0xffff);
}

/** Sizes up to this pack into 16 bits (signed), paddings and their complements too: larger ones run the reference kernels. */
const MAX_PACKED = 0x3fff;

/** The geometry of a convolution the fast kernels cover (stride 1, dilation 1), else undefined. */
function unitStride(h: number, w: number, kh: number, kw: number, attrs: WindowAttrValues): WindowGeometry | undefined {
  const g = windowGeometry(h, w, kh, kw, attrs);
  const fits = [g.rows, g.cols].every((a) => a.stride === 1 && a.dilation === 1 && [a.size, a.kernel, a.before, a.out].every((v) => v <= MAX_PACKED));
  return fits ? g : undefined;
}

/** Byte offsets of a convolution's epilogue (asm/kernels.ts conv2d): a bias [F, 1, 1] to add and where relu of the result goes. */
export interface ChannelEpilogue {
  /** Address of the f bias values. */
  readonly bias: number;
  /** Byte distance from the output to the relu output (same layout), or 0 for none. */
  readonly reluDelta: number;
}

/** Bytes of one image's columns: c·kh·kw rows of oh·ow floats. */
const columnsBytes = (c: number, kh: number, kw: number, positions: number) => align(4 * c * kh * kw * positions);

/**
 * The filter gradient's scratch space per thread (asm/kernels.ts conv2dGradFilterPart): the columns, δᵀ
 * of one image or the columns transposed, their product, and the zero-skipping product's list (8 bytes
 * per position).
 */
function filterPartBytes(c: number, f: number, kh: number, kw: number, positions: number): number {
  const taps = c * kh * kw;
  return columnsBytes(c, kh, kw, positions) + align(4 * positions * Math.max(f, taps)) + align(4 * taps * f) + align(8 * positions + 64);
}

/**
 * Y = conv2d(X, W), stride 1: per image, its columns into the scratch space and W · columns, the images
 * shared between the threads (asm/kernels.ts conv2d(x, w, y, images, channels, filters, inSize,
 * kernelSize, padding, outSize, scratch, bias, reluDelta)). With an epilogue (the fusion of a layer:
 * src/exec/backends/wasm/fusion.ts), Y = conv2d(X, W) + bias and relu(Y) as well, image by image.
 */
export function conv2dKernel(
  { inputShapes: [x, wShape], attrs, outputShape }: KernelSpec<Attrs>,
  context: ImageKernelContext,
  epilogue: ChannelEpilogue = { bias: 0, reluDelta: 0 },
): Kernel | undefined {
  const [n, c, h, w] = x!;
  const [f, , kh, kw] = wShape!;
  const [, , oh, ow] = outputShape;
  const g = unitStride(h!, w!, kh!, kw!, attrs as WindowAttrValues);
  if (!g) return undefined;
  const macs = n! * f! * c! * kh! * kw! * oh! * ow!;
  const call = new SharedCall(context, "conv2d", splitFor(n!, 1, macs, SPLIT_MACS, context.pool), {
    count: 3,
    perUnit: { 0: 4 * c! * h! * w!, 2: 4 * f! * oh! * ow! },
    scratch: 10,
  });
  const [inSize, kernelSize, pad, outSize] = [pack(h!, w!), pack(kh!, kw!), pack(g.rows.before, g.cols.before), pack(oh!, ow!)];
  const { bias, reluDelta } = epilogue;
  const { scratch } = context;
  return ([X, W], Y) => call.run(at(X!), at(W!), at(Y), n!, c!, f!, inSize, kernelSize, pad, outSize, scratch, bias, reluDelta);
}

/**
 * dX = the convolution of δ [n, f, oh, ow] with the filters reversed and swapped to [c, f, kh, kw] (made
 * in the scratch space by the main thread first, with its transpose), padded by kh − 1 − the forward
 * padding: output [n, c, h, w], the images shared between the threads, δ's mostly-zero images through
 * the zero-skipping product (asm/kernels.ts conv2dGradInput).
 */
const conv2dGradInputKernel: ImageKernelFactory = ({ inputShapes: [dy, wShape], attrs }, context) => {
  const [n, f, oh, ow] = dy!;
  const [, c, kh, kw] = wShape!;
  const [h, w] = (attrs as { input_size: readonly number[] }).input_size as [number, number];
  const g = unitStride(h, w, kh!, kw!, attrs as WindowAttrValues);
  if (!g) return undefined;
  const { flipped, turned, part } = inputScratch(context.scratch, sizeOf(wShape!));
  const taps = f! * kh! * kw!;
  // conv2dGradInput(dy, flipped, turned, dx, images, channels, filters, inSize, kernelSize, padding, outSize, scratch)
  const call = new SharedCall(context, "conv2dGradInput", splitFor(n!, 1, n! * c! * taps * h * w, SPLIT_MACS, context.pool), {
    count: 4,
    perUnit: { 0: 4 * f! * oh! * ow!, 3: 4 * c! * h * w },
    scratch: 11,
  });
  const [inSize, kernelSize, pad, outSize] = [pack(oh!, ow!), pack(kh!, kw!), pack(kh! - 1 - g.rows.before, kw! - 1 - g.cols.before), pack(h, w)];
  const { kernels } = context;
  return ([dY, W], dX) => {
    kernels.flipFilters(at(W!), flipped, f!, c!, kh!, kw!);
    kernels.transpose(flipped, turned, c!, taps);
    call.run(at(dY!), flipped, turned, at(dX), n!, f!, c!, inSize, kernelSize, pad, outSize, part);
  };
};

/** The input gradient's layout of the main thread's scratch space: the reversed filters, their transpose, then its working room. */
function inputScratch(scratch: number, filterElements: number): { flipped: number; turned: number; part: number } {
  const filters = align(4 * filterElements);
  return { flipped: scratch, turned: scratch + filters, part: scratch + 2 * filters };
}

/** The input gradient's scratch space per thread: δ's columns, dxᵀ, and the zero-skipping product's list (12 bytes per tap). */
function inputPartBytes(f: number, c: number, kh: number, kw: number, h: number, w: number): number {
  return columnsBytes(f, kh, kw, h * w) + align(4 * c * h * w) + align(12 * f * kh * kw + 64);
}

/**
 * dW = Σ over the batch of δ · columns(x)ᵀ, in two halves of the batch (images [0, h) and [h, n), h =
 * ⌊n/2⌋) accumulated in the main thread's scratch space, the second by the worker when it takes it; then
 * added by the main thread. The zeros skipped: of the input image if it is planned mostly zeros
 * (accumulated as [taps, f], then turned), else of δ's images that are mostly zeros (checked per image).
 */
const conv2dGradFilterKernel: ImageKernelFactory = ({ inputShapes: [x, dy], attrs }, context) => {
  const [n, c, h, w] = x!;
  const [, f, oh, ow] = dy!;
  const [kh, kw] = (attrs as { kernel_size: readonly number[] }).kernel_size as [number, number];
  const g = unitStride(h!, w!, kh, kw, attrs as WindowAttrValues);
  if (!g) return undefined;
  const taps = c! * kh * kw;
  const { acc0, acc1, part } = filterScratch(context.scratch, taps, f!);
  const sparse = context.inputs[0]!.mostlyZeros ? 1 : 0;
  const macs = n! * f! * taps * oh! * ow!;
  // conv2dGradFilterPart(x, dy, acc, images, channels, filters, inSize, kernelSize, padding, outSize, scratch, sparse)
  const parts = new SharedCall(context, "conv2dGradFilterPart", shareFor(macs, SPLIT_MACS, context.pool), {
    count: 3,
    perUnit: { 0: 4 * c! * h! * w!, 1: 4 * f! * oh! * ow! },
    second: { 2: acc1 },
    scratch: 10,
    cut: halfBatch(n!),
    aloneInParts: true,
  });
  const [inSize, kernelSize, pad, outSize] = [pack(h!, w!), pack(kh, kw), pack(g.rows.before, g.cols.before), pack(oh!, ow!)];
  const { kernels } = context;
  return ([X, dY], dW) => {
    parts.run(at(X!), at(dY!), acc0, n!, c!, f!, inSize, kernelSize, pad, outSize, part, sparse);
    kernels.conv2dGradFilterSum(acc0, acc1, at(dW), taps, f!, sparse);
  };
};

/** Where the batch of a filter gradient is cut into its two fixed halves. */
function halfBatch(n: number): number {
  return Math.floor(n / 2);
}

/** The filter gradient's layout of the main thread's scratch space: the two halves' sums, then its working room. */
function filterScratch(scratch: number, taps: number, filters: number): { acc0: number; acc1: number; part: number } {
  const sums = align(4 * taps * filters);
  return { acc0: scratch, acc1: scratch + sums, part: scratch + 2 * sums };
}

/** max_pool2d with 2 × 2 windows of stride 2 and no padding: maxPool2x2(x, out, planes, h, w), shared by planes. */
const maxPoolKernel: ImageKernelFactory = ({ inputShapes: [x], attrs }, context) => {
  const g = poolGeometry(x!, attrs as PoolAttrs);
  if (!isPool2x2(g)) return undefined;
  const call = new SharedCall(context, "maxPool2x2", splitFor(g.planes, 1, g.planes * g.h * g.w, SPLIT_ELEMENTS, context.pool), {
    count: 2,
    perUnit: { 0: 4 * g.h * g.w, 1: 4 * g.outH * g.outW },
  });
  return ([X], out) => call.run(at(X!), at(out), g.planes, g.h, g.w);
};

/** max_pool2d_grad for the same windows: maxPool2x2Grad(dy, x, out, planes, h, w), shared by planes. */
const maxPoolGradKernel: ImageKernelFactory = ({ inputShapes: [, x], attrs }, context) => {
  const g = poolGeometry(x!, attrs as PoolAttrs);
  if (!isPool2x2(g)) return undefined;
  const call = new SharedCall(context, "maxPool2x2Grad", splitFor(g.planes, 1, g.planes * g.h * g.w, SPLIT_ELEMENTS, context.pool), {
    count: 3,
    perUnit: { 0: 4 * g.outH * g.outW, 1: 4 * g.h * g.w, 2: 4 * g.h * g.w },
  });
  return ([dY, X], out) => call.run(at(dY!), at(X!), at(out), g.planes, g.h, g.w);
};

function isPool2x2(g: ReturnType<typeof poolGeometry>): boolean {
  return g.kh === 2 && g.kw === 2 && g.sh === 2 && g.sw === 2 && g.ph === 0 && g.pw === 0;
}

/** Whether `bias` is [C, 1, 1] (or [1, C, 1, 1]) over x [N, C, H, W]: a convolution's bias. */
export function isChannelBias(bias: ConcreteShape, x: ConcreteShape): boolean {
  if (x.length !== 4) return false;
  const b = bias.length === 4 && bias[0] === 1 ? bias.slice(1) : bias;
  return b.length === 3 && b[0] === x[1] && b[1] === 1 && b[2] === 1;
}

/** add of x [N, C, H, W] and a bias [C, 1, 1] (either order): addChannelBias(x, bias, out, images, channels, plane), shared by images. */
export const channelBiasKernel: ImageKernelFactory = ({ inputShapes: [a, b], outputShape }, context) => {
  const biasFirst = isChannelBias(a!, outputShape) && sizeOf(b!) === sizeOf(outputShape);
  if (!biasFirst && !(isChannelBias(b!, outputShape) && sizeOf(a!) === sizeOf(outputShape))) return undefined;
  const [n, c, h, w] = outputShape as [number, number, number, number];
  const plane = h * w;
  const call = new SharedCall(context, "addChannelBias", splitFor(n, 1, n * c * plane, SPLIT_ELEMENTS, context.pool), {
    count: 3,
    perUnit: { 0: 4 * c * plane, 2: 4 * c * plane },
  });
  return ([a, b], out) => (biasFirst ? call.run(at(b!), at(a!), at(out), n, c, plane) : call.run(at(a!), at(b!), at(out), n, c, plane));
};

/** sum_to of x [N, C, H, W] to [C, 1, 1]: sumChannels(x, out, channels, images, plane, imageChannels), shared by channels. */
export const channelSumKernel: ImageKernelFactory = ({ inputShapes: [x], outputShape }, context) => {
  if (!isChannelBias(outputShape, x!)) return undefined;
  const [n, c, h, w] = x! as [number, number, number, number];
  const plane = h * w;
  const call = new SharedCall(context, "sumChannels", splitFor(c, 1, n * c * plane, SPLIT_ELEMENTS, context.pool), {
    count: 2,
    perUnit: { 0: 4 * plane, 1: 4 },
  });
  return ([X], out) => call.run(at(X!), at(out), c, n, plane, c);
};

/** The image ops' own kernels, by op name (the bias add and sum are tried by kernels.ts after its own). */
export const IMAGE_KERNELS: Readonly<Record<string, ImageKernelFactory>> = {
  conv2d: (spec, context) => conv2dKernel(spec, context),
  conv2d_grad_input: conv2dGradInputKernel,
  conv2d_grad_filter: conv2dGradFilterKernel,
  max_pool2d: maxPoolKernel,
  max_pool2d_grad: maxPoolGradKernel,
};

/**
 * The scratch space a plan's image kernels need: the main thread's and the worker's, in bytes (as laid
 * out above: one image's columns for a convolution; an input gradient's working room, after the reversed
 * filters and their transpose on the main thread; a filter gradient's, after the two halves' sums).
 */
export function imageScratchBytes(steps: readonly PlanStep[]): { main: number; worker: number } {
  let main = 0;
  let worker = 0;
  for (const { node, inputs, output } of steps) {
    let m = 0;
    let wk = 0;
    if (node.op === "conv2d") {
      const [, c] = inputs[0]!.shape;
      const [, , kh, kw] = inputs[1]!.shape;
      m = wk = columnsBytes(c!, kh!, kw!, output.shape[2]! * output.shape[3]!);
    } else if (node.op === "conv2d_grad_input") {
      const [, f] = inputs[0]!.shape;
      const [, c, kh, kw] = inputs[1]!.shape;
      wk = inputPartBytes(f!, c!, kh!, kw!, output.shape[2]!, output.shape[3]!);
      m = inputScratch(0, inputs[1]!.elements).part + wk;
    } else if (node.op === "conv2d_grad_filter") {
      const [, c] = inputs[0]!.shape;
      const [, f, oh, ow] = inputs[1]!.shape;
      const [, , kh, kw] = output.shape;
      wk = filterPartBytes(c!, f!, kh!, kw!, oh! * ow!);
      m = filterScratch(0, c! * kh! * kw!, f!).part + wk;
    }
    main = Math.max(main, m);
    worker = Math.max(worker, wk);
  }
  return { main, worker };
}
