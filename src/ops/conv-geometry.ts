/**
 * The geometry of a 2-D sliding window, shared by conv2d and the ops of its gradient: the attributes
 * `stride`, `padding` and `dilation` (each a number or a [rows, columns] pair), resolved for given
 * input and kernel sizes into each axis's leading padding and output size, and the range of output
 * positions each kernel tap reaches inside the input (so kernels never test bounds in their inner loop).
 *
 * Output size per axis, with span = (kernel − 1)·dilation + 1 the extent of the dilated kernel:
 *   out = ⌊(size + before + after − span) / stride⌋ + 1.
 *
 * `"same"` follows TensorFlow: out = ⌈size / stride⌉, with the least total padding that gives it, split
 * evenly and the odd one at the end (bottom, right). With stride 1 this keeps the size and pads exactly as
 * PyTorch's "same" does; PyTorch refuses "same" with a larger stride, but it is the usual way to halve a
 * feature map with a strided convolution (Keras, ResNet-style downsampling), and it costs the kernels
 * nothing: only the leading padding enters their index arithmetic, the trailing one only the output size.
 */
import { Type } from "#typebox";
import { ShapeError } from "./op.js";

const PositiveInt = Type.Integer({ minimum: 1 });
const PositivePair = Type.Tuple([PositiveInt, PositiveInt]);

/** A number for both axes or a [rows, columns] pair, each ≥ 1. */
const pairAttr = (what: string) =>
  Type.Optional(Type.Union([PositiveInt, PositivePair], { default: 1, description: `${what}: a number for both axes, or [rows, columns].` }));

const NonNegativeInt = Type.Integer({ minimum: 0 });

export const WindowAttrs = {
  stride: pairAttr("Step between window positions"),
  padding: Type.Optional(
    Type.Union([NonNegativeInt, Type.Tuple([NonNegativeInt, NonNegativeInt]), Type.Literal("same"), Type.Literal("valid")], {
      default: "valid",
      description:
        'Zeros added around the input: a number for every side, [rows, columns] (each on both sides), "valid" (none) or "same" (output size ⌈input / stride⌉, the odd padding at the bottom and right, as TensorFlow).',
    }),
  ),
  dilation: pairAttr("Spacing between the kernel's taps (1: adjacent)"),
};

export type Pair = number | [number, number];
export interface WindowAttrValues {
  readonly stride?: Pair;
  readonly padding?: Pair | "same" | "valid";
  readonly dilation?: Pair;
}

/** One axis of a window: what the kernels index with. */
export interface AxisGeometry {
  /** The input's size along the axis. */
  readonly size: number;
  readonly kernel: number;
  readonly stride: number;
  readonly dilation: number;
  /** Zeros before the first input element (top or left); the trailing padding only shapes `out`. */
  readonly before: number;
  readonly after: number;
  readonly out: number;
}

export interface WindowGeometry {
  readonly rows: AxisGeometry;
  readonly cols: AxisGeometry;
}

const AXES = ["rows", "columns"] as const;

/** The value of a pair attribute for axis 0 (rows) or 1 (columns), checked. */
function pairValue(value: unknown, axis: 0 | 1, field: string, fallback: number, minimum: number): number {
  const v = Array.isArray(value) ? (value as unknown[])[axis] : value === undefined ? fallback : value;
  if (typeof v !== "number" || !Number.isInteger(v) || v < minimum) {
    const expected = minimum === 1 ? "a positive integer" : "an integer ≥ 0";
    throw new ShapeError(`${field} must be ${expected} or a pair of them ([rows, columns]), got ${JSON.stringify(value)}.`, field);
  }
  return v;
}

/**
 * Resolves the attributes for an input of `height`×`width` and a kernel of `kh`×`kw`. Throws a
 * ShapeError naming the field for a bad attribute, and one naming the inputs when the (dilated) kernel
 * does not fit in the padded input.
 */
export function windowGeometry(height: number, width: number, kh: number, kw: number, attrs: WindowAttrValues): WindowGeometry {
  const axis = (i: 0 | 1, size: number, kernel: number): AxisGeometry => {
    const stride = pairValue(attrs.stride, i, "stride", 1, 1);
    const dilation = pairValue(attrs.dilation, i, "dilation", 1, 1);
    const span = (kernel - 1) * dilation + 1;
    let before: number;
    let after: number;
    const padding = attrs.padding ?? "valid";
    if (padding === "valid") before = after = 0;
    else if (padding === "same") {
      const total = Math.max(0, (Math.ceil(size / stride) - 1) * stride + span - size);
      before = Math.floor(total / 2);
      after = total - before;
    } else {
      if (typeof padding === "string") throw new ShapeError(`padding must be a number, a pair, "same" or "valid", got ${JSON.stringify(padding)}.`, "padding");
      before = after = pairValue(padding, i, "padding", 0, 0);
    }
    const padded = size + before + after;
    if (span > padded) {
      const dilated = dilation > 1 ? ` (spanning ${span} with dilation ${dilation})` : "";
      const pads = before + after > 0 ? ` padded to ${padded}` : "";
      throw new ShapeError(
        `the kernel is larger than the input along the ${AXES[i]}: ${kernel}${dilated} does not fit in ${size}${pads}. ` +
          `Pad the input (padding: "same" or a number), or use a smaller kernel or dilation.`,
      );
    }
    return { size, kernel, stride, dilation, before, after, out: Math.floor((padded - span) / stride) + 1 };
  };
  return { rows: axis(0, height, kh), cols: axis(1, width, kw) };
}

/**
 * For each kernel tap k of an axis, the output positions o whose input position o·stride − before +
 * k·dilation lies inside the input: o ∈ [lo[k], hi[k]) (empty when hi ≤ lo). Computed once per kernel,
 * so the loops over outputs run without a bounds test.
 */
export function tapRanges(a: AxisGeometry): { lo: Int32Array; hi: Int32Array } {
  const lo = new Int32Array(a.kernel);
  const hi = new Int32Array(a.kernel);
  for (let k = 0; k < a.kernel; k++) {
    const offset = k * a.dilation - a.before;
    // o·stride + offset ≥ 0 and ≤ size − 1.
    lo[k] = Math.max(0, Math.ceil(-offset / a.stride));
    hi[k] = Math.max(lo[k]!, Math.min(a.out, Math.floor((a.size - 1 - offset) / a.stride) + 1));
  }
  return { lo, hi };
}

/** Attributes as the ops of the gradient receive them: the forward node's, those it set only. */
export function windowAttrsOf(attrs: WindowAttrValues): WindowAttrValues {
  const { stride, padding, dilation } = attrs;
  return { ...(stride !== undefined ? { stride } : {}), ...(padding !== undefined ? { padding } : {}), ...(dilation !== undefined ? { dilation } : {}) };
}
