/**
 * abs: |x|, elementwise; and sign, the op its gradient emits: −1, 0 or 1 (±0 and NaN kept as they are).
 * Gradient: dy ⊙ sign(x). At x = 0, where |x| has no derivative, that gives 0, as PyTorch and JAX do:
 * 0 lies in the subgradient, and a weight that reached 0 is left there.
 */
import { unaryOp } from "./elementwise.js";

export const abs = unaryOp({
  name: "abs",
  onnx: "Abs",
  summary: "|x|, elementwise",
  f: Math.abs,
  wasm: "absolute",
  gradient: (g) => [g.emit("mul", [g.dy, g.emit("sign", [g.inputs[0]!])])],
  // A central difference straddling the kink at 0 measures neither slope: keep the values away from it.
  check: { nearKink: ([x]) => x!.data.some((v) => v !== 0 && Math.abs(v) < 1e-3) },
});

export const sign = unaryOp({
  name: "sign",
  onnx: "Sign",
  summary: "−1 where x < 0, 1 where x > 0, x itself where x is ±0 or NaN",
  f: (x) => (x > 0 ? 1 : x < 0 ? -1 : x),
  wasm: "signOf",
  // Flat wherever it has a derivative: its gradient is zeros (of the input's shape, the batch kept symbolic).
  gradient: (g) => [g.emit("constant", [], { shape: [...g.shapeOf(g.inputs[0]!)], value: 0 })],
  check: { nearKink: ([x]) => x!.data.some((v) => Math.abs(v) < 1e-3) },
});
