/**
 * global_avg_pool: the mean of each channel over all its positions, [N, C, H, W] → [N, C] (any number of
 * spatial axes after N and C), and global_avg_pool_grad, the op its gradient emits: δ / (H·W) at every
 * position of the channel.
 *
 * The output is [N, C] rather than PyTorch's [N, C, 1, 1]: what follows a global pooling is nearly always
 * a dense layer, which is a matmul of a matrix, so no flatten is needed between them (Keras's
 * GlobalAveragePooling2D does the same). A reshape to [N, C, 1, 1] gives the other form where it is wanted.
 */
import { Type } from "#typebox";
import { formatShape, sizeOf } from "../graph/ir.js";
import { NO_ATTRS, ShapeAttr } from "./attrs.js";
import { ShapeError, defineOp, type Kernel } from "./op.js";

export const globalAvgPool = defineOp({
  name: "global_avg_pool",
  // ONNX keeps the spatial axes, as size 1: Flatten drops them ([N, C, 1, 1] → [N, C]).
  onnx: { export: (c) => void c.emit("Flatten", [c.emit("GlobalAveragePool", c.inputs)], { axis: { int: 1 } }, c.output) },
  summary: "the mean of each channel over all positions: [N, C, H, W] → [N, C]",
  inputs: ["x"],
  attrs: NO_ATTRS,
  shape: ([x]) => {
    if (x!.length < 3) throw new ShapeError(`the input must be [N, C, …spatial] with at least one spatial axis, got ${formatShape(x!)}.`);
    return [x![0]!, x![1]!];
  },
  kernel: ({ inputShapes: [x] }): Kernel => {
    const planes = x![0]! * x![1]!;
    const positions = sizeOf(x!.slice(2));
    return ([xs], out) => {
      for (let p = 0; p < planes; p++) {
        let sum = 0;
        for (let i = p * positions, end = i + positions; i < end; i++) sum += xs![i]!;
        out[p] = sum / positions;
      }
    };
  },
  gradient: (g) => [g.emit("global_avg_pool_grad", [g.dy], { spatial: [...g.shapeOf(g.inputs[0]!).slice(2)] })],
  check: { cases: [{ shapes: [["n", "c", "h", "w"]] }, { shapes: [["n", "c", "l"]] }] },
});

export const globalAvgPoolGrad = defineOp({
  name: "global_avg_pool_grad",
  summary: "δ / (H·W) at every position of each channel: [N, C] → [N, C, …spatial]",
  inputs: ["dy"],
  attrs: Type.Object({ spatial: ShapeAttr }, { additionalProperties: false }),
  shape: ([dy], { spatial }) => {
    if (dy!.length !== 2) throw new ShapeError(`dy must be [N, C] (rank 2), got ${formatShape(dy!)}.`);
    if (spatial.length === 0) throw new ShapeError(`spatial must name at least one axis, got ${formatShape(spatial)}.`, "spatial");
    return [dy![0]!, dy![1]!, ...spatial];
  },
  kernel: ({ outputShape }): Kernel => {
    const planes = outputShape[0]! * outputShape[1]!;
    const positions = sizeOf(outputShape.slice(2));
    return ([dy], out) => {
      for (let p = 0; p < planes; p++) {
        const share = dy![p]! / positions;
        for (let i = p * positions, end = i + positions; i < end; i++) out[i] = share;
      }
    };
  },
  formula: "dx = δ / (H·W) at every position",
  check: { skip: "a backward op, checked through global_avg_pool's gradient" },
});
