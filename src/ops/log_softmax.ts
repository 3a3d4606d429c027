/**
 * log_softmax: along the last axis, yᵢ = xᵢ − max x − log Σⱼ e^(xⱼ − max x): the logarithm of softmax,
 * without taking the log of a probability that underflowed to 0 (log(softmax(x)) gives −∞ for a logit 104
 * below its row's max in float32; this gives the logit's distance from the log-sum).
 *
 * Gradient: with s = softmax(x) = e^y, dx = dy − s ⊙ Σⱼ dyⱼ, row by row, built from built-ins: exp of the
 * OUTPUT (no row max needed again), sum over the last axis with keepdims, mul and sub broadcasting it back.
 */
import { formatShape, type Shape } from "../graph/ir.js";
import { NO_ATTRS, type NoAttrs } from "./attrs.js";
import { ShapeError, onnxOperator, type OpDefinition } from "./op.js";
import { lastAxisRows } from "./softmax.js";

function rowsShape(x: Shape): Shape {
  if (x.length === 0) throw new ShapeError(`the input must have at least one axis (the one the rows run along), got a scalar ${formatShape(x)}.`);
  return x;
}

export const logSoftmax: OpDefinition<NoAttrs> = {
  name: "log_softmax",
  onnx: onnxOperator("LogSoftmax", { axis: { int: -1 } }),
  summary: "x − log Σ eˣ along the last axis (the log of softmax), stabilised by subtracting the row's max",
  inputs: ["x"],
  attrs: NO_ATTRS,
  shape: ([x]) => rowsShape(x!),
  kernel: ({ outputShape }) => {
    const { rows, length } = lastAxisRows(outputShape);
    return ([x], out) => {
      for (let r = 0, base = 0; r < rows; r++, base += length) {
        let max = -Infinity;
        for (let j = 0; j < length; j++) if (x![base + j]! > max) max = x![base + j]!;
        // Every exponent ≤ 0 and the largest term exactly 1, so the float64 sum lies in [1, length].
        let sum = 0;
        for (let j = 0; j < length; j++) sum += Math.exp(x![base + j]! - max);
        const logSum = Math.log(sum);
        for (let j = 0; j < length; j++) out[base + j] = x![base + j]! - max - logSum;
      }
    };
  },
  gradient: (g) => {
    const rowSums = g.emit("sum", [g.dy], { axes: [-1], keepdims: true });
    return [g.emit("sub", [g.dy, g.emit("mul", [g.emit("exp", [g.output]), rowSums])])];
  },
  check: {
    shapes: [["...", "n"]],
    values: [-5, 5],
    // The obvious formula: log(e^xᵢ / Σⱼ e^xⱼ), fine for values this small.
    reference: ([x]) => {
      const n = x!.shape[x!.shape.length - 1]!;
      const data = x!.data.map((v, i) => {
        const row = x!.data.slice(i - (i % n), i - (i % n) + n);
        return Math.log(Math.exp(v) / row.reduce((s, u) => s + Math.exp(u), 0));
      });
      return { shape: x!.shape, data };
    },
  },
};
