/**
 * softplus: log(1 + eˣ), elementwise, computed as max(x, 0) + log1p(e^(−|x|)): the exponential is of a
 * number ≤ 0, so it cannot overflow (the plain formula gives ∞ above x ≈ 709, and loses every digit of a
 * small result below x ≈ −37). Gradient: dy ⊙ sigmoid(x), built from the built-ins.
 */
import { unaryOp } from "./elementwise.js";

export function stableSoftplus(x: number): number {
  return Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x)));
}

export const softplus = unaryOp({
  name: "softplus",
  onnx: "Softplus",
  summary: "log(1 + eˣ), elementwise, computed without overflow",
  f: stableSoftplus,
  gradient: (g) => [g.emit("mul", [g.dy, g.emit("sigmoid", [g.inputs[0]!])])],
  check: { values: [-8, 8] },
});
