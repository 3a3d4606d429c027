/**
 * sub: a − b, elementwise with NumPy broadcasting; and neg: −x, the op its gradient emits.
 * Gradient: dy flows to a unchanged and to b negated. A dedicated `neg` reads better in the backward
 * graph than a multiplication by a constant −1 tensor, and needs no extra value in the arena.
 */
import { binaryOp, unaryOp } from "./elementwise.js";

export const sub = binaryOp({
  name: "sub",
  onnx: "Sub",
  summary: "a − b, elementwise with broadcasting",
  broadcast: true,
  // Checked on random broadcast patterns: [m, n] with [n], [m, 1] with [1, n], scalars, …
  check: { broadcast: true },
  f: (a, b) => a - b,
  gradient: (g) => [g.needs(0) ? g.dy : null, g.needs(1) ? g.emit("neg", [g.dy]) : null],
});

export const neg = unaryOp({
  name: "neg",
  onnx: "Neg",
  summary: "−x, elementwise",
  f: (x) => -x,
  gradient: (g) => [g.emit("neg", [g.dy])],
  formula: "−δ",
});
