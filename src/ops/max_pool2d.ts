/**
 * max_pool2d: the largest value of each window of an NCHW batch (window, stride, padding as in
 * pool-window.ts; the padding never wins, as if it held −∞), and max_pool2d_grad, the op its gradient
 * emits: each window's gradient goes to the element that was its maximum, and where windows overlap an
 * element collects the gradients of every window it won.
 *
 * Ties: the first of the tied elements in row-major order within the window wins — it alone gets the
 * window's gradient — as in PyTorch's and cuDNN's kernels. A NaN wins over any number (as in PyTorch), so
 * a diverging run shows in the output.
 */
import { formatShape, sameShape, sizeOf } from "../graph/ir.js";
import type { CheckTensor } from "./check-hints.js";
import { ShapeError, defineOp, type FloatArray, type Kernel } from "./op.js";
import { PoolAttrs, drawPoolAttrs, poolGeometry, poolShape, windowBounds, onnxPoolAttrs, type PoolGeometry } from "./pool-window.js";

/**
 * The index in `x` of the maximum of window (oy, ox) of the plane starting at `plane`: scanned in row-major
 * order, a later element replaces the best only if strictly greater (or a NaN), so the first of equals wins.
 */
function argmaxOfWindow(x: FloatArray, plane: number, g: PoolGeometry, bounds: Int32Array): number {
  const y0 = bounds[0]!;
  const y1 = bounds[1]!;
  const x0 = bounds[2]!;
  const x1 = bounds[3]!;
  let best = plane + y0 * g.w + x0;
  let bestValue = x[best]!;
  for (let y = y0; y < y1; y++) {
    for (let i = plane + y * g.w + x0, end = plane + y * g.w + x1; i < end; i++) {
      const v = x[i]!;
      if (v > bestValue || (v !== v && bestValue === bestValue)) {
        best = i;
        bestValue = v;
      }
    }
  }
  return best;
}

/** Calls visit(windowIndex, argmax) for every window of every plane, in output order. */
function forEachWindowArgmax(g: PoolGeometry, x: FloatArray, bounds: Int32Array, visit: (o: number, argmax: number) => void): void {
  const planeSize = g.h * g.w;
  for (let p = 0, o = 0; p < g.planes; p++) {
    const plane = p * planeSize;
    for (let oy = 0; oy < g.outH; oy++) {
      for (let ox = 0; ox < g.outW; ox++, o++) {
        windowBounds(g, oy, ox, bounds);
        visit(o, argmaxOfWindow(x, plane, g, bounds));
      }
    }
  }
}

/** Values kept away from ties at a window's maximum, where max is not differentiable. */
function tiedAtSomeMax([x]: readonly CheckTensor[], attrs: PoolAttrs): boolean {
  const g = poolGeometry(x!.shape, attrs);
  const data = Float64Array.from(x!.data);
  const bounds = new Int32Array(4);
  let tied = false;
  forEachWindowArgmax(g, data, bounds, (_o, best) => {
    const plane = best - (best % (g.h * g.w));
    for (let y = bounds[0]!; y < bounds[1]!; y++) {
      for (let c = bounds[2]!; c < bounds[3]!; c++) {
        const i = plane + y * g.w + c;
        if (i !== best && Math.abs(data[i]! - data[best]!) < 1e-3) tied = true;
      }
    }
  });
  return tied;
}

export const maxPool2d = defineOp({
  name: "max_pool2d",
  onnx: { export: (c) => void c.emit("MaxPool", c.inputs, onnxPoolAttrs(c.node.attrs), c.output) },
  summary: "the maximum of each window of an [N, C, H, W] batch (window, stride, padding)",
  inputs: ["x"],
  attrs: PoolAttrs,
  shape: ([x], attrs) => poolShape(x!, attrs),
  kernel: ({ inputShapes: [x], attrs }): Kernel => {
    const g = poolGeometry(x!, attrs);
    const bounds = new Int32Array(4);
    return ([xs], out) => {
      const planeSize = g.h * g.w;
      for (let p = 0, o = 0; p < g.planes; p++) {
        for (let oy = 0; oy < g.outH; oy++) {
          for (let ox = 0; ox < g.outW; ox++, o++) {
            windowBounds(g, oy, ox, bounds);
            out[o] = xs![argmaxOfWindow(xs!, p * planeSize, g, bounds)]!;
          }
        }
      }
    };
  },
  // The arg-max is found again from x rather than stored by the forward pass: the backward node needs no
  // state of its own, and x is alive anyway for the layer below's weight gradient.
  gradient: (g) => [g.emit("max_pool2d_grad", [g.dy, g.inputs[0]!], g.node.attrs)],
  check: {
    shapes: [["n", "c", "h", "w"]],
    attrs: ([x], draw) => drawPoolAttrs(x!, draw),
    nearKink: tiedAtSomeMax,
  },
});

export const maxPool2dGrad = defineOp({
  name: "max_pool2d_grad",
  summary: "each window's dy routed to the arg-max of its window of x (first in row-major order on ties), summed where windows overlap",
  inputs: ["dy", "x"],
  attrs: PoolAttrs,
  shape: ([dy, x], attrs) => {
    const y = poolShape(x!, attrs);
    if (!sameShape(dy!, y)) throw new ShapeError(`dy ${formatShape(dy!)} must have the shape of the pooled output ${formatShape(y)}.`);
    return x!;
  },
  kernel: ({ inputShapes: [, x], attrs, outputShape }): Kernel => {
    const g = poolGeometry(x!, attrs);
    const bounds = new Int32Array(4);
    const n = sizeOf(outputShape);
    return ([dy, xs], out) => {
      out.fill(0, 0, n);
      const planeSize = g.h * g.w;
      for (let p = 0, o = 0; p < g.planes; p++) {
        for (let oy = 0; oy < g.outH; oy++) {
          for (let ox = 0; ox < g.outW; ox++, o++) {
            windowBounds(g, oy, ox, bounds);
            out[argmaxOfWindow(xs!, p * planeSize, g, bounds)]! += dy![o]!;
          }
        }
      }
    };
  },
  formula: "dx[argmax of each window] += δ",
  check: { skip: "a backward op, checked through max_pool2d's gradient" },
});
