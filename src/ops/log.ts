/**
 * log: the natural logarithm, elementwise, with IEEE's answers where it has none: log 0 = −∞, log of a
 * negative number NaN, log ∞ = ∞. Gradient: dy / x, one div node (±∞ at x = 0, as PyTorch's).
 */
import { unaryOp } from "./elementwise.js";

export const log = unaryOp({
  name: "log",
  onnx: "Log",
  summary: "ln x, elementwise (log 0 = −∞, log of a negative number NaN)",
  f: Math.log,
  gradient: (g) => [g.emit("div", [g.dy, g.inputs[0]!])],
  check: { values: [0.05, 4] },
});
