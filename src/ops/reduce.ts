/**
 * What the reductions `sum` and `mean` share: their attributes (`axes`, `keepdims`), their shape rule,
 * their kernels, and the backward op of each (sum_grad, mean_grad), which spreads δ back over the
 * reduced axes.
 *
 * A reduction with keepdims and one without lay their output out alike (dropping axes of size 1 moves
 * no element), so both are sum_to's sum to the input's shape with 1 in each reduced axis: its kernel
 * (float64, compensated) does the work, and the gradient broadcasts back over that same shape.
 */
import { Type, type Static } from "#typebox";
import { formatShape, sameShape, sizeOf, type ConcreteShape, type Shape } from "../graph/ir.js";
import { ShapeAttr } from "./attrs.js";
import { broadcastIndex, sumToKernel } from "./broadcast.js";
import type { OpCheck } from "./check-hints.js";
import { ShapeError, defineOp, type Kernel, type OpDefinition } from "./op.js";

const MAX_RANK = 8;

export const ReduceAttrs = Type.Object(
  {
    axes: Type.Optional(
      Type.Array(Type.Integer({ minimum: -MAX_RANK, maximum: MAX_RANK - 1 }), {
        maxItems: MAX_RANK,
        description: "The axes to reduce, outermost 0; negative counts from the last (−1). Default: every axis. [] reduces none.",
      }),
    ),
    keepdims: Type.Optional(
      Type.Boolean({ default: false, description: "Keep each reduced axis, with size 1 (the result then broadcasts against the input)." }),
    ),
  },
  { additionalProperties: false },
);
export type ReduceAttrs = Static<typeof ReduceAttrs>;

/** The reduced axes as non-negative indices in increasing order; throws a ShapeError naming `axes` for one out of range or given twice. */
export function reducedAxes(rank: number, axes: readonly number[] | undefined): number[] {
  if (axes === undefined) return Array.from({ length: rank }, (_, i) => i);
  const seen = new Map<number, number>();
  for (const axis of axes) {
    if (!Number.isInteger(axis) || axis < -rank || axis >= rank) {
      const range = rank === 0 ? "a scalar has no axes" : `the axes are 0 … ${rank - 1}, or −${rank} … −1 counting from the last`;
      throw new ShapeError(`axis ${axis} is out of range for an input of rank ${rank}: ${range}.`, "axes");
    }
    const a = axis < 0 ? axis + rank : axis;
    if (seen.has(a)) throw new ShapeError(`axis ${a} is given twice (as ${seen.get(a)} and ${axis}).`, "axes");
    seen.set(a, axis);
  }
  return [...seen.keys()].sort((p, q) => p - q);
}

/** The input's shape with each reduced axis set to 1 (the output's layout, whether or not keepdims). */
export function keptShape<D>(shape: readonly D[], axes: readonly number[], one: D): D[] {
  return shape.map((d, i) => (axes.includes(i) ? one : d));
}

/** The shape of the reduction: each reduced axis set to 1 with keepdims, dropped without; the others as they are (symbolic ones too). */
export function reducedShape(x: Shape, attrs: ReduceAttrs): Shape {
  const axes = reducedAxes(x.length, attrs.axes);
  return attrs.keepdims ? keptShape<Shape[number]>(x, axes, 1) : x.filter((_, i) => !axes.includes(i));
}

/** Σ over the reduced axes into `out` (any float array), in float64 with compensation. */
function sumKernel(x: ConcreteShape, axes: readonly number[]): Kernel {
  return sumToKernel(x, keptShape(x, axes, 1));
}

/** How many input elements each output element sums: the product of the reduced sizes. */
function reducedCount(x: ConcreteShape, axes: readonly number[]): number {
  return axes.reduce((n, a) => n * x[a]!, 1);
}

/** Draws axes for a random input shape: none given (every axis), or a random subset written with random signs. */
const reduceCheck = (reference: "sum" | "mean"): OpCheck<ReduceAttrs> => ({
  attrs: ([x], draw) => {
    const keepdims = draw.bool();
    if (draw.bool()) return keepdims ? { keepdims } : {};
    const axes: number[] = [];
    x!.forEach((_, i) => {
      if (draw.bool()) axes.push(draw.bool() ? i - x!.length : i);
    });
    if (draw.bool()) axes.reverse();
    return { axes, keepdims };
  },
  // The plain definition, axis by axis over flat indices: each input element added to the output element
  // whose index is its own with the reduced coordinates left out.
  reference: ([x], attrs) => {
    const axes = reducedAxes(x!.shape.length, attrs.axes);
    const outShape = x!.shape.filter((_, i) => !axes.includes(i));
    const data = new Array<number>(sizeOf(outShape)).fill(0);
    const count = reducedCount(x!.shape, axes);
    x!.data.forEach((v, flat) => {
      let rest = flat;
      let at = 0;
      let scale = 1;
      for (let d = x!.shape.length - 1; d >= 0; d--) {
        const coordinate = rest % x!.shape[d]!;
        rest = Math.floor(rest / x!.shape[d]!);
        if (!axes.includes(d)) {
          at += coordinate * scale;
          scale *= x!.shape[d]!;
        }
      }
      data[at]! += reference === "mean" ? v / count : v;
    });
    return { shape: attrs.keepdims ? keptShape(x!.shape, axes, 1) : outShape, data };
  },
});

/** The reduction op: `sum` or `mean`. */
export function reductionOp(kind: "sum" | "mean"): OpDefinition<ReduceAttrs> {
  return defineOp({
    name: kind,
    // ReduceSum takes its axes as an input since opset 13, ReduceMean as an attribute until opset 18.
    onnx: {
      export: (c) => {
        const { axes, keepdims = false } = c.node.attrs;
        const keep = { keepdims: { int: keepdims ? 1 : 0 } };
        if (axes !== undefined && axes.length === 0) c.emit("Identity", c.inputs, {}, c.output);
        else if (kind === "mean") c.emit("ReduceMean", c.inputs, { ...keep, ...(axes ? { axes: { ints: axes } } : {}) }, c.output);
        else c.emit("ReduceSum", axes ? [c.inputs[0]!, c.constant(axes, "int64", [axes.length])] : c.inputs, keep, c.output);
      },
    },
    summary:
      kind === "sum"
        ? "Σ over `axes` (default every axis), keeping them as size 1 with `keepdims`; summed in float64"
        : "the mean over `axes` (default every axis), keeping them as size 1 with `keepdims`; summed in float64",
    inputs: ["x"],
    attrs: ReduceAttrs,
    shape: ([x], attrs) => reducedShape(x!, attrs),
    kernel: ({ inputShapes: [x], attrs }) => {
      const axes = reducedAxes(x!.length, attrs.axes);
      const sum = sumKernel(x!, axes);
      if (kind === "sum") return sum;
      // The count is known here, with the batch: the mean of a "batch" axis divides by the batch fed.
      const count = reducedCount(x!, axes);
      const sums = new Float64Array(sizeOf(keptShape(x!, axes, 1)));
      return (inputs, out, run) => {
        sum(inputs, sums, run);
        for (let j = 0; j < sums.length; j++) out[j] = sums[j]! / count;
      };
    },
    gradient: (g) => {
      const x = g.shapeOf(g.inputs[0]!);
      const axes = reducedAxes(x.length, g.node.attrs.axes);
      return [g.emit(`${kind}_grad`, [g.dy], { shape: [...x], axes, keepdims: g.node.attrs.keepdims ?? false })];
    },
    check: reduceCheck(kind),
  });
}

const SpreadAttrs = Type.Object(
  {
    shape: ShapeAttr,
    axes: Type.Array(Type.Integer({ minimum: 0, maximum: MAX_RANK - 1 }), { maxItems: MAX_RANK, description: "The reduced axes, in increasing order." }),
    keepdims: Type.Boolean(),
  },
  { additionalProperties: false },
);

/** The backward op of a reduction: δ of the reduced shape, spread over `shape` (÷ the count, for the mean). */
export function reductionGradOp(kind: "sum" | "mean"): OpDefinition<Static<typeof SpreadAttrs>> {
  return defineOp({
    name: `${kind}_grad`,
    summary:
      kind === "sum"
        ? "dy repeated along the axes a sum reduced, back to the input's `shape`"
        : "dy ÷ N repeated along the axes a mean reduced (N elements each), back to the input's `shape`",
    inputs: ["dy"],
    attrs: SpreadAttrs,
    shape: ([dy], attrs) => {
      const expected = reducedShape(attrs.shape, { axes: attrs.axes, keepdims: attrs.keepdims });
      if (!sameShape(dy!, expected)) {
        throw new ShapeError(`dy must have the reduced shape ${formatShape(expected)} of ${formatShape(attrs.shape)}, got ${formatShape(dy!)}.`);
      }
      return attrs.shape;
    },
    kernel: ({ outputShape, attrs }) => {
      const index = broadcastIndex(keptShape(outputShape, attrs.axes, 1), outputShape);
      const n = sizeOf(outputShape);
      if (kind === "sum") {
        return ([dy], out) => {
          for (let k = 0; k < n; k++) out[k] = dy![index ? index[k]! : k]!;
        };
      }
      const count = reducedCount(outputShape, attrs.axes);
      return ([dy], out) => {
        for (let k = 0; k < n; k++) out[k] = dy![index ? index[k]! : k]! / count;
      };
    },
    formula: kind === "sum" ? "δ repeated along the summed axes" : "δ / N repeated along the averaged axes",
    check: { skip: `a backward op, checked through ${kind}'s gradient` },
  });
}

export const sum = reductionOp("sum");
export const sumGrad = reductionGradOp("sum");
export const mean = reductionOp("mean");
export const meanGrad = reductionGradOp("mean");
