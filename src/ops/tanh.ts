/**
 * tanh: the hyperbolic tangent, elementwise; and tanh_grad, the op its gradient emits.
 * Gradient: tanh′(x) = 1 − tanh²(x), written in terms of the OUTPUT y as the report does, so the
 * backward node reads y from the arena instead of recomputing it.
 */
import { binaryOp, unaryOp } from "./elementwise.js";

export const tanh = unaryOp({
  name: "tanh",
  onnx: "Tanh",
  summary: "tanh(x), elementwise",
  // Math.tanh saturates to ±1 for large |x| without overflowing.
  f: Math.tanh,
  wasm: "tanh",
  gradient: (g) => [g.emit("tanh_grad", [g.dy, g.output])],
});

export const tanhGrad = binaryOp({
  name: "tanh_grad",
  summary: "dy ⊙ (1 − y²), where y = tanh(x)",
  inputs: ["dy", "y"],
  broadcast: false,
  f: (dy, y) => dy * (1 - y * y),
  wasm: "tanhGrad",
  formula: "δ ⊙ (1 − A²)",
  check: { skip: "a backward op, checked through tanh's gradient" },
});
