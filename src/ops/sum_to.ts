/**
 * sum_to: sums x over the axes along which `shape` would be broadcast to x's shape — the inverse of
 * broadcasting. A bias gradient is sum_to(δ, [n]): the sum over the batch, the report's Σᵢ δ.
 * broadcast_to is its gradient, and sum_to is broadcast_to's.
 */
import { Type } from "#typebox";
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
  // Summed with keepdims over the axes set to 1, then without over the leading axes the target drops.
  onnx: {
    export: (c) => {
      const x = c.inputShapes[0]!;
      const target = c.node.attrs.shape;
      const lead = x.length - target.length;
      const ones = target.flatMap((d, i) => (d === 1 && x[lead + i] !== 1 ? [lead + i] : []));
      const leading = Array.from({ length: lead }, (_, i) => i);
      const reduce = (from: string, axes: number[], keep: boolean, out?: string) =>
        c.emit("ReduceSum", [from, c.constant(axes, "int64", [axes.length])], { keepdims: { int: keep ? 1 : 0 } }, out);
      if (ones.length === 0 && leading.length === 0) c.emit("Identity", c.inputs, {}, c.output);
      else if (leading.length === 0) reduce(c.inputs[0]!, ones, true, c.output);
      else reduce(ones.length > 0 ? reduce(c.inputs[0]!, ones, true) : c.inputs[0]!, leading, false, c.output);
    },
  },
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
  // Expand broadcasts both ways: an axis the input already has at its size (a symbol too) is written 1.
  onnx: {
    export: (c) => {
      const x = c.inputShapes[0]!;
      const target = c.node.attrs.shape;
      const lead = target.length - x.length;
      const dims = target.map((d, i) => {
        if (typeof d === "number") return d;
        if (x[i - lead] === d) return 1;
        throw new ShapeError(`broadcast_to ${formatShape(target)} has no ONNX lowering: its symbol "${d}" is not a size of the input's.`, "shape");
      });
      c.emit("Expand", [c.inputs[0]!, c.constant(dims, "int64", [dims.length])], {}, c.output);
    },
  },
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
