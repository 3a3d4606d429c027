/**
 * The WebAssembly SIMD kernels (asm/kernels.ts, built by asm/build.mjs and embedded in kernels.wasm.ts):
 * compiled once per process, instantiated once per arena over that arena's memory.
 */
import { KERNELS_WASM_BASE64 } from "./kernels.wasm.js";

/** The module's exports. Pointers are byte offsets into the memory; sizes are element counts. */
export interface WasmKernels {
  /** bias: the address of n bias values to add, reluDelta: where (C + this) relu of the result goes; 0 (or left out): none. */
  matmul(a: number, b: number, c: number, m: number, k: number, n: number, aRow: number, aCol: number, bias?: number, reluDelta?: number): void;
  matmulSparseA(
    a: number,
    b: number,
    c: number,
    m: number,
    k: number,
    n: number,
    aRow: number,
    aCol: number,
    scratch: number,
    bias?: number,
    reluDelta?: number,
  ): void;
  transpose(src: number, dst: number, rows: number, cols: number): void;
  addBias(x: number, bias: number, out: number, rows: number, n: number): void;
  addSame(a: number, b: number, out: number, len: number): void;
  /** out = p0 + p1 (rows × n), with matmul's epilogue (bias, reluDelta: 0 for none). */
  addPartials(p0: number, p1: number, out: number, rows: number, n: number, bias: number, reluDelta: number): void;
  /** Rows of C = A·B as two partial sums over A's columns [0, h) and [h, k) (the second via `partials`), added with the epilogue. */
  matmulTwoParts(
    a: number,
    b: number,
    c: number,
    partials: number,
    m: number,
    k: number,
    n: number,
    h: number,
    scratch: number,
    sparse: number,
    bias: number,
    reluDelta: number,
  ): void;
  relu(x: number, out: number, len: number): void;
  reluGrad(dy: number, x: number, out: number, len: number): void;
  tanh(x: number, out: number, len: number): void;
  tanhGrad(dy: number, y: number, out: number, len: number): void;
  sumRows(x: number, out: number, rows: number, n: number, stride: number): void;
  copy(x: number, out: number, len: number): void;
  softmax(z: number, out: number, rows: number, n: number): void;
  softmaxCrossEntropySum(z: number, y: number, rows: number, n: number, sum: number): void;
  softmaxCrossEntropyGrad(z: number, y: number, dL: number, out: number, rows: number, n: number, m: number): void;
  softmaxCrossEntropyAll(z: number, y: number, dL: number, probs: number, grad: number, rows: number, n: number, m: number, sum: number): void;
  adam(
    w: number,
    g: number,
    m: number,
    v: number,
    len: number,
    beta1: number,
    oneMinusBeta1: number,
    beta2: number,
    oneMinusBeta2: number,
    epsilon: number,
    stepSize: number,
    c2: number,
    decay: number,
  ): void;
  rmsprop(w: number, g: number, s: number, len: number, beta: number, oneMinusBeta: number, epsilon: number, lr: number, decay: number): void;
  scaleBytes(bytes: number, out: number, len: number, divisor: number): void;
  countCorrect(probs: number, labels: number, rows: number, classes: number): number;
  /** Features [first, first + count) of each row of x (and y's one-hots when y ≠ 0). */
  gatherBatch(
    images: number,
    labels: number,
    indices: number,
    x: number,
    y: number,
    rows: number,
    features: number,
    classes: number,
    divisor: number,
    first: number,
    count: number,
  ): void;
  sgd(w: number, g: number, u: number, len: number, mu: number, lr: number, decay: number): void;
}

let compiled: WebAssembly.Module | undefined;

function module(): WebAssembly.Module {
  compiled ??= new WebAssembly.Module(Buffer.from(KERNELS_WASM_BASE64, "base64"));
  return compiled;
}

/** The compiled module, to hand to a worker thread. */
export function kernelsModule(): WebAssembly.Module {
  return module();
}

export function instantiateKernels(memory: WebAssembly.Memory): WasmKernels {
  const instance = new WebAssembly.Instance(module(), { env: { memory } });
  return instance.exports as unknown as WasmKernels;
}
