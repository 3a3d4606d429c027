/**
 * sum_to: sums x over the axes along which `shape` would be broadcast to x's shape — the inverse of
 * broadcasting. A bias gradient is sum_to(δ, [n]): the sum over the batch, the report's Σᵢ δ.
 * broadcast_to is its gradient, and sum_to is broadcast_to's.
 */
import { Type } from "@sinclair/typebox";
import { formatShape, sameShape, sizeOf, type Shape } from "../graph/ir.js";
import { ShapeAttr } from "./attrs.js";
import { broadcastIndex, broadcastShapes, sumToKernel } from "./broadcast.js";
import { ShapeError, defineOp } from "./op.js";

const TargetShape = Type.Object({ shape: ShapeAttr }, { additionalProperties: false });

/** True when `small` broadcasts to exactly `big`. */
function broadcastsTo(small: Shape, big: Shape): boolean {
  try {
    return sameShape(broadcastShapes(small, big), big);
  } catch {
    return false;
  }
}

export const sumTo = defineOp({
  name: "sum_to",
  summary: "sum over the axes that broadcasting `shape` would add (the inverse of broadcast_to)",
  inputs: ["x"],
  attrs: TargetShape,
  shape: ([x], { shape }) => {
    if (!broadcastsTo(shape, x!)) {
      throw new ShapeError(`cannot sum ${formatShape(x!)} to ${formatShape(shape)}: the target must broadcast back to the input's shape.`, "shape");
    }
    return shape;
  },
  kernel: ({ inputShapes: [x], outputShape }) => sumToKernel(x!, outputShape),
  gradient: (g) => [g.emit("broadcast_to", [g.dy], { shape: [...g.shapeOf(g.inputs[0]!)] })],
  formula: "Σᵢ δ",
  // A target that broadcasts back to x: some leading axes dropped, some of the others set to 1.
  check: {
    attrs: ([x], draw) => {
      const drop = draw.int(0, x!.length);
      return { shape: x!.slice(drop).map((d) => (draw.bool() ? 1 : d)) };
    },
  },
});

export const broadcastTo = defineOp({
  name: "broadcast_to",
  summary: "repeat x along new or size-1 axes to `shape`",
  inputs: ["x"],
  attrs: TargetShape,
  shape: ([x], { shape }) => {
    if (!broadcastsTo(x!, shape)) {
      throw new ShapeError(`cannot broadcast ${formatShape(x!)} to ${formatShape(shape)}.`, "shape");
    }
    return shape;
  },
  kernel: ({ inputShapes: [x], outputShape }) => {
    const index = broadcastIndex(x!, outputShape);
    const n = sizeOf(outputShape);
    return ([xs], out) => {
      for (let k = 0; k < n; k++) out[k] = xs![index ? index[k]! : k]!;
    };
  },
  // Autodiff sums dy back to x's shape by itself.
  gradient: (g) => [g.dy],
  // x with some axes of 1 (broadcast), to a target that grows them and may add leading axes.
  check: {
    broadcast: true,
    attrs: ([x], draw) => {
      const leading = Array.from({ length: draw.int(0, 3 - x!.length) }, () => draw.int(1, 4));
      return { shape: [...leading, ...x!.map((d) => (d === 1 ? draw.int(1, 4) : d))] };
    },
  },
});
