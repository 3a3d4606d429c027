/**
 * my_log_softmax: along the last axis, yᵢ = xᵢ − log Σⱼ e^xⱼ, the logarithm of softmax computed without
 * taking the log of a probability that underflowed to 0. graphnet has a built-in log_softmax: this is the
 * same op written against the public API, under a name of its own (a module may not take a built-in's).
 *
 * Gradient: with s = softmax(x), dx = dy − s ⊙ Σⱼ dyⱼ, row by row. The rule builds it from built-in ops —
 * softmax, sum_to over the last axis (to [..., 1]), mul and sub, which broadcast the row sums back.
 *
 *   npx graphnet gradcheck --ops ./examples/ops/log_softmax.js
 */
import { ShapeError, formatShape, sizeOf } from "graphnet";

/** @type {import("graphnet").OpDefinition} */
export const logSoftmax = {
  name: "my_log_softmax",
  summary: "x − log Σ e^x along the last axis (the log of softmax), stabilised by subtracting the row's max",
  inputs: ["x"],
  attrs: { type: "object", additionalProperties: false },
  shape: ([x]) => {
    if (x.length === 0) throw new ShapeError(`the input needs an axis to run along, got a scalar ${formatShape(x)}.`);
    return x;
  },
  kernel: ({ outputShape }) => {
    const length = outputShape[outputShape.length - 1];
    const rows = sizeOf(outputShape) / length;
    return ([x], out) => {
      for (let r = 0, base = 0; r < rows; r++, base += length) {
        let max = -Infinity;
        for (let j = 0; j < length; j++) max = Math.max(max, x[base + j]);
        let sum = 0;
        for (let j = 0; j < length; j++) sum += Math.exp(x[base + j] - max);
        const logSum = Math.log(sum);
        for (let j = 0; j < length; j++) out[base + j] = x[base + j] - max - logSum;
      }
    };
  },
  gradient: (g) => {
    const x = g.inputs[0];
    const shape = g.shapeOf(x); // symbolic where the graph is: ["batch", 10]
    const rowSums = g.emit("sum_to", [g.dy], { shape: [...shape.slice(0, -1), 1] });
    return [g.emit("sub", [g.dy, g.emit("mul", [g.emit("softmax", [x]), rowSums])])];
  },
  check: {
    // Any shape with at least one axis: "..." is a run of random sizes, "n" one random size.
    shapes: [["...", "n"]],
    values: [-5, 5],
    // The obvious formula, to hold the kernel to: log(e^xᵢ / Σ e^xⱼ).
    reference: ([x]) => {
      const n = x.shape[x.shape.length - 1];
      const data = x.data.map((v, i) => {
        const row = x.data.slice(i - (i % n), i - (i % n) + n);
        return Math.log(Math.exp(v) / row.reduce((s, u) => s + Math.exp(u), 0));
      });
      return { shape: x.shape, data };
    },
  },
};

export default [logSoftmax];
