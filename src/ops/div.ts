/**
 * div: a / b, elementwise with NumPy broadcasting, IEEE's division (x/0 = ±∞, 0/0 = NaN).
 * Gradient: ∂(a/b)/∂a = 1/b, so da = dy / b; ∂(a/b)/∂b = −a/b² = −out/b, so db = −(dy ⊙ out) / b, read from
 * the OUTPUT. Both have the output's shape; autodiff sums each back over the axes its input was broadcast along.
 */
import { binaryOp } from "./elementwise.js";

export const div = binaryOp({
  name: "div",
  onnx: "Div",
  summary: "a / b, elementwise with broadcasting",
  broadcast: true,
  f: (a, b) => a / b,
  // Operands of the output's shape (the backend runs the reference kernel for the others).
  wasm: "divide",
  gradient: (g) => {
    const [, b] = g.inputs as [string, string];
    return [g.needs(0) ? g.emit("div", [g.dy, b]) : null, g.needs(1) ? g.emit("neg", [g.emit("div", [g.emit("mul", [g.dy, g.output]), b])]) : null];
  },
  // Random broadcast patterns, with divisors kept away from 0 (where the quotient's slope is unbounded).
  check: {
    broadcast: true,
    cases: [{ values: { b: [0.25, 3] } }, { values: { b: [-3, -0.25] } }],
  },
});
