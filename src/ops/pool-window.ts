/**
 * What max_pool2d and avg_pool2d (and their gradient ops) share: the window attributes, the shape rule
 * over NCHW inputs and the geometry of the windows, computed once when a kernel is made.
 *
 * A window of kh × kw moves by the stride over the input padded by ph rows above and below and pw columns
 * left and right. The output has ⌊(H + 2·ph − kh) / sh⌋ + 1 rows (PyTorch's floor mode: a window that
 * would run past the padded input is left out) and likewise columns. Padding is at most half the window,
 * as PyTorch requires, so every window holds at least one element of the input: a max is never −∞ and
 * an average without the padding never divides by zero.
 */
import { Type, type Static } from "#typebox";
import { formatShape, type ConcreteShape, type Shape } from "../graph/ir.js";
import { ShapeError, type OnnxAttribute } from "./op.js";

/** A size for both spatial axes, or [for the rows, for the columns]. */
function pairAttr(minimum: number, description: string) {
  return Type.Union([Type.Integer({ minimum, maximum: 2 ** 16 }), Type.Array(Type.Integer({ minimum, maximum: 2 ** 16 }), { minItems: 2, maxItems: 2 })], {
    description,
  });
}

export const POOL_WINDOW_FIELDS = {
  window: pairAttr(1, "The window's height and width: one number for both, or [kh, kw]."),
  stride: Type.Optional(pairAttr(1, "How far the window moves: one number for both axes, or [sh, sw]. Default: the window (windows that tile).")),
  padding: Type.Optional(pairAttr(0, "Rows above and below, columns left and right: one number for both, or [ph, pw]; at most half the window. Default 0.")),
};

export const PoolAttrs = Type.Object(POOL_WINDOW_FIELDS, { additionalProperties: false });
export type PoolAttrs = Static<typeof PoolAttrs>;

/** A pair attribute as [rows, columns]. */
function pair(value: number | readonly number[]): [number, number] {
  return typeof value === "number" ? [value, value] : [value[0]!, value[1]!];
}

/** Everything a pooling kernel needs, from a concrete input shape. */
export interface PoolGeometry {
  /** Input planes (N·C), rows and columns. */
  readonly planes: number;
  readonly h: number;
  readonly w: number;
  readonly kh: number;
  readonly kw: number;
  readonly sh: number;
  readonly sw: number;
  readonly ph: number;
  readonly pw: number;
  readonly outH: number;
  readonly outW: number;
}

/** The spatial part of the rule: window, stride and padding against H and W. Throws a ShapeError naming the field. */
function windowGeometry(h: number, w: number, attrs: PoolAttrs) {
  const [kh, kw] = pair(attrs.window);
  const [sh, sw] = pair(attrs.stride ?? attrs.window);
  const [ph, pw] = pair(attrs.padding ?? 0);
  if (2 * ph > kh || 2 * pw > kw) {
    throw new ShapeError(`padding [${ph}, ${pw}] is more than half the window [${kh}, ${kw}]: a window could then lie in the padding alone.`, "padding");
  }
  if (kh > h + 2 * ph || kw > w + 2 * pw) {
    throw new ShapeError(
      `the window [${kh}, ${kw}] is larger than the padded input [${h + 2 * ph}, ${w + 2 * pw}] (input ${h} × ${w}, padding [${ph}, ${pw}]).`,
      "window",
    );
  }
  return { kh, kw, sh, sw, ph, pw, outH: Math.floor((h + 2 * ph - kh) / sh) + 1, outW: Math.floor((w + 2 * pw - kw) / sw) + 1 };
}

/** The shape rule of a pooling op: [N, C, H, W] → [N, C, outH, outW], N and C kept as they are (symbols too). */
export function poolShape(x: Shape, attrs: PoolAttrs): Shape {
  if (x.length !== 4) throw new ShapeError(`the input must be a batch of images [N, C, H, W] (rank 4), got ${formatShape(x)}.`);
  const [n, c, h, w] = x as [Shape[number], Shape[number], Shape[number], Shape[number]];
  if (typeof h !== "number" || typeof w !== "number") {
    throw new ShapeError(`the height and width of the input must be sizes, not symbols, got ${formatShape(x)}.`);
  }
  const { outH, outW } = windowGeometry(h, w, attrs);
  return [n, c, outH, outW];
}

/** The geometry for a concrete input shape (already accepted by poolShape). */
export function poolGeometry(x: ConcreteShape, attrs: PoolAttrs): PoolGeometry {
  const [n, c, h, w] = x as [number, number, number, number];
  return { planes: n * c, h, w, ...windowGeometry(h, w, attrs) };
}

/**
 * The rows [y0, y1) and columns [x0, x1) of the input under window (oy, ox), clipped to the input (the
 * padding holds nothing to read), written into `into` to spare an allocation per window.
 */
export function windowBounds(g: PoolGeometry, oy: number, ox: number, into: Int32Array): void {
  const top = oy * g.sh - g.ph;
  const left = ox * g.sw - g.pw;
  into[0] = Math.max(0, top);
  into[1] = Math.min(g.h, top + g.kh);
  into[2] = Math.max(0, left);
  into[3] = Math.min(g.w, left + g.kw);
}

/**
 * Draws window attributes a [n, c, h, w] input accepts, for the check hints: windows up to 5 (and up to
 * twice the input where padding makes room), strides 1 to 3 (overlapping, tiling and gapped windows),
 * padding as far as half the window; pairs and single numbers both.
 */
export function drawPoolAttrs(x: readonly number[], draw: { int(min: number, max: number): number; bool(): boolean }): PoolAttrs {
  const axis = (size: number) => {
    const k = draw.int(1, Math.min(5, 2 * size));
    const p = draw.int(Math.max(0, Math.ceil((k - size) / 2)), Math.floor(k / 2));
    return { k, s: draw.int(1, 3), p };
  };
  const rows = axis(x[2]!);
  const square = draw.bool() && rows.k <= 2 * x[3]! && rows.k - 2 * rows.p <= x[3]!;
  const cols = square ? rows : axis(x[3]!);
  const attrs: { window: number | number[]; stride?: number | number[]; padding?: number | number[] } = {
    window: square ? rows.k : [rows.k, cols.k],
  };
  if (draw.bool()) attrs.stride = square ? rows.s : [rows.s, cols.s];
  if (rows.p > 0 || cols.p > 0) attrs.padding = square ? rows.p : [rows.p, cols.p];
  return attrs;
}

/** The window attributes as ONNX's MaxPool and AveragePool take them (floor mode, symmetric padding). */
export function onnxPoolAttrs(attrs: PoolAttrs): Record<string, OnnxAttribute> {
  const [kh, kw] = pair(attrs.window);
  const [sh, sw] = pair(attrs.stride ?? attrs.window);
  const [ph, pw] = pair(attrs.padding ?? 0);
  return { kernel_shape: { ints: [kh, kw] }, strides: { ints: [sh, sw] }, pads: { ints: [ph, pw, ph, pw] } };
}
