/**
 * transpose: the axes of x reordered, output axis i being input axis perm[i] (NumPy's transpose); without
 * `perm`, the axes reversed. [N, H, W, C] → [N, C, H, W] is perm [0, 3, 1, 2].
 *
 * Gradient: dy transposed by the inverse permutation.
 */
import { Type, type Static } from "#typebox";
import { formatShape, sizeOf, type ConcreteShape, type Shape } from "../graph/ir.js";
import { ShapeError, defineOp, type Kernel } from "./op.js";

const TransposeAttrs = Type.Object(
  {
    perm: Type.Optional(
      Type.Array(Type.Integer({ minimum: 0, maximum: 7 }), {
        maxItems: 8,
        description: "Output axis i is input axis perm[i]: a permutation of 0 … rank−1. Default: the axes reversed.",
      }),
    ),
  },
  { additionalProperties: false },
);
type TransposeAttrs = Static<typeof TransposeAttrs>;

/** The permutation for a rank-`rank` input: `perm`, checked to be one, or the axes reversed. */
function permutation(perm: TransposeAttrs["perm"], rank: number): number[] {
  if (perm === undefined) return Array.from({ length: rank }, (_, i) => rank - 1 - i);
  const seen = new Set(perm);
  if (perm.length !== rank || seen.size !== rank || perm.some((a) => a >= rank)) {
    throw new ShapeError(`perm ${formatShape(perm)} is not a permutation of the ${rank} axes of the input (each of 0 … ${rank - 1} once).`, "perm");
  }
  return [...perm];
}

/** The inverse permutation: inverse[perm[i]] = i. */
export function inversePermutation(perm: readonly number[]): number[] {
  const inverse = new Array<number>(perm.length);
  perm.forEach((axis, i) => (inverse[axis] = i));
  return inverse;
}

/** Row-major strides of a concrete shape. */
function stridesOf(shape: ConcreteShape): number[] {
  const strides = new Array<number>(shape.length).fill(1);
  for (let d = shape.length - 2; d >= 0; d--) strides[d] = strides[d + 1]! * shape[d + 1]!;
  return strides;
}

export const transpose = defineOp({
  name: "transpose",
  onnx: { export: (c) => void c.emit("Transpose", c.inputs, c.node.attrs.perm ? { perm: { ints: c.node.attrs.perm } } : {}, c.output) },
  summary: "the axes reordered: output axis i is input axis perm[i] (default: reversed)",
  inputs: ["x"],
  attrs: TransposeAttrs,
  shape: ([x], { perm }) => permutation(perm, x!.length).map((axis) => x![axis]!) as Shape,
  kernel: ({ inputShapes: [x], attrs: { perm }, outputShape }): Kernel => {
    const order = permutation(perm, x!.length);
    const rank = order.length;
    const n = sizeOf(outputShape);
    // Walking the output in row-major order, the step in the input along output axis d is x's stride of axis perm[d].
    const inStride = Int32Array.from(order.map((axis) => stridesOf(x!)[axis]!));
    const outSize = Int32Array.from(outputShape);
    const index = new Int32Array(rank);
    return ([xs], out) => {
      index.fill(0);
      let from = 0;
      for (let k = 0; k < n; k++) {
        out[k] = xs![from]!;
        // Advance the output's multi-index like an odometer, moving the input offset along.
        for (let d = rank - 1; d >= 0; d--) {
          if (++index[d]! < outSize[d]!) {
            from += inStride[d]!;
            break;
          }
          from -= (outSize[d]! - 1) * inStride[d]!;
          index[d] = 0;
        }
      }
    };
  },
  gradient: (g) => {
    const order = permutation(g.node.attrs.perm, g.shapeOf(g.inputs[0]!).length);
    return [g.emit("transpose", [g.dy], { perm: inversePermutation(order) })];
  },
  // A random permutation of the drawn rank (or none, the reversal), up to rank 3 and at rank 4 (NCHW ↔ NHWC).
  check: {
    cases: [{ shapes: [["..."]] }, { shapes: [["a", "b", "c", "d"]] }],
    attrs: ([x], draw) => {
      if (draw.bool()) return {};
      const perm = Array.from({ length: x!.length }, (_, i) => i);
      for (let i = perm.length - 1; i > 0; i--) {
        const j = draw.int(0, i);
        [perm[i], perm[j]] = [perm[j]!, perm[i]!];
      }
      return { perm };
    },
  },
});
