/**
 * The WebAssembly backend's fast kernels: the call an op declares (its `fast.wasm` WasmCall, made into a
 * kernel by callKernel), and the backend's own kernels for the built-in ops whose calls take more than a
 * declaration (OWN_KERNELS: products, a bias added or summed, the loss, the image ops, batch norm). Each
 * sees the same spec as the op's own kernel factory and returns a kernel over the same views
 * (Float32Arrays into the WebAssembly memory), which calls the module with their byte offsets; or
 * undefined when it does not cover the case (a broadcast pattern it lacks), and the op's own kernel runs
 * instead.
 *
 * Every one of them is held equal to the op's own kernel by test/exec/wasm-backend.test.ts (the image
 * ops' by wasm-conv.test.ts, batch norm's by wasm-batch-norm.test.ts).
 */
import { sameShape, sizeOf, type Attrs, type ConcreteShape } from "../../../graph/ir.js";
import type { FloatArray, Kernel, KernelSpec, WasmCall } from "../../../ops/op.js";
import type { PlannedValue } from "../../plan.js";
import type { WasmKernels } from "./module.js";
import { BATCH_NORM_KERNELS } from "./batch-norm.js";
import { channelBiasKernel, channelSumKernel, IMAGE_KERNELS } from "./conv.js";
import { isJobKernel, type WasmPool } from "./pool.js";
import { afterParts, SharedCall, sharedOnly, type CallRecorder } from "./share.js";
import {
  FED_SPLIT_MIN_FEATURES,
  featureCut,
  shareFor,
  sharedByFeatures,
  splitFor,
  splitPoint,
  SPLIT_ELEMENTS,
  SPLIT_MACS,
  SPLIT_SOFTMAX_ELEMENTS,
} from "./split-policy.js";

// The split policy's names, where they were first exported.
export { FEATURE_SPLIT_MAX_ROWS, featureCut, shareFor, splitPoint, SPLIT_ELEMENTS, SPLIT_MACS, SPLIT_SOFTMAX_ELEMENTS } from "./split-policy.js";

/**
 * Scratch the zero-skipping product needs per element of its operand's longest side (asm/kernels.ts):
 * 12 bytes per listed sample for Xᵀ·δ's pairs, 8 per nonzero for X·W's rows.
 */
export const SPARSE_SCRATCH_BYTES_PER_ELEMENT = 12;

/**
 * What an op's own fast kernel for this backend is given (OpDefinition.fast.wasm, see BackendKernel): the
 * shared memory every view of the plan lies in — a kernel may instantiate a WebAssembly module of its own
 * over it and pass it views' byteOffsets — and graphnet's module's exports, over the same memory.
 */
export interface WasmKernelContext {
  readonly memory: WebAssembly.Memory;
  readonly kernels: WasmKernels;
}

export interface FastKernelContext extends WasmKernelContext {
  /**
   * Byte offset of the scratch space: SPARSE_SCRATCH_BYTES_PER_ELEMENT per element of the longest matrix
   * side (then the partials room), and room for the right operand of any product A·Bᵀ.
   */
  readonly scratch: number;
  /** The planned inputs of the node: a fed batch (storage "input") and one planned as mostly zeros (mostlyZeros) are products of their own. */
  readonly inputs: readonly PlannedValue[];
  /** The worker thread that takes part of the big kernels (whether and where, each kernel's Split learns), if any; and its scratch space. */
  readonly pool: WasmPool | undefined;
  readonly workerScratch: number;
  /** Byte offset of room for the second partial sum of a fed batch's product (see fedBatchProduct). */
  readonly partials: number;
  /**
   * Byte offset of 16 bytes for the loss's two partial sums (float64), the second written by whoever runs
   * the second part: apart from the scratch space, which the main thread may use for its next kernel
   * while the worker is still at this one (a row chain: chain.ts).
   */
  readonly sums: number;
  /** The recorder of the backend's row chains (chain.ts). */
  readonly chain?: CallRecorder;
}

export type FastKernelFactory = (spec: KernelSpec<Attrs>, context: FastKernelContext) => Kernel | undefined;

const at = (view: FloatArray) => view.byteOffset;

/** A rows × n matrix over the trailing dims, for ops acting along the last axis. */
function rowsOf(shape: ConcreteShape): { rows: number; n: number } {
  const n = shape.length === 0 ? 1 : shape[shape.length - 1]!;
  return { rows: n === 0 ? 0 : sizeOf(shape) / n, n };
}

/**
 * Whether a matmul with these operands is a fed batch times weights (a first layer, x·W), which
 * matmulKernel computes as two partial sums (see fedBatchProduct): then it needs room for rows × n
 * floats at the context's `partials`.
 */
export function isFedBatchProduct(attrs: Attrs, inputs: readonly PlannedValue[]): boolean {
  const [a] = inputs;
  return attrs.transpose_a !== true && attrs.transpose_b !== true && a!.storage === "input" && a!.shape.length === 2 && a!.shape[1]! >= FED_SPLIT_MIN_FEATURES;
}

/** Byte offsets of a product's epilogue (see asm/kernels.ts `emit`): a bias to add and where relu of the result goes. */
export interface Epilogue {
  /** Address of the n bias values. */
  readonly bias: number;
  /** Byte distance from C to the relu output (same layout), or 0 for none. */
  readonly reluDelta: number;
}

/**
 * C = op(A)·B for a matmul step; with an epilogue (a non-transposed product only), C = A·B + bias and
 * relu(C) as well, in the same pass (the fusion of a layer: src/exec/backends/wasm/fusion.ts).
 */
export function matmulKernel({ inputShapes: [a, b], attrs }: KernelSpec<Attrs>, context: FastKernelContext, epilogue?: Epilogue): Kernel | undefined {
  const { scratch, inputs, pool } = context;
  const zeroSkip = inputs[0]!.mostlyZeros;
  const ta = attrs.transpose_a === true;
  const tb = attrs.transpose_b === true;
  if (epilogue && (ta || tb)) return undefined;
  const [bias, reluDelta] = epilogue ? [epilogue.bias, epilogue.reluDelta] : [0, 0];
  const [m, k] = ta ? [a![1]!, a![0]!] : [a![0]!, a![1]!];
  const n = tb ? b![0]! : b![1]!;
  // The worker takes rows [h, m) of C, the main thread rows [0, h): h a multiple of the kernel's row
  // block, from a Split (each row of C is computed the same way by either thread).
  const splitRows = (block: number) => splitFor(m, block, m * k * n, SPLIT_MACS, pool);
  // C = op(A)·B by the dense kernel (op(A)[i, p] at A[i·aRow + p·aCol]), rows split between the threads:
  // matmul(a, b, c, m, k, n, aRow, aCol, bias, reluDelta).
  const dense = (aRow: number, aCol: number) => {
    const product = new SharedCall(context, "matmul", splitRows(4), { count: 3, perUnit: { 0: 4 * aRow, 2: 4 * n }, rowLocal: !ta });
    return (pa: number, pb: number, pc: number) => product.run(pa, pb, pc, m, k, n, aRow, aCol, bias, reluDelta);
  };
  if (tb) {
    if (ta) return undefined;
    // A·Bᵀ: B (n × k, a weight) transposed into the scratch space, then the dense product. Its 4 × 8 block
    // reuses each load more than dot products of rows do, most where k is small (the 10 classes of the
    // last layer's backward product). Shared, each thread transposes B into its own scratch space.
    // (The backend sizes both for it.) matmulTransposedB(a, b, c, m, k, n, scratch)
    const product = new SharedCall(context, "matmulTransposedB", splitRows(4), { count: 3, perUnit: { 0: 4 * k, 2: 4 * n }, scratch: 6, rowLocal: true });
    return sharedOnly(([A, B], C) => product.run(at(A!), at(B!), at(C), m, k, n, scratch));
  }
  const aRow = ta ? 1 : k;
  const aCol = ta ? m : 1;
  if (isFedBatchProduct(attrs, inputs)) return fedBatchProduct(m, k, n, context, bias, reluDelta);
  if (zeroSkip) {
    // Xᵀ·δ runs in pairs of rows of C (2 adjacent pixels); a row of X·W on its own.
    // matmulSparseA(a, b, c, m, k, n, aRow, aCol, scratch, bias, reluDelta)
    const product = new SharedCall(context, "matmulSparseA", splitRows(ta ? 2 : 1), { count: 3, perUnit: { 0: 4 * aRow, 2: 4 * n }, scratch: 8, rowLocal: !ta });
    return sharedOnly(([A, B], C) => product.run(at(A!), at(B!), at(C), m, k, n, aRow, aCol, scratch, bias, reluDelta));
  }
  const product = dense(aRow, aCol);
  return sharedOnly(([A, B], C) => product(at(A!), at(B!), at(C)));
}

/**
 * C = A·B for A a fed batch (m samples × k features) and B weights (k × n): a first layer. Always
 * computed as two partial sums, over features [0, h) and [h, k) (h = featureCut(k)), added by a last
 * pass that also applies the epilogue — so that one thread, or two sharing it either way below, give the
 * same bits, and the zero-skipping and dense kernels too.
 *
 * Shared by features (m ≤ FEATURE_SPLIT_MAX_ROWS): the main thread computes the first partial sum (into
 * C) and the worker the second (into the partials room), then the rows are added up (by both threads,
 * when their own Split finds that pays). Each
 * thread then reads only the features of the batch it filled itself (ResidentDataset.fill cuts them at
 * the same h) and only rows [0, h) or [h, k) of W — about the rows its part of the weight gradient Aᵀ·δ
 * computes and its part of the optimizer's update writes. Split by samples, each core would read every
 * step the W its partner has just updated (400 KB for MNIST): little cost while two cores share a cache,
 * much when they are far apart (on a shared host), and for a small batch that crossing outweighs the
 * work a second thread takes over.
 *
 * Shared by rows (bigger batches): each thread computes both partial sums of its rows and adds them
 * (matmulTwoParts). Shared by features, the partial sums would cross between the threads instead of W,
 * and they grow with the batch (128 KB at 256 rows): above FEATURE_SPLIT_MAX_ROWS they cost more than
 * W's crossing.
 */
function fedBatchProduct(m: number, k: number, n: number, context: FastKernelContext, bias: number, reluDelta: number): Kernel {
  const { scratch, inputs, pool, partials } = context;
  const zeroSkip = inputs[0]!.mostlyZeros;
  const h = featureCut(k);
  const sparse = zeroSkip ? 1 : 0;
  if (!sharedByFeatures(m)) {
    // matmulTwoParts(a, b, c, partials, m, k, n, h, scratch, sparse, bias, reluDelta)
    const product = new SharedCall(context, "matmulTwoParts", splitFor(m, 1, m * k * n, SPLIT_MACS, pool), {
      count: 4,
      perUnit: { 0: 4 * k, 2: 4 * n, 3: 4 * n },
      scratch: 8,
      rowLocal: true,
    });
    return sharedOnly(([A, B], C) => product.run(at(A!), at(B!), at(C), partials, m, k, n, h, scratch, sparse, bias, reluDelta));
  }
  // The two partial sums, over features [0, h) into C and [h, k) into the partials room: op(A)[i, p] at
  // A[i·k + p], times rows [0, h) or [h, k) of B; computed as two parts even by one thread, and whether
  // to share them is all that is learned. matmulSparseA(a, b, c, m, k, n, aRow, aCol, scratch, bias,
  // reluDelta) or matmul(a, b, c, m, k, n, aRow, aCol, bias, reluDelta), without the epilogue.
  const layout = { count: 4, perUnit: { 0: 4, 1: 4 * n }, second: { 2: partials }, cut: h, aloneInParts: true };
  const parts = zeroSkip
    ? new SharedCall(context, "matmulSparseA", shareFor(m * k * n, SPLIT_MACS, pool), { ...layout, scratch: 8 })
    : new SharedCall(context, "matmul", shareFor(m * k * n, SPLIT_MACS, pool), layout);
  // Then the rows added up, with the epilogue: addPartials(p0, p1, out, rows, n, bias, reluDelta).
  const sum = new SharedCall(context, "addPartials", splitFor(m, 1, m * n, SPLIT_ELEMENTS, pool), {
    count: 3,
    perUnit: { 0: 4 * n, 1: 4 * n, 2: 4 * n },
    rowLocal: true,
  });
  return sharedOnly(([A, B], C) => {
    const pc = at(C);
    if (zeroSkip) parts.run(at(A!), at(B!), pc, m, k, n, k, 1, scratch, 0, 0);
    else parts.run(at(A!), at(B!), pc, m, k, n, k, 1, 0, 0);
    sum.run(pc, partials, pc, m, n, bias, reluDelta);
  });
}

/**
 * A kernel calling the export an op's WasmCall names, over the elements or the rows of operands of the
 * output's shape, shared with the worker as the split policy says for its cost; undefined where an
 * operand broadcasts, or for an op of more than two inputs.
 */
export function callKernel(call: WasmCall, { nodeId, inputShapes, outputShape }: KernelSpec<Attrs>, context: FastKernelContext): Kernel | undefined {
  const name = call.export;
  if (!isJobKernel(name))
    throw new Error(`node "${nodeId}": its op's WasmCall names "${name}", which is not a kernel of the module (asm/kernels.ts) a worker can run`);
  if (inputShapes.length > 2 || !inputShapes.every((shape) => sameShape(shape, outputShape))) return undefined;
  const threshold = call.cost === "high" ? SPLIT_SOFTMAX_ELEMENTS : SPLIT_ELEMENTS;
  const values = inputShapes.length + 1; // the inputs, then the output: the pointers, before the counts
  const pointers = (bytesPerUnit: number) => Object.fromEntries(Array.from({ length: values }, (_, i) => [i, bytesPerUnit]));
  let run: Kernel;
  if (call.over === "elements") {
    // export(inputs…, out, len); the threads cut at a multiple of 4 (the SIMD loops' step).
    const len = sizeOf(outputShape);
    const f = new SharedCall(context, name, splitFor(len, 4, len, threshold, context.pool), { count: values, perUnit: pointers(4), rowLocal: true });
    run = values === 2 ? ([x], out) => f.run(at(x!), at(out), len) : ([a, b], out) => f.run(at(a!), at(b!), at(out), len);
  } else {
    // export(inputs…, out, rows, n).
    if (outputShape.length === 0) return undefined;
    const { rows, n } = rowsOf(outputShape);
    const f = new SharedCall(context, name, splitFor(rows, 1, rows * n, threshold, context.pool), { count: values, perUnit: pointers(4 * n), rowLocal: true });
    run = values === 2 ? ([x], out) => f.run(at(x!), at(out), rows, n) : ([a, b], out) => f.run(at(a!), at(b!), at(out), rows, n);
  }
  return sharedOnly(run);
}

/** out = x over len values: copy(x, out, len), the threads cutting at a multiple of 4. */
function copyKernel(len: number, context: FastKernelContext): Kernel {
  const f = new SharedCall(context, "copy", splitFor(len, 4, len, SPLIT_ELEMENTS, context.pool), { count: 2, perUnit: { 0: 4, 1: 4 }, rowLocal: true });
  return sharedOnly(([x], out) => f.run(at(x!), at(out), len));
}

/**
 * The backend's own kernels, by op name, for built-in ops only: an op registered in its place (registerOp
 * with replace) is another op, which these would not compute.
 */
const FACTORIES: Record<string, FastKernelFactory> = {
  matmul: (spec, context) => matmulKernel(spec, context),

  add: (spec, context) => {
    // A bias: [n] (or [1, n]) over [rows, n], else a convolution's [C, 1, 1] over [N, C, H, W]. (Operands of
    // the output's shape: add's own WasmCall.)
    const {
      inputShapes: [a, b],
      outputShape,
    } = spec;
    const { rows, n } = rowsOf(outputShape);
    const isBias = (s: ConcreteShape) => sizeOf(s) === n && s.length >= 1 && s[s.length - 1] === n && s.slice(0, -1).every((d) => d === 1);
    if (outputShape.length < 1) return undefined;
    const biasFirst = sameShape(b!, outputShape) && isBias(a!);
    if (!biasFirst && !(sameShape(a!, outputShape) && isBias(b!))) return channelBiasKernel(spec, context);
    // addBias(x, bias, out, rows, n)
    const f = new SharedCall(context, "addBias", splitFor(rows, 1, rows * n, SPLIT_ELEMENTS, context.pool), {
      count: 3,
      perUnit: { 0: 4 * n, 2: 4 * n },
      rowLocal: true,
    });
    return sharedOnly(([a, b], out) => (biasFirst ? f.run(at(b!), at(a!), at(out), rows, n) : f.run(at(a!), at(b!), at(out), rows, n)));
  },

  sum_to: (spec, context) => {
    // Only a bias gradient: [rows, n] summed to [n]; the worker takes columns [h, n), h a multiple of
    // the kernel's block of 16 columns, so each column is summed as by one thread. Or a convolution's
    // bias: [N, C, H, W] summed to [C, 1, 1].
    const {
      inputShapes: [x],
      outputShape,
    } = spec;
    if (x!.length !== 2 || outputShape.length !== 1 || outputShape[0] !== x![1]) return channelSumKernel(spec, context);
    const [rows, n] = [x![0]!, x![1]!];
    // sumRows(x, out, rows, columns, rowLength)
    const f = new SharedCall(context, "sumRows", splitFor(n, 16, rows * n, SPLIT_ELEMENTS, context.pool), { count: 3, perUnit: { 0: 4, 1: 4 } });
    return sharedOnly(([v], out) => f.run(at(v!), at(out), rows, n, n));
  },

  // A reshape's values are its input's, copied (the planner has no views): copy(x, out, len).
  reshape: ({ outputShape }, context) => copyKernel(sizeOf(outputShape), context),
  flatten: ({ outputShape }, context) => copyKernel(sizeOf(outputShape), context),

  softmax_cross_entropy: ({ inputShapes: [shape] }, context) => {
    const { pool, sums, memory } = context;
    const m = shape![0]!;
    const { rows, n } = rowsOf(shape!);
    // The batch's sum is always taken in two parts, rows [0, h) and [h, rows), so that it is the same
    // whether the worker sums the second part or this thread does; the parts land in the sums' slot.
    const h = splitPoint(rows);
    const parts = new Float64Array(memory.buffer, sums, 2);
    // softmaxCrossEntropySum(z, y, rows, n, sum)
    const f = new SharedCall(context, "softmaxCrossEntropySum", shareFor(rows * n, SPLIT_SOFTMAX_ELEMENTS, pool), {
      count: 2,
      perUnit: { 0: 4 * n, 1: 4 * n },
      second: { 4: sums + 8 },
      cut: h,
      aloneInParts: true,
      rowLocal: true,
    });
    let loss: FloatArray;
    const addHalves = () => (loss[0] = (parts[0]! + parts[1]!) / m);
    return sharedOnly(([z, y], out) => {
      f.run(at(z!), at(y!), rows, n, sums);
      loss = out;
      afterParts(context, addHalves);
    });
  },
  softmax_cross_entropy_grad: ({ inputShapes: [shape] }, context) => {
    const m = shape![0]!;
    const { rows, n } = rowsOf(shape!);
    // softmaxCrossEntropyGrad(z, y, dL, out, rows, n, batch)
    const f = new SharedCall(context, "softmaxCrossEntropyGrad", splitFor(rows, 1, rows * n, SPLIT_SOFTMAX_ELEMENTS, context.pool), {
      count: 4,
      perUnit: { 0: 4 * n, 1: 4 * n, 3: 4 * n },
      rowLocal: true,
    });
    return sharedOnly(([z, y, dL], out) => f.run(at(z!), at(y!), at(dL!), at(out), rows, n, m));
  },
};

export const OWN_KERNELS: ReadonlyMap<string, FastKernelFactory> = new Map(Object.entries({ ...FACTORIES, ...IMAGE_KERNELS, ...BATCH_NORM_KERNELS }));
