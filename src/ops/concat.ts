/**
 * concat: a and b joined along `axis`, every other axis the same in both (NumPy's concatenate of two).
 *
 * Two inputs: an op's inputs are a fixed list of names (OpDefinition.inputs, which the loader, the
 * schema and autodiff read as its arity), so more than two are joined by chaining concats. Any number
 * would need a variadic marker in that list (say, `inputs: ["...xs"]`) honoured by those three readers.
 *
 * Gradient: the slices of dy where each input lies.
 */
import { Type } from "#typebox";
import { formatShape, type Shape } from "../graph/ir.js";
import { normalizeAxis } from "./layout.js";
import { ShapeError, defineOp, type Kernel } from "./op.js";
import { aroundAxis } from "./slice.js";

export const concat = defineOp({
  name: "concat",
  onnx: { export: (c) => void c.emit("Concat", c.inputs, { axis: { int: c.node.attrs.axis ?? 0 } }, c.output) },
  summary: "a and b joined along an axis (default 0); the other axes must agree",
  inputs: ["a", "b"],
  attrs: Type.Object(
    {
      axis: Type.Optional(
        Type.Integer({ minimum: -8, maximum: 7, default: 0, description: "The axis to join along; negative counts from the end (-1 is the last). Default 0." }),
      ),
    },
    { additionalProperties: false },
  ),
  shape: ([a, b], { axis = 0 }) => {
    if (a!.length !== b!.length || a!.length === 0) {
      throw new ShapeError(`a ${formatShape(a!)} and b ${formatShape(b!)} must have the same rank, at least 1.`);
    }
    const k = normalizeAxis(axis, a!.length, "axis");
    const other = a!.findIndex((d, i) => i !== k && d !== b![i]);
    if (other >= 0) {
      throw new ShapeError(`a ${formatShape(a!)} and b ${formatShape(b!)} differ on axis ${other}; only the joined axis ${k} may differ.`);
    }
    const [da, db] = [a![k]!, b![k]!];
    if (typeof da !== "number" || typeof db !== "number") {
      throw new ShapeError(
        `cannot join along axis ${k} of ${formatShape(a!)} and ${formatShape(b!)}: the joined axis must have a size in both, not a symbol.`,
        "axis",
      );
    }
    return a!.map((d, i) => (i === k ? da + db : d)) as Shape;
  },
  kernel: ({ inputShapes: [a, b], attrs: { axis = 0 } }): Kernel => {
    const k = normalizeAxis(axis, a!.length, "axis");
    const { outer, inner } = aroundAxis(a!, k);
    const la = a![k]! * inner;
    const lb = b![k]! * inner;
    return ([xa, xb], out) => {
      for (let o = 0, j = 0; o < outer; o++) {
        for (let i = o * la, end = i + la; i < end; i++) out[j++] = xa![i]!;
        for (let i = o * lb, end = i + lb; i < end; i++) out[j++] = xb![i]!;
      }
    };
  },
  gradient: (g) => {
    const a = g.shapeOf(g.inputs[0]!);
    const b = g.shapeOf(g.inputs[1]!);
    const k = normalizeAxis(g.node.attrs.axis ?? 0, a.length, "axis");
    const [da, db] = [a[k] as number, b[k] as number];
    return [
      g.needs(0) ? g.emit("slice", [g.dy], { axis: k, start: 0, end: da }) : null,
      g.needs(1) ? g.emit("slice", [g.dy], { axis: k, start: da, end: da + db }) : null,
    ];
  },
  // Two shapes that agree but on the joined axis, which has a size of its own in each.
  check: {
    cases: [
      {
        shapes: [
          ["m", "...", "n"],
          ["p", "...", "n"],
        ],
        attrs: [{}, { axis: 0 }],
      },
      {
        shapes: [
          ["...", "m"],
          ["...", "p"],
        ],
        attrs: [{ axis: -1 }],
      },
      {
        shapes: [
          ["n", "m", "h", "w"],
          ["n", "p", "h", "w"],
        ],
        attrs: [{ axis: 1 }],
      },
    ],
  },
});
