/**
 * The ONNX operators import reads, each as the graphnet nodes that compute it: the inverse of the ops'
 * lowerings (OpDefinition.onnx), and the idioms of PyTorch's exporter (Gemm with transB, alpha and beta;
 * Flatten; Reshape with a constant shape; Conv with its bias; Identity, Dropout and Constant). One table
 * by ONNX operator, since one operator may be several nodes (a Gemm is a product and a bias) and one
 * op several operators (global_avg_pool is GlobalAveragePool and Flatten).
 */
import type { AttrValue, Attrs, Shape } from "../graph/ir.js";

/** What a reader of one ONNX node can see and do (src/onnx/import.ts implements it). */
export interface ImportContext {
  readonly opType: string;
  /** The version of ONNX's default operator set the model uses. */
  readonly opset: number;
  /** How many inputs the node names ("" inputs, left out, included). */
  readonly inputCount: number;
  /** Whether input i is given (not absent, not ""). */
  has(i: number): boolean;
  /** An attribute, or undefined when the node does not set it. */
  int(name: string): number | undefined;
  ints(name: string): number[] | undefined;
  float(name: string): number | undefined;
  string(name: string): string | undefined;
  /** The graphnet value of input i: a computed value, the input, or an initializer made a parameter. */
  value(i: number): string;
  /** Input i as a stored value: an initializer becomes a parameter or state with this initialiser (its values reshaped to `shape`). */
  stored(i: number, role: "parameter" | "state", init: string, shape?: readonly number[]): string;
  /** Input i's constant values (an initializer or a Constant node's), for shapes, axes, exponents; refuses a computed one. */
  constant(i: number, what: string): { readonly dims: number[]; readonly values: ArrayLike<number> };
  /** Whether input i is a constant (an initializer or a Constant node's output). */
  isConstant(i: number): boolean;
  shapeOf(value: string): Shape;
  /**
   * Adds a graphnet node and returns its id: the id of the ONNX node's (first) output when `part` is
   * omitted — the node that computes it — else that id with ".part", for a node on the way.
   */
  add(op: string, inputs: readonly string[], attrs?: Attrs, part?: string): string;
  /** The ONNX output is this value itself (an operator graphnet needs no node for). */
  alias(value: string): void;
  /** The node is refused: one line saying why, with the node's name. */
  refuse(why: string): never;
  /** The graphnet node that computes `value`, if one does (not an input or a stored value). */
  nodeOf(value: string): { readonly op: string; readonly inputs: readonly string[] } | undefined;
}

type Reader = (c: ImportContext) => void;

const unary =
  (op: string): Reader =>
  (c) =>
    void c.add(op, [c.value(0)]);
const binary =
  (op: string): Reader =>
  (c) => {
    if (c.inputCount !== 2) c.refuse(`${c.opType} of ${c.inputCount} inputs; graphnet's ${op} takes two.`);
    c.add(op, [c.value(0), c.value(1)]);
  };

/** A 2-D window attribute of ONNX (kernel_shape, strides, dilations) as graphnet's number or pair. */
function pair(values: readonly number[] | undefined, fallback: number): AttrValue {
  const [r = fallback, s = fallback] = values ?? [];
  return r === s ? r : [r, s];
}

/** The last axis, as softmax and friends take it: opset 13 on any axis (refused unless the last); before, 2-D inputs over axis 1. */
function lastAxisOnly(c: ImportContext): void {
  const rank = c.shapeOf(c.value(0)).length;
  const axis = c.int("axis") ?? (c.opset >= 13 ? -1 : 1);
  const last = axis === -1 || axis === rank - 1;
  if (!last || (c.opset < 13 && rank !== 2 && axis !== rank - 1))
    c.refuse(`${c.opType} over axis ${axis} of a rank-${rank} input; graphnet's is over the last axis.`);
}

/** The 2-D spatial padding of Conv and the pools: a number or [rows, columns], symmetric; Conv may also pad as "same". */
function padding(c: ImportContext, allowSame: () => boolean): AttrValue | undefined {
  const autoPad = c.string("auto_pad") ?? "NOTSET";
  if (autoPad === "VALID") return undefined;
  if (autoPad === "SAME_UPPER") {
    if (allowSame()) return "same";
    c.refuse(`auto_pad SAME_UPPER on a pooling window; give explicit pads.`);
  }
  if (autoPad !== "NOTSET") c.refuse(`auto_pad ${autoPad}; graphnet pads symmetrically, or as SAME_UPPER ("same").`);
  const [top = 0, left = 0, bottom = 0, right = 0] = c.ints("pads") ?? [];
  if (top === bottom && left === right) return top === 0 && left === 0 ? undefined : pair([top, left], 0);
  if (allowSame() && bottom - top >= 0 && bottom - top <= 1 && right - left >= 0 && right - left <= 1) return "same";
  c.refuse(`pads [${[top, left, bottom, right].join(", ")}]: graphnet pads the same on both sides (or as "same", the odd one at the bottom and right).`);
}

function conv(c: ImportContext): void {
  if ((c.int("group") ?? 1) !== 1) c.refuse(`a grouped convolution (group ${c.int("group")}); graphnet's conv2d is group 1.`);
  const x = c.value(0);
  const w = c.stored(1, "parameter", "he_normal");
  const wShape = c.shapeOf(w);
  if (wShape.length !== 4) c.refuse(`a ${wShape.length - 2}-D convolution; graphnet's conv2d is 2-D.`);
  const stride = pair(c.ints("strides"), 1);
  const dilation = pair(c.ints("dilations"), 1);
  const attrs: Record<string, AttrValue> = {};
  if (stride !== 1) attrs.stride = stride;
  if (dilation !== 1) attrs.dilation = dilation;
  // Pads that are the ones graphnet's "same" chooses for this input read as "same" (what its lowering
  // writes); other symmetric ones as a number or a pair.
  const [_n, _c, h, width] = c.shapeOf(x) as number[];
  const [top = 0, left = 0, bottom = 0, right = 0] = c.ints("pads") ?? [];
  const sameTotal = (size: number, k: number, s: number, d: number) => Math.max(0, (Math.ceil(size / s) - 1) * s + (k - 1) * d + 1 - size);
  const [sh, sw] = typeof stride === "number" ? [stride, stride] : (stride as number[]);
  const [dh, dw] = typeof dilation === "number" ? [dilation, dilation] : (dilation as number[]);
  const totalH = sameTotal(h!, wShape[2] as number, sh!, dh!);
  const totalW = sameTotal(width!, wShape[3] as number, sw!, dw!);
  const isSame =
    c.string("auto_pad") === "SAME_UPPER" ||
    ((c.string("auto_pad") ?? "NOTSET") === "NOTSET" &&
      (totalH > 0 || totalW > 0) &&
      top + bottom === totalH &&
      left + right === totalW &&
      top === Math.floor(totalH / 2) &&
      left === Math.floor(totalW / 2));
  const pad = isSame ? "same" : padding(c, () => false);
  if (pad !== undefined) attrs.padding = pad;
  if (!c.has(2)) {
    c.add("conv2d", [x, w], attrs);
    return;
  }
  // PyTorch's bias [F] is a [F, 1, 1] parameter added to the [N, F, H, W] maps.
  const f = wShape[0] as number;
  const product = c.add("conv2d", [x, w], attrs, "conv");
  c.add("add", [product, c.stored(2, "parameter", "zeros", [f, 1, 1])]);
}

function pool(op: "max_pool2d" | "avg_pool2d"): Reader {
  return (c) => {
    if ((c.int("ceil_mode") ?? 0) !== 0) c.refuse(`ceil_mode 1; graphnet's pools use floor mode.`);
    if (c.ints("dilations")?.some((d) => d !== 1)) c.refuse(`dilated pooling; graphnet's pools are not dilated.`);
    if ((c.int("storage_order") ?? 0) !== 0) c.refuse(`storage_order 1 (column-major indices).`);
    const kernel = c.ints("kernel_shape");
    if (!kernel || kernel.length !== 2) c.refuse(`a ${kernel?.length ?? "?"}-D window; graphnet pools 2-D.`);
    const window = pair(kernel, 1);
    const stride = pair(c.ints("strides"), 1);
    const attrs: Record<string, AttrValue> = { window };
    if (JSON.stringify(stride) !== JSON.stringify(window)) attrs.stride = stride;
    const pad = padding(c, () => false);
    if (pad !== undefined) attrs.padding = pad;
    // ONNX leaves the padding out of the count by default; graphnet (as PyTorch) counts it.
    if (op === "avg_pool2d" && (c.int("count_include_pad") ?? 0) === 0) attrs.count_include_pad = false;
    c.add(op, [c.value(0)], attrs);
  };
}

function gemm(c: ImportContext): void {
  const transA = (c.int("transA") ?? 0) === 1;
  const transB = (c.int("transB") ?? 0) === 1;
  const alpha = c.float("alpha") ?? 1;
  const beta = c.float("beta") ?? 1;
  const attrs: Record<string, AttrValue> = {};
  if (transA) attrs.transpose_a = true;
  if (transB) attrs.transpose_b = true;
  const a = c.value(0);
  const b = c.isConstant(1) ? c.stored(1, "parameter", "xavier_normal") : c.value(1);
  const hasBias = c.has(2) && beta !== 0;
  const last = alpha === 1 && !hasBias;
  let y = c.add("matmul", [a, b], attrs, last ? undefined : "matmul");
  if (alpha !== 1) y = c.add("mul", [y, c.add("constant", [], { shape: [], value: alpha }, "alpha")], {}, hasBias ? "scaled" : undefined);
  if (!hasBias) return;
  let bias = c.isConstant(2) ? c.stored(2, "parameter", "zeros") : c.value(2);
  if (beta !== 1) bias = c.add("mul", [bias, c.add("constant", [], { shape: [], value: beta }, "beta")], {}, "bias");
  c.add("add", [y, bias]);
}

function reduce(op: "sum" | "mean"): Reader {
  return (c) => {
    const keepdims = (c.int("keepdims") ?? 1) === 1;
    // The axes: an attribute until opset 13 (ReduceSum) or 18 (ReduceMean), an optional input since.
    let axes = c.ints("axes");
    if (axes === undefined && c.has(1)) axes = Array.from(c.constant(1, "axes").values);
    if (axes !== undefined && axes.length === 0 && (c.int("noop_with_empty_axes") ?? 0) === 1) {
      c.add("dropout", [c.value(0)]);
      return;
    }
    const attrs: Record<string, AttrValue> = {};
    if (axes !== undefined && axes.length > 0) attrs.axes = axes;
    if (keepdims) attrs.keepdims = true;
    c.add(op, [c.value(0)], attrs);
  };
}

export const ONNX_READERS: Readonly<Record<string, Reader>> = {
  Add: binary("add"),
  Sub: binary("sub"),
  Mul: binary("mul"),
  Div: binary("div"),
  Max: binary("maximum"),
  Min: binary("minimum"),
  Neg: unary("neg"),
  Abs: unary("abs"),
  Sign: unary("sign"),
  Exp: unary("exp"),
  Log: unary("log"),
  Sqrt: unary("sqrt"),
  Relu: unary("relu"),
  Sigmoid: unary("sigmoid"),
  Tanh: unary("tanh"),
  Softplus: unary("softplus"),
  Softmax: (c) => {
    lastAxisOnly(c);
    c.add("softmax", [c.value(0)]);
  },
  LogSoftmax: (c) => {
    lastAxisOnly(c);
    c.add("log_softmax", [c.value(0)]);
  },
  LeakyRelu: (c) => {
    const alpha = c.float("alpha") ?? 0.01;
    c.add("leaky_relu", [c.value(0)], Math.fround(alpha) === Math.fround(0.01) ? {} : { alpha: roundFloat(alpha) });
  },
  Pow: (c) => {
    const { values } = c.constant(1, "the exponent");
    if (values.length !== 1) c.refuse(`Pow with an exponent of ${values.length} values; graphnet's pow takes one constant exponent.`);
    c.add("pow", [c.value(0)], { exponent: roundFloat(values[0]!) });
  },
  MatMul: (c) => {
    const b = c.isConstant(1) ? c.stored(1, "parameter", "xavier_normal") : c.value(1);
    c.add("matmul", [c.value(0), b]);
  },
  Gemm: gemm,
  Conv: conv,
  MaxPool: pool("max_pool2d"),
  AveragePool: pool("avg_pool2d"),
  GlobalAveragePool: (c) => {
    // [N, C, 1, 1]: graphnet's global_avg_pool gives [N, C], reshaped back (a Flatten after it then reads as the one node).
    const x = c.value(0);
    const [n, channels, ...spatial] = c.shapeOf(x);
    const pooled = c.add("global_avg_pool", [x], {}, "pool");
    c.add("reshape", [pooled], { shape: [n!, channels!, ...spatial.map(() => 1)] });
  },
  BatchNormalization: (c) => {
    if ((c.int("training_mode") ?? 0) !== 0) c.refuse(`training_mode 1; an imported batch norm infers from its running statistics.`);
    const channels = c.shapeOf(c.value(0))[1];
    const attrs: Record<string, AttrValue> = {};
    const epsilon = c.float("epsilon") ?? 1e-5;
    if (Math.fround(epsilon) !== Math.fround(1e-5)) attrs.epsilon = roundFloat(epsilon);
    // ONNX's momentum weighs the running average, graphnet's (PyTorch's) the batch.
    const momentum = Number((1 - roundFloat(c.float("momentum") ?? 0.9)).toPrecision(7));
    if (momentum !== 0.1) attrs.momentum = momentum;
    if (typeof channels !== "number") c.refuse(`a batch norm over a symbolic number of channels.`);
    c.add(
      "batch_norm",
      [c.value(0), c.stored(1, "parameter", "ones"), c.stored(2, "parameter", "zeros"), c.stored(3, "state", "zeros"), c.stored(4, "state", "ones")],
      attrs,
    );
  },
  LayerNormalization: (c) => {
    const rank = c.shapeOf(c.value(0)).length;
    const axis = c.int("axis") ?? -1;
    if (axis !== -1 && axis !== rank - 1) c.refuse(`LayerNormalization from axis ${axis}; graphnet's layer_norm normalises the last axis.`);
    if (!c.has(2)) c.refuse(`LayerNormalization without a bias B.`);
    const epsilon = c.float("epsilon") ?? 1e-5;
    c.add(
      "layer_norm",
      [c.value(0), c.stored(1, "parameter", "ones"), c.stored(2, "parameter", "zeros")],
      Math.fround(epsilon) === Math.fround(1e-5) ? {} : { epsilon: roundFloat(epsilon) },
    );
  },
  Reshape: (c) => {
    if ((c.int("allowzero") ?? 0) !== 0) c.refuse(`allowzero 1 (a size of 0 taken literally).`);
    const x = c.value(0);
    const from = c.shapeOf(x);
    // 0 keeps the input's size on that axis (the batch symbol too); a -1 that stands for the batch stays -1,
    // which graphnet's reshape reads the same way.
    const shape = Array.from(c.constant(1, "the new shape").values).map((d, i) => {
      if (d === 0) return from[i]!;
      if (d < -1) c.refuse(`a new shape with the size ${d}.`);
      return d;
    });
    c.add("reshape", [x], { shape });
  },
  Flatten: (c) => {
    const x = c.value(0);
    const axis = c.int("axis") ?? 1;
    // GlobalAveragePool then Flatten is graphnet's global_avg_pool, as its lowering writes it: one node
    // (the GlobalAveragePool's own nodes, then unread, are dropped with every node no output needs).
    const reshaped = c.nodeOf(x);
    const pooled = reshaped?.op === "reshape" ? c.nodeOf(reshaped.inputs[0]!) : undefined;
    if (axis === 1 && pooled?.op === "global_avg_pool") {
      c.add("global_avg_pool", [pooled.inputs[0]!]);
      return;
    }
    c.add("flatten", [x], axis === 1 ? {} : { axis });
  },
  Transpose: (c) => {
    const perm = c.ints("perm");
    c.add("transpose", [c.value(0)], perm ? { perm } : {});
  },
  Concat: (c) => {
    if (c.inputCount !== 2) c.refuse(`Concat of ${c.inputCount} inputs; graphnet's concat joins two.`);
    const axis = c.int("axis") ?? 0;
    c.add("concat", [c.value(0), c.value(1)], axis === 0 ? {} : { axis });
  },
  Slice: (c) => {
    const starts = Array.from(c.constant(1, "starts").values);
    const ends = Array.from(c.constant(2, "ends").values);
    const x = c.value(0);
    const shape = c.shapeOf(x);
    const axes = c.has(3) ? Array.from(c.constant(3, "axes").values) : starts.map((_, i) => i);
    const steps = c.has(4) ? Array.from(c.constant(4, "steps").values) : [1];
    if (starts.length !== 1 || steps.some((s) => s !== 1)) c.refuse(`a Slice of ${starts.length} axes or with steps; graphnet's slice takes one axis, step 1.`);
    const axis = axes[0]!;
    const dim = shape[axis < 0 ? axis + shape.length : axis];
    const size = typeof dim === "number" ? dim : c.refuse(`a Slice along the symbolic axis ${axis}.`);
    const clamp = (v: number) => Math.min(Math.max(v < 0 ? v + size : v, 0), size);
    c.add("slice", [x], { axis, start: clamp(starts[0]!), end: clamp(ends[0]!) });
  },
  ReduceSum: reduce("sum"),
  ReduceMean: reduce("mean"),
  // An Identity is the identity: a dropout node without a rate, which is what graphnet's exporter writes for one.
  Identity: (c) => void c.add("dropout", [c.value(0)]),
  Dropout: (c) => {
    const ratio = c.has(1) ? c.constant(1, "the ratio").values[0] : c.float("ratio");
    c.add("dropout", [c.value(0)], ratio !== undefined && ratio > 0 && ratio < 1 ? { rate: roundFloat(ratio) } : {});
  },
};

/** A float32 attribute as the shortest decimal of that float32 (0.1f reads back as 0.1, not 0.10000000149). */
export function roundFloat(value: number): number {
  const single = Math.fround(value);
  for (let digits = 1; digits < 9; digits++) {
    const decimal = Number(single.toPrecision(digits));
    if (Math.fround(decimal) === single) return decimal;
  }
  return single;
}
