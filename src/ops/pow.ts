/**
 * pow: x raised to a constant `exponent`, elementwise, as Math.pow (IEEE's pow): a negative x to a
 * non-integer power is NaN, 0 to a negative power ∞, x⁰ = 1 for every x (NaN too).
 * Gradient: dy ⊙ p·x^(p−1), built from pow, a scalar constant and mul. For p = 0 the gradient is zeros
 * (x⁰ is flat, even at 0, where x⁻¹ would make 0·∞ = NaN); for p = 1 it is dy.
 */
import { Type } from "#typebox";
import { sizeOf } from "../graph/ir.js";
import { defineOp } from "./op.js";

export const pow = defineOp({
  name: "pow",
  onnx: { export: (c) => void c.emit("Pow", [c.inputs[0]!, c.constant([c.node.attrs.exponent], "float")], {}, c.output) },
  summary: "x^exponent for a constant exponent, elementwise",
  inputs: ["x"],
  attrs: Type.Object({ exponent: Type.Number({ description: "The constant power p: 2 squares, 0.5 is √x, −1 is 1/x." }) }, { additionalProperties: false }),
  shape: ([x]) => x!,
  kernel: ({ outputShape, attrs: { exponent } }) => {
    const n = sizeOf(outputShape);
    return ([x], out) => {
      for (let k = 0; k < n; k++) out[k] = Math.pow(x![k]!, exponent);
    };
  },
  gradient: (g) => {
    const p = g.node.attrs.exponent;
    const x = g.inputs[0]!;
    if (p === 0) return [g.emit("constant", [], { shape: [...g.shapeOf(x)], value: 0 })];
    if (p === 1) return [g.dy];
    const slope = g.emit("mul", [g.emit("constant", [], { shape: [], value: p }), g.emit("pow", [x], { exponent: p - 1 })]);
    return [g.emit("mul", [g.dy, slope])];
  },
  check: {
    cases: [
      // Integer powers, any sign of x; the negative ones kept away from their pole at 0.
      {
        attrs: [{ exponent: 2 }, { exponent: 3 }, { exponent: 1 }, { exponent: 0 }, { exponent: -1 }, { exponent: -2 }],
        nearKink: ([x], { exponent }) => exponent < 0 && x!.data.some((v) => Math.abs(v) < 0.2),
      },
      // Fractional powers: defined for x > 0 only.
      { attrs: [{ exponent: 0.5 }, { exponent: 1.5 }, { exponent: -0.5 }, { exponent: 2.7 }], values: [0.2, 3] },
    ],
  },
});
