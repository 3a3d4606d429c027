/** add: a + b with NumPy broadcasting (a bias [n] over a batch [batch, n]). */
import { binaryOp } from "./elementwise.js";

export const add = binaryOp({
  name: "add",
  onnx: "Add",
  summary: "a + b, elementwise with broadcasting",
  broadcast: true,
  // Checked on random broadcast patterns: [m, n] with [n], [m, 1] with [1, n], scalars, …
  check: { broadcast: true },
  f: (a, b) => a + b,
  // Operands of the output's shape; a bias over rows has its own kernel in the WebAssembly backend.
  wasm: "addSame",
  // ∂(a+b)/∂a = ∂(a+b)/∂b = 1; autodiff sums the gradient back over any broadcast axes.
  gradient: (g) => [g.dy, g.dy],
});
