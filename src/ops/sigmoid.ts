/**
 * sigmoid: 1 / (1 + e^(−x)), elementwise; and sigmoid_grad, the op its gradient emits.
 * Gradient: σ′(x) = σ(x)(1 − σ(x)) is written in terms of the OUTPUT y, as in the report, so the
 * backward node reads y (already in the arena) instead of recomputing an exponential.
 */
import { binaryOp, unaryOp } from "./elementwise.js";

/**
 * Only ever evaluates e^t for t ≤ 0, which cannot overflow: for x < 0 the algebraically equal e^x / (1 + e^x)
 * is used. The naive 1 / (1 + e^(−x)) overflows e^(−x) to ∞ below x ≈ −709 and flushes results that are
 * still representable to 0; for large positive x both forms give exactly 1.
 */
function stableSigmoid(x: number): number {
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
}

export const sigmoid = unaryOp({
  name: "sigmoid",
  onnx: "Sigmoid",
  summary: "1 / (1 + e^(−x)), elementwise, computed without overflow",
  f: stableSigmoid,
  wasm: "sigmoid",
  gradient: (g) => [g.emit("sigmoid_grad", [g.dy, g.output])],
  check: { values: [-6, 6] },
});

export const sigmoidGrad = binaryOp({
  name: "sigmoid_grad",
  summary: "dy ⊙ y ⊙ (1 − y), where y = sigmoid(x)",
  inputs: ["dy", "y"],
  broadcast: false,
  f: (dy, y) => dy * y * (1 - y),
  wasm: "sigmoidGrad",
  formula: "δ ⊙ A ⊙ (1 − A)",
  check: { skip: "a backward op, checked through sigmoid's gradient" },
});
