/**
 * avg_pool2d: the mean of each window of an NCHW batch (window, stride, padding as in pool-window.ts),
 * and avg_pool2d_grad, the op its gradient emits: each window's gradient, divided as its mean was, spread
 * over the window's elements, summed where windows overlap.
 *
 * Padding: `count_include_pad` (default true, as PyTorch's AvgPool2d) divides every window by kh·kw,
 * the padded zeros counting as values; false divides by the number of input elements under the window,
 * so a window at the border is the mean of what it covers (TensorFlow's "SAME" average pooling).
 */
import { Type, type Static } from "#typebox";
import { formatShape, sameShape, type Shape } from "../graph/ir.js";
import { ShapeError, defineOp, type Kernel } from "./op.js";
import { POOL_WINDOW_FIELDS, drawPoolAttrs, poolGeometry, poolShape, windowBounds, onnxPoolAttrs, type PoolGeometry } from "./pool-window.js";

const COUNT_INCLUDE_PAD = Type.Optional(
  Type.Boolean({
    default: true,
    description: "Divide every window by its full size kh·kw, padded zeros included (PyTorch's default); false: by the input elements it covers.",
  }),
);

const AvgPoolAttrs = Type.Object({ ...POOL_WINDOW_FIELDS, count_include_pad: COUNT_INCLUDE_PAD }, { additionalProperties: false });
type AvgPoolAttrs = Static<typeof AvgPoolAttrs>;

const AvgPoolGradAttrs = Type.Object(
  {
    ...POOL_WINDOW_FIELDS,
    count_include_pad: COUNT_INCLUDE_PAD,
    input_size: Type.Array(Type.Integer({ minimum: 1, maximum: 2 ** 31 - 1 }), {
      minItems: 2,
      maxItems: 2,
      description: "The forward input's height and width [H, W], which the pooled shape alone does not fix.",
    }),
  },
  { additionalProperties: false },
);
type AvgPoolGradAttrs = Static<typeof AvgPoolGradAttrs>;

/** 1 / (the divisor of each window), in output order, computed once per kernel: the padding makes it vary at the borders. */
function windowScales(g: PoolGeometry, countIncludePad: boolean): Float64Array {
  const scales = new Float64Array(g.outH * g.outW);
  const bounds = new Int32Array(4);
  for (let oy = 0, o = 0; oy < g.outH; oy++) {
    for (let ox = 0; ox < g.outW; ox++, o++) {
      windowBounds(g, oy, ox, bounds);
      const covered = (bounds[1]! - bounds[0]!) * (bounds[3]! - bounds[2]!);
      scales[o] = 1 / (countIncludePad ? g.kh * g.kw : covered);
    }
  }
  return scales;
}

export const avgPool2d = defineOp({
  name: "avg_pool2d",
  onnx: {
    export: (c) => {
      const { count_include_pad = true, ...window } = c.node.attrs;
      c.emit("AveragePool", c.inputs, { ...onnxPoolAttrs(window), count_include_pad: { int: count_include_pad ? 1 : 0 } }, c.output);
    },
  },
  summary: "the mean of each window of an [N, C, H, W] batch (window, stride, padding; count_include_pad as PyTorch)",
  inputs: ["x"],
  attrs: AvgPoolAttrs,
  shape: ([x], attrs) => poolShape(x!, attrs),
  kernel: ({ inputShapes: [x], attrs }): Kernel => {
    const g = poolGeometry(x!, attrs);
    const scales = windowScales(g, attrs.count_include_pad ?? true);
    const bounds = new Int32Array(4);
    const planeSize = g.h * g.w;
    return ([xs], out) => {
      for (let p = 0, o = 0; p < g.planes; p++) {
        const plane = p * planeSize;
        for (let oy = 0, k = 0; oy < g.outH; oy++) {
          for (let ox = 0; ox < g.outW; ox++, o++, k++) {
            windowBounds(g, oy, ox, bounds);
            let sum = 0;
            for (let y = bounds[0]!; y < bounds[1]!; y++) {
              for (let i = plane + y * g.w + bounds[2]!, end = plane + y * g.w + bounds[3]!; i < end; i++) sum += xs![i]!;
            }
            out[o] = sum * scales[k]!;
          }
        }
      }
    };
  },
  gradient: (g) => {
    const x = g.shapeOf(g.inputs[0]!);
    return [g.emit("avg_pool2d_grad", [g.dy], { ...g.node.attrs, input_size: [x[2] as number, x[3] as number] })];
  },
  check: {
    shapes: [["n", "c", "h", "w"]],
    attrs: ([x], draw) => ({ ...drawPoolAttrs(x!, draw), ...(draw.bool() ? { count_include_pad: draw.bool() } : {}) }),
  },
});

export const avgPool2dGrad = defineOp({
  name: "avg_pool2d_grad",
  summary: "each window's dy divided as its mean was and spread over the window, summed where windows overlap",
  inputs: ["dy"],
  attrs: AvgPoolGradAttrs,
  shape: ([dy], attrs) => {
    if (dy!.length !== 4) throw new ShapeError(`dy must be a pooled batch [N, C, outH, outW] (rank 4), got ${formatShape(dy!)}.`);
    const x: Shape = [dy![0]!, dy![1]!, attrs.input_size[0]!, attrs.input_size[1]!];
    const y = poolShape(x, attrs);
    if (!sameShape(dy!, y)) throw new ShapeError(`dy ${formatShape(dy!)} must have the shape of the pooled output ${formatShape(y)}.`);
    return x;
  },
  kernel: ({ attrs, outputShape }): Kernel => {
    const g = poolGeometry(outputShape, attrs);
    const scales = windowScales(g, attrs.count_include_pad ?? true);
    const bounds = new Int32Array(4);
    const planeSize = g.h * g.w;
    return ([dy], out) => {
      out.fill(0, 0, g.planes * planeSize);
      for (let p = 0, o = 0; p < g.planes; p++) {
        const plane = p * planeSize;
        for (let oy = 0, k = 0; oy < g.outH; oy++) {
          for (let ox = 0; ox < g.outW; ox++, o++, k++) {
            windowBounds(g, oy, ox, bounds);
            const share = dy![o]! * scales[k]!;
            for (let y = bounds[0]!; y < bounds[1]!; y++) {
              for (let i = plane + y * g.w + bounds[2]!, end = plane + y * g.w + bounds[3]!; i < end; i++) out[i]! += share;
            }
          }
        }
      }
    };
  },
  formula: "dx[window] += δ / |window|",
  check: { skip: "a backward op, checked through avg_pool2d's gradient" },
});
