/**
 * sqrt: √x, elementwise (√−1 = NaN, √−0 = −0, as IEEE says). Gradient: dy / (2√x), from the OUTPUT y as
 * dy / (y + y) — y + y is exactly 2y, and no constant is needed. At x = 0 that is ±∞ (NaN where dy = 0),
 * as PyTorch's.
 */
import { unaryOp } from "./elementwise.js";

export const sqrt = unaryOp({
  name: "sqrt",
  onnx: "Sqrt",
  summary: "√x, elementwise (NaN for a negative number)",
  f: Math.sqrt,
  wasm: "squareRoot",
  gradient: (g) => [g.emit("div", [g.dy, g.emit("add", [g.output, g.output])])],
  check: { values: [0.05, 4] },
});
