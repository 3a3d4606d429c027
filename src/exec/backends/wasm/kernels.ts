/**
 * The WebAssembly backend's fast kernels, by op name. Each factory sees the same spec as the op's own
 * kernel factory and returns a kernel over the same views (Float32Arrays into the WebAssembly memory),
 * which calls the module with their byte offsets; or undefined when it does not cover the case (another
 * dtype, a broadcast pattern it lacks), and the op's reference kernel runs instead.
 *
 * Every one of them is held equal to the reference kernel by test/exec/wasm-backend.test.ts.
 */
import { sameShape, sizeOf, type Attrs, type ConcreteShape } from "../../../graph/ir.js";
import type { FloatArray, Kernel, KernelSpec } from "../../../ops/op.js";
import type { PlannedValue } from "../../plan.js";
import type { WasmKernels } from "./module.js";
import { Split } from "./split.js";
import { JOB, type WasmPool } from "./pool.js";

/** Products of at least this many multiply-adds are split between the main thread and the worker. */
export const SPLIT_MACS = 100_000;

/** Elementwise kernels over at least this many values are split between the two threads, */
export const SPLIT_ELEMENTS = 16_384;
/** and softmax's kernels over at least this many (each costs an exponential). */
export const SPLIT_SOFTMAX_ELEMENTS = 2_048;

/**
 * Scratch the zero-skipping product needs per element of its operand's longest side (asm/kernels.ts):
 * 12 bytes per listed sample for Xᵀ·δ's pairs, 8 per nonzero for X·W's rows.
 */
export const SPARSE_SCRATCH_BYTES_PER_ELEMENT = 12;

export interface FastKernelContext {
  readonly kernels: WasmKernels;
  /** The memory the kernels and the views work in. */
  readonly memory: WebAssembly.Memory;
  /**
   * Byte offset of the scratch space: SPARSE_SCRATCH_BYTES_PER_ELEMENT per element of the longest matrix
   * side (then the partials room), and room for the right operand of any product A·Bᵀ.
   */
  readonly scratch: number;
  /** The planned inputs of the node: their storage tells a fed batch (mostly zeros for MNIST) from the rest. */
  readonly inputs: readonly PlannedValue[];
  /** Skip the zeros of a fed left operand of a matrix product (default on). */
  readonly zeroSkip: boolean;
  /** The worker thread that takes part of the big kernels (whether and where, each kernel's Split learns), if any; and its scratch space. */
  readonly pool: WasmPool | undefined;
  readonly workerScratch: number;
  /** Byte offset of room for the second partial sum of a fed batch's product (see fedBatchProduct). */
  readonly partials: number;
}

export type FastKernelFactory = (spec: KernelSpec<Attrs>, context: FastKernelContext) => Kernel | undefined;

const at = (view: FloatArray) => view.byteOffset;

/** A rows × n matrix over the trailing dims, for ops acting along the last axis. */
function rowsOf(shape: ConcreteShape): { rows: number; n: number } {
  const n = shape.length === 0 ? 1 : shape[shape.length - 1]!;
  return { rows: n === 0 ? 0 : sizeOf(shape) / n, n };
}

/**
 * Where two threads split `units` (elements or rows) of a kernel: the main thread takes [0, h), the
 * worker [h, units); h is a multiple of 4 (the SIMD loops' step).
 */
export function splitPoint(units: number): number {
  return Math.floor(units / 8) * 4;
}

/** A product of a fed batch with at least this many features is computed in two parts of them (fedBatchProduct). */
const FED_SPLIT_MIN_FEATURES = 64;

/**
 * Whether a matmul with these operands is a fed batch times weights (a first layer, x·W), which
 * matmulKernel computes as two partial sums (see fedBatchProduct): then it needs room for rows × n
 * floats at the context's `partials`.
 */
export function isFedBatchProduct(attrs: Attrs, inputs: readonly PlannedValue[]): boolean {
  const [a] = inputs;
  return attrs.transpose_a !== true && attrs.transpose_b !== true && a!.storage === "input" && a!.shape.length === 2 && a!.shape[1]! >= FED_SPLIT_MIN_FEATURES;
}

/**
 * Where a fed batch's features are cut between the threads: a multiple of 16, so that (when the row
 * length is a multiple of 16 too, as MNIST's 784) each thread's part of a row of float32 values starts
 * on a cache line of its own and the threads, filling their parts, do not write the same line.
 */
export function featureCut(features: number): number {
  return Math.floor(features / 32) * 16;
}

/**
 * Kernels with less work than this (multiply-adds or values) keep their cut in the middle: their parts
 * take a few microseconds, too little for the two threads' own timings to say where the cut belongs (a
 * hand-over or a cache miss outweighs the work, and a cut learned from such noise can leave one thread
 * most of the rows).
 */
const LEARN_CUT_MIN_ELEMENTS = 1_000_000;

/**
 * A Split of `units` (elements or rows, cut at multiples of `block`) for a kernel with `elements` values
 * of work, or undefined (one thread) without a worker or below `minElements`. Its cut is learned only
 * from LEARN_CUT_MIN_ELEMENTS on.
 */
function splitFor(units: number, block: number, elements: number, minElements: number, pool: WasmPool | undefined): Split | undefined {
  if (!pool || elements < minElements || units < 2 * block) return undefined;
  return new Split(units, block, elements >= LEARN_CUT_MIN_ELEMENTS, undefined, pool.alwaysShares);
}

/** Split.whether() for a kernel whose parts are fixed, or undefined (one thread) without a worker or below `minElements`. */
export function shareFor(elements: number, minElements: number, pool: WasmPool | undefined): Split | undefined {
  return pool && elements >= minElements ? Split.whether(pool.alwaysShares) : undefined;
}

/** out = f(x), elementwise, split between the threads from SPLIT_ELEMENTS values on. */
function unary(name: "relu" | "tanh", len: number, { kernels, pool }: FastKernelContext): Kernel {
  const run = kernels[name];
  const split = splitFor(len, 4, len, SPLIT_ELEMENTS, pool);
  if (!split) return ([x], out) => run(at(x!), at(out), len);
  return ([x], out) => {
    const [px, po, h] = [at(x!), at(out), split.cut];
    const started = split.begin() && pool!.start(JOB[name], px + 4 * h, po + 4 * h, len - h);
    run(px, po, started ? h : len);
    split.end(pool, started);
  };
}

/** out = f(a, b), elementwise, split between the threads from SPLIT_ELEMENTS values on. */
function binary(name: "addSame" | "reluGrad" | "tanhGrad", len: number, { kernels, pool }: FastKernelContext): Kernel {
  const run = kernels[name];
  const split = splitFor(len, 4, len, SPLIT_ELEMENTS, pool);
  if (!split) return ([a, b], out) => run(at(a!), at(b!), at(out), len);
  return ([a, b], out) => {
    const [pa, pb, po, h] = [at(a!), at(b!), at(out), split.cut];
    const started = split.begin() && pool!.start(JOB[name], pa + 4 * h, pb + 4 * h, po + 4 * h, len - h);
    run(pa, pb, po, started ? h : len);
    split.end(pool, started);
  };
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
  const { kernels, scratch, inputs, zeroSkip, pool, workerScratch } = context;
  const ta = attrs.transpose_a === true;
  const tb = attrs.transpose_b === true;
  if (epilogue && (ta || tb)) return undefined;
  const [bias, reluDelta] = epilogue ? [epilogue.bias, epilogue.reluDelta] : [0, 0];
  const [m, k] = ta ? [a![1]!, a![0]!] : [a![0]!, a![1]!];
  const n = tb ? b![0]! : b![1]!;
  // The worker takes rows [h, m) of C, the main thread rows [0, h): h a multiple of the kernel's row
  // block, from a Split (each row of C is computed the same way by either thread).
  const splitRows = (block: number) => splitFor(m, block, m * k * n, SPLIT_MACS, pool);
  // C = op(A)·B by the dense kernel (op(A)[i, p] at A[i·aRow + p·aCol]), rows split between the threads.
  const dense = (aRow: number, aCol: number) => {
    const split = splitRows(4);
    if (!split) return (pa: number, pb: number, pc: number) => kernels.matmul(pa, pb, pc, m, k, n, aRow, aCol, bias, reluDelta);
    return (pa: number, pb: number, pc: number) => {
      const h = split.cut;
      const started = split.begin() && pool!.start(JOB.matmul, pa + 4 * h * aRow, pb, pc + 4 * h * n, m - h, k, n, aRow, aCol, bias, reluDelta);
      kernels.matmul(pa, pb, pc, started ? h : m, k, n, aRow, aCol, bias, reluDelta);
      split.end(pool, started);
    };
  };
  if (tb) {
    if (ta) return undefined;
    // A·Bᵀ: B (n × k, a weight) transposed into the scratch space, then the dense product. Its 4 × 8 block
    // reuses each load more than dot products of rows do, most where k is small (the 10 classes of the
    // last layer's backward product). (The executor sizes the scratch space for it.)
    const product = dense(k, 1);
    return ([A, B], C) => {
      kernels.transpose(at(B!), scratch, n, k);
      product(at(A!), scratch, at(C));
    };
  }
  const aRow = ta ? 1 : k;
  const aCol = ta ? m : 1;
  if (isFedBatchProduct(attrs, inputs)) return fedBatchProduct(m, k, n, context, bias, reluDelta);
  if (zeroSkip && inputs[0]!.storage === "input") {
    // Xᵀ·δ runs in pairs of rows of C (2 adjacent pixels); a row of X·W on its own.
    const split = splitRows(ta ? 2 : 1);
    if (!split) return ([A, B], C) => kernels.matmulSparseA(at(A!), at(B!), at(C), m, k, n, aRow, aCol, scratch, bias, reluDelta);
    return ([A, B], C) => {
      const pa = at(A!);
      const pb = at(B!);
      const pc = at(C);
      const h = split.cut;
      const started =
        split.begin() && pool!.start(JOB.matmulSparseA, pa + 4 * h * aRow, pb, pc + 4 * h * n, m - h, k, n, aRow, aCol, workerScratch, bias, reluDelta);
      kernels.matmulSparseA(pa, pb, pc, started ? h : m, k, n, aRow, aCol, scratch, bias, reluDelta);
      split.end(pool, started);
    };
  }
  const product = dense(aRow, aCol);
  return ([A, B], C) => product(at(A!), at(B!), at(C));
}

/**
 * A fed batch of at most this many rows is shared between the threads by its features; a bigger one by
 * its rows (see fedBatchProduct). ResidentDataset.fill cuts a batch the same way.
 */
export const FEATURE_SPLIT_MAX_ROWS = 128;

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
  const { kernels, scratch, workerScratch, zeroSkip, pool, partials } = context;
  const h = featureCut(k);
  const sparse = zeroSkip ? 1 : 0;
  if (m > FEATURE_SPLIT_MAX_ROWS) {
    const split = splitFor(m, 1, m * k * n, SPLIT_MACS, pool);
    if (!split) return ([A, B], C) => kernels.matmulTwoParts(at(A!), at(B!), at(C), partials, m, k, n, h, scratch, sparse, bias, reluDelta);
    return ([A, B], C) => {
      const [pa, pb, pc, r] = [at(A!), at(B!), at(C), split.cut];
      const o = 4 * r * n;
      const started =
        split.begin() && pool!.start(JOB.matmulTwoParts, pa + 4 * r * k, pb, pc + o, partials + o, m - r, k, n, h, workerScratch, sparse, bias, reluDelta);
      kernels.matmulTwoParts(pa, pb, pc, partials, started ? r : m, k, n, h, scratch, sparse, bias, reluDelta);
      split.end(pool, started);
    };
  }
  // Whether to share the partial sums (their cut stays at h), and where to cut the rows added up.
  const parts = shareFor(m * k * n, SPLIT_MACS, pool);
  const rows = splitFor(m, 1, m * n, SPLIT_ELEMENTS, pool);
  // op(A)[i, p] at A[i·k + p]: the features [k0, k0 + count) of each row, times rows [k0, …) of B.
  const partial = (pa: number, pb: number, pc: number, k0: number, count: number, lists: number) => {
    if (zeroSkip) kernels.matmulSparseA(pa + 4 * k0, pb + 4 * k0 * n, pc, m, count, n, k, 1, lists, 0, 0);
    else kernels.matmul(pa + 4 * k0, pb + 4 * k0 * n, pc, m, count, n, k, 1, 0, 0);
  };
  return ([A, B], C) => {
    const [pa, pb, pc] = [at(A!), at(B!), at(C)];
    const started =
      parts !== undefined &&
      parts.begin() &&
      (zeroSkip
        ? pool!.start(JOB.matmulSparseA, pa + 4 * h, pb + 4 * h * n, partials, m, k - h, n, k, 1, workerScratch, 0, 0)
        : pool!.start(JOB.matmul, pa + 4 * h, pb + 4 * h * n, partials, m, k - h, n, k, 1, 0, 0));
    partial(pa, pb, pc, 0, h, scratch);
    if (!started) partial(pa, pb, partials, h, k - h, scratch);
    if (parts) parts.end(pool, started);
    if (!rows) return kernels.addPartials(pc, partials, pc, m, n, bias, reluDelta);
    const r = rows.cut;
    const adding = rows.begin() && pool!.start(JOB.addPartials, pc + 4 * r * n, partials + 4 * r * n, pc + 4 * r * n, m - r, n, bias, reluDelta);
    kernels.addPartials(pc, partials, pc, adding ? r : m, n, bias, reluDelta);
    rows.end(pool, adding);
  };
}

const FACTORIES: Record<string, FastKernelFactory> = {
  matmul: (spec, context) => matmulKernel(spec, context),

  add: ({ inputShapes: [a, b], outputShape }, context) => {
    const len = sizeOf(outputShape);
    if (sameShape(a!, outputShape) && sameShape(b!, outputShape)) return binary("addSame", len, context);
    // A bias: [n] (or [1, n]) over [rows, n].
    const { rows, n } = rowsOf(outputShape);
    const isBias = (s: ConcreteShape) => sizeOf(s) === n && s.length >= 1 && s[s.length - 1] === n && s.slice(0, -1).every((d) => d === 1);
    if (outputShape.length < 1) return undefined;
    const biasFirst = sameShape(b!, outputShape) && isBias(a!);
    if (!biasFirst && !(sameShape(a!, outputShape) && isBias(b!))) return undefined;
    const { kernels, pool } = context;
    const split = splitFor(rows, 1, rows * n, SPLIT_ELEMENTS, pool);
    return (inputs, out) => {
      const [x, bias] = biasFirst ? [at(inputs[1]!), at(inputs[0]!)] : [at(inputs[0]!), at(inputs[1]!)];
      const po = at(out);
      if (!split) return kernels.addBias(x, bias, po, rows, n);
      const h = split.cut;
      const started = split.begin() && pool!.start(JOB.addBias, x + 4 * h * n, bias, po + 4 * h * n, rows - h, n);
      kernels.addBias(x, bias, po, started ? h : rows, n);
      split.end(pool, started);
    };
  },

  relu: ({ outputShape }, context) => unary("relu", sizeOf(outputShape), context),
  relu_grad: ({ outputShape }, context) => binary("reluGrad", sizeOf(outputShape), context),
  tanh: ({ outputShape }, context) => unary("tanh", sizeOf(outputShape), context),
  tanh_grad: ({ outputShape }, context) => binary("tanhGrad", sizeOf(outputShape), context),

  sum_to: ({ inputShapes: [x], outputShape }, { kernels, pool }) => {
    // Only the bias gradient: [rows, n] summed to [n]; the worker takes columns [h, n), h a multiple of
    // the kernel's block of 16 columns, so each column is summed as by one thread.
    if (x!.length !== 2 || outputShape.length !== 1 || outputShape[0] !== x![1]) return undefined;
    const [rows, n] = [x![0]!, x![1]!];
    const split = splitFor(n, 16, rows * n, SPLIT_ELEMENTS, pool);
    return ([v], out) => {
      const [pv, po] = [at(v!), at(out)];
      if (!split) return kernels.sumRows(pv, po, rows, n, n);
      const h = split.cut;
      const started = split.begin() && pool!.start(JOB.sumRows, pv + 4 * h, po + 4 * h, rows, n - h, n);
      kernels.sumRows(pv, po, rows, started ? h : n, n);
      split.end(pool, started);
    };
  },

  dropout: ({ attrs, outputShape }, { kernels }) => {
    // Only the identity (rate 0, as the report's network is trained); with a rate, the reference draws the masks.
    if ((attrs.rate ?? 0) !== 0) return undefined;
    const len = sizeOf(outputShape);
    return ([x], out) => kernels.copy(at(x!), at(out), len);
  },

  softmax: ({ outputShape }, { kernels, pool }) => {
    if (outputShape.length === 0) return undefined;
    const { rows, n } = rowsOf(outputShape);
    const split = splitFor(rows, 1, rows * n, SPLIT_SOFTMAX_ELEMENTS, pool);
    return ([z], out) => {
      const [pz, po] = [at(z!), at(out)];
      if (!split) return kernels.softmax(pz, po, rows, n);
      const h = split.cut;
      const started = split.begin() && pool!.start(JOB.softmax, pz + 4 * h * n, po + 4 * h * n, rows - h, n);
      kernels.softmax(pz, po, started ? h : rows, n);
      split.end(pool, started);
    };
  },
  softmax_cross_entropy: ({ inputShapes: [shape] }, { kernels, pool, scratch, memory }) => {
    const m = shape![0]!;
    const { rows, n } = rowsOf(shape!);
    // The batch's sum is always taken in two parts, rows [0, h) and [h, rows), so that it is the same
    // whether the worker sums the second part or this thread does; the parts land in the scratch space.
    const h = splitPoint(rows);
    const parts = new Float64Array(memory.buffer, scratch, 2);
    const split = shareFor(rows * n, SPLIT_SOFTMAX_ELEMENTS, pool);
    return ([z, y], out) => {
      const [pz, py] = [at(z!), at(y!)];
      const started = split !== undefined && split.begin() && pool!.start(JOB.softmaxCrossEntropySum, pz + 4 * h * n, py + 4 * h * n, rows - h, n, scratch + 8);
      if (!started) kernels.softmaxCrossEntropySum(pz + 4 * h * n, py + 4 * h * n, rows - h, n, scratch + 8);
      kernels.softmaxCrossEntropySum(pz, py, h, n, scratch);
      if (split) split.end(pool, started);
      out[0] = (parts[0]! + parts[1]!) / m;
    };
  },
  softmax_cross_entropy_grad: ({ inputShapes: [shape] }, { kernels, pool }) => {
    const m = shape![0]!;
    const { rows, n } = rowsOf(shape!);
    const split = splitFor(rows, 1, rows * n, SPLIT_SOFTMAX_ELEMENTS, pool);
    return ([z, y, dL], out) => {
      const [pz, py, po] = [at(z!), at(y!), at(out)];
      if (!split) return kernels.softmaxCrossEntropyGrad(pz, py, at(dL!), po, rows, n, m);
      const h = split.cut;
      const started = split.begin() && pool!.start(JOB.softmaxCrossEntropyGrad, pz + 4 * h * n, py + 4 * h * n, at(dL!), po + 4 * h * n, rows - h, n, m);
      kernels.softmaxCrossEntropyGrad(pz, py, at(dL!), po, started ? h : rows, n, m);
      split.end(pool, started);
    };
  },
};

export const WASM_KERNELS: ReadonlyMap<string, FastKernelFactory> = new Map(Object.entries(FACTORIES));
