/**
 * softmax: along the last axis, yᵢ = e^(xᵢ − max x) / Σⱼ e^(xⱼ − max x) — each row a probability
 * distribution (the report's output layer A = softmax(Z)); and softmax_grad, the op its gradient emits.
 * Gradient: the Jacobian of a row is diag(y) − y yᵀ, so dx = y ⊙ (dy − Σⱼ dyⱼ yⱼ), row by row, from the
 * OUTPUT y: the backward node needs no exponential.
 */
import { formatShape, sizeOf, type ConcreteShape, type Shape } from "../graph/ir.js";
import { NO_ATTRS, type NoAttrs } from "./attrs.js";
import { sameShapes } from "./elementwise.js";
import { ShapeError, onnxOperator, type OpDefinition } from "./op.js";

/** The shape rule of an op working on rows along the last axis: the input needs at least one axis. */
function rowsShape(x: Shape): Shape {
  if (x.length === 0) throw new ShapeError(`the input must have at least one axis (the one the rows run along), got a scalar ${formatShape(x)}.`);
  return x;
}

/** Rows along the last axis of a concrete shape: how many, and how long each is. */
export function lastAxisRows(shape: ConcreteShape): { rows: number; length: number } {
  const length = shape[shape.length - 1] ?? 1;
  return { rows: sizeOf(shape) / length, length };
}

export const softmax: OpDefinition<NoAttrs> = {
  name: "softmax",
  onnx: onnxOperator("Softmax", { axis: { int: -1 } }),
  summary: "e^x / Σ e^x along the last axis (rows sum to 1), stabilised by subtracting the row's max",
  inputs: ["x"],
  attrs: NO_ATTRS,
  shape: ([x]) => rowsShape(x!),
  // One call per row of the last axis; each value costs an exponential.
  fast: { wasm: () => ({ export: "softmax", over: "rows", cost: "high" }) },
  kernel: ({ outputShape }) => {
    const { rows, length } = lastAxisRows(outputShape);
    // The exponentials are kept in float64 until the division, so a float32 plan rounds only once.
    const e = new Float64Array(length);
    return ([x], out) => {
      for (let r = 0, base = 0; r < rows; r++, base += length) {
        // Subtracting the max makes every exponent ≤ 0: no overflow, and the largest term is exactly 1.
        let max = -Infinity;
        for (let j = 0; j < length; j++) if (x![base + j]! > max) max = x![base + j]!;
        let sum = 0;
        for (let j = 0; j < length; j++) {
          const ej = Math.exp(x![base + j]! - max);
          e[j] = ej;
          sum += ej;
        }
        for (let j = 0; j < length; j++) out[base + j] = e[j]! / sum;
      }
    };
  },
  gradient: (g) => [g.emit("softmax_grad", [g.dy, g.output])],
  // Rows along the last axis: any shape with at least one axis.
  check: { shapes: [["...", "n"]], values: [-5, 5] },
};

export const softmaxGrad: OpDefinition<NoAttrs> = {
  name: "softmax_grad",
  summary: "y ⊙ (dy − Σ_row dy ⊙ y), where y = softmax(x), along the last axis",
  inputs: ["dy", "y"],
  attrs: NO_ATTRS,
  shape: ([dy, y]) => rowsShape(sameShapes(dy!, y!)),
  kernel: ({ outputShape }) => {
    const { rows, length } = lastAxisRows(outputShape);
    return ([dy, y], out) => {
      for (let r = 0, base = 0; r < rows; r++, base += length) {
        let dot = 0;
        for (let j = 0; j < length; j++) dot += dy![base + j]! * y![base + j]!;
        for (let j = 0; j < length; j++) out[base + j] = y![base + j]! * (dy![base + j]! - dot);
      }
    };
  },
  formula: "A ⊙ (δ − Σₖ δ ⊙ A)",
  check: { skip: "a backward op, checked through softmax's gradient" },
};
