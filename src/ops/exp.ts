/**
 * exp: eˣ, elementwise. Gradient: d eˣ/dx = eˣ, the OUTPUT, so the rule is one mul of dy by the output
 * (no second exponential). IEEE: e^(−∞) = 0, e^∞ = ∞, overflow to ∞ above x ≈ 709 (88.7 in float32).
 */
import { unaryOp } from "./elementwise.js";

export const exp = unaryOp({
  name: "exp",
  onnx: "Exp",
  summary: "eˣ, elementwise",
  f: Math.exp,
  gradient: (g) => [g.emit("mul", [g.dy, g.output])],
});
