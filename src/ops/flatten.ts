/**
 * flatten: a matrix of the same values, the axes before `axis` becoming its rows and the rest its columns
 * (as ONNX's Flatten): [N, C, H, W] → [N, C·H·W] with the default axis 1, "batch" kept symbolic, so that a
 * convolution's output can feed a dense layer. Axis 0 gives one row; axis = rank one column.
 *
 * The kernel copies (see reshape.ts on views). Gradient: dy reshaped back to x's shape.
 */
import { Type } from "#typebox";
import { sizeOf } from "../graph/ir.js";
import { dimProduct } from "./layout.js";
import { ShapeError, defineOp } from "./op.js";
import { copyKernel } from "./reshape.js";

export const flatten = defineOp({
  name: "flatten",
  onnx: { export: (c) => void c.emit("Flatten", c.inputs, { axis: { int: c.node.attrs.axis ?? 1 } }, c.output) },
  summary: "[d₀…dₐ₋₁, dₐ…] → [d₀·…·dₐ₋₁, dₐ·…] at axis a (default 1): [N, C, H, W] → [N, C·H·W]",
  inputs: ["x"],
  attrs: Type.Object(
    {
      axis: Type.Optional(
        Type.Integer({
          minimum: -8,
          maximum: 8,
          default: 1,
          description: "The first axis of the columns: the axes before it make the rows. Negative counts from the end. Default 1.",
        }),
      ),
    },
    { additionalProperties: false },
  ),
  shape: ([x], { axis = 1 }) => {
    const rank = x!.length;
    if (axis < -rank || axis > rank) throw new ShapeError(`axis ${axis} is outside a rank-${rank} input (from ${-rank} to ${rank}).`, "axis");
    const a = axis < 0 ? axis + rank : axis;
    return [dimProduct(x!.slice(0, a), "axis", x!), dimProduct(x!.slice(a), "axis", x!)];
  },
  kernel: ({ outputShape }) => copyKernel(sizeOf(outputShape)),
  gradient: (g) => [g.emit("reshape", [g.dy], { shape: [...g.shapeOf(g.inputs[0]!)] })],
  check: { shapes: [["...", "n"]], attrs: ([x], draw) => (draw.bool() ? {} : { axis: draw.int(-x!.length, x!.length) }) },
});
