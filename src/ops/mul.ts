/**
 * mul: a ⊙ b, elementwise with NumPy broadcasting (a mask or a per-feature scale over a batch).
 * Gradient: d(a⊙b)/da = b and d(a⊙b)/db = a, so the rule emits dy ⊙ b and dy ⊙ a, both of the output's
 * shape; autodiff sums each back over the axes its input was broadcast along.
 */
import { binaryOp } from "./elementwise.js";

export const mul = binaryOp({
  name: "mul",
  onnx: "Mul",
  summary: "a ⊙ b, elementwise with broadcasting",
  broadcast: true,
  // Checked on random broadcast patterns: [m, n] with [n], [m, 1] with [1, n], scalars, …
  check: { broadcast: true },
  f: (a, b) => a * b,
  gradient: (g) => {
    const [a, b] = g.inputs as [string, string];
    return [g.needs(0) ? g.emit("mul", [g.dy, b]) : null, g.needs(1) ? g.emit("mul", [g.dy, a]) : null];
  },
});
