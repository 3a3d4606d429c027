/**
 * slice: the part [start, end) of x along one axis (the other axes whole), and slice_grad, the op its
 * gradient emits: dy put back at [start, end) of an axis of the input's length, zeros elsewhere. concat's
 * gradient is a slice of dy for each input.
 *
 * The axis sliced must have a size, not a symbol: the bounds are checked against it when the graph loads.
 */
import { Type, type Static } from "#typebox";
import { formatShape, sizeOf, type Shape } from "../graph/ir.js";
import { normalizeAxis } from "./layout.js";
import { ShapeError, defineOp, type Kernel } from "./op.js";

const AXIS = Type.Integer({ minimum: -8, maximum: 7, description: "The axis; negative counts from the end (-1 is the last)." });
const INDEX = Type.Integer({ minimum: 0, maximum: 2 ** 31 - 1 });

const SliceAttrs = Type.Object(
  {
    axis: AXIS,
    start: Type.Integer({ ...INDEX, description: "The first index kept along the axis." }),
    end: Type.Integer({ ...INDEX, minimum: 1, description: "One past the last index kept (at most the axis's size)." }),
  },
  { additionalProperties: false },
);
type SliceAttrs = Static<typeof SliceAttrs>;

const SliceGradAttrs = Type.Object(
  {
    axis: AXIS,
    start: Type.Integer({ ...INDEX, description: "Where dy's part starts along the axis." }),
    size: Type.Integer({ ...INDEX, minimum: 1, description: "The axis's size in the sliced input." }),
  },
  { additionalProperties: false },
);

/** The sizes before the axis (outer), along it, and after it (inner), of a concrete shape. */
export function aroundAxis(shape: readonly number[], axis: number): { outer: number; inner: number } {
  return { outer: sizeOf(shape.slice(0, axis)), inner: sizeOf(shape.slice(axis + 1)) };
}

/** The sliced axis's size, which must be a number. */
function sizedAxis(x: Shape, axis: number, field: string): number {
  const d = x[axis]!;
  if (typeof d !== "number")
    throw new ShapeError(`axis ${axis} of ${formatShape(x)} is the symbolic size "${d}"; only an axis of known size can be cut.`, field);
  return d;
}

export const slice = defineOp({
  name: "slice",
  onnx: {
    export: (c) => {
      const { axis, start, end } = c.node.attrs;
      const int64 = (v: number) => c.constant([v], "int64", [1]);
      c.emit("Slice", [c.inputs[0]!, int64(start), int64(end), int64(axis)], {}, c.output);
    },
  },
  summary: "x[…, start:end, …] along one axis",
  inputs: ["x"],
  attrs: SliceAttrs,
  shape: ([x], { axis, start, end }) => {
    const a = normalizeAxis(axis, x!.length, "axis");
    const size = sizedAxis(x!, a, "axis");
    if (end > size) throw new ShapeError(`end ${end} is past the size ${size} of axis ${a} of ${formatShape(x!)}.`, "end");
    if (start >= end) throw new ShapeError(`start ${start} must be less than end ${end}: a slice holds at least one index.`, "start");
    return x!.map((d, i) => (i === a ? end - start : d));
  },
  kernel: ({ inputShapes: [x], attrs }): Kernel => {
    const a = normalizeAxis(attrs.axis, x!.length, "axis");
    const { outer, inner } = aroundAxis(x!, a);
    const from = x![a]! * inner;
    const length = (attrs.end - attrs.start) * inner;
    const offset = attrs.start * inner;
    return ([xs], out) => {
      for (let o = 0; o < outer; o++) {
        for (let k = 0, i = o * from + offset, j = o * length; k < length; k++) out[j + k] = xs![i + k]!;
      }
    };
  },
  gradient: (g) => {
    const x = g.shapeOf(g.inputs[0]!);
    const { axis, start } = g.node.attrs;
    const a = normalizeAxis(axis, x.length, "axis");
    return [g.emit("slice_grad", [g.dy], { axis: a, start, size: x[a] as number })];
  },
  // Any axis of a shape with at least one, and any non-empty range of it.
  check: {
    shapes: [["...", "n"]],
    attrs: ([x], draw) => {
      const axis = draw.int(0, x!.length - 1);
      const start = draw.int(0, x![axis]! - 1);
      return { axis: draw.bool() ? axis - x!.length : axis, start, end: draw.int(start + 1, x![axis]!) };
    },
  },
});

export const sliceGrad = defineOp({
  name: "slice_grad",
  summary: "dy placed at [start, start + its length) of an axis of `size`, zeros elsewhere",
  inputs: ["dy"],
  attrs: SliceGradAttrs,
  shape: ([dy], { axis, start, size }) => {
    const a = normalizeAxis(axis, dy!.length, "axis");
    const length = sizedAxis(dy!, a, "axis");
    if (start + length > size) {
      throw new ShapeError(`dy's ${length} indices from ${start} along axis ${a} run past the size ${size}.`, "size");
    }
    return dy!.map((d, i) => (i === a ? size : d));
  },
  kernel: ({ inputShapes: [dy], attrs, outputShape }): Kernel => {
    const a = normalizeAxis(attrs.axis, dy!.length, "axis");
    const { outer, inner } = aroundAxis(outputShape, a);
    const to = attrs.size * inner;
    const length = dy![a]! * inner;
    const offset = attrs.start * inner;
    const n = sizeOf(outputShape);
    return ([d], out) => {
      out.fill(0, 0, n);
      for (let o = 0; o < outer; o++) {
        for (let k = 0, i = o * length, j = o * to + offset; k < length; k++) out[j + k] = d![i + k]!;
      }
    };
  },
  formula: "dx = δ on [start, end) of the axis, 0 elsewhere",
  check: { skip: "a backward op, checked through slice's gradient" },
});
