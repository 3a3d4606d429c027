/**
 * relu: max(x, 0), and relu_grad, the op its gradient builds: dy ⊙ [x > 0].
 * At the kink x = 0 the derivative is taken as 0, as in the report (Z > 0).
 */
import { binaryOp, unaryOp } from "./elementwise.js";

export const relu = unaryOp({
  name: "relu",
  onnx: "Relu",
  summary: "max(x, 0), elementwise",
  // Written so that NaN passes through (NaN < 0 is false), as NumPy's maximum does: a diverging run must show.
  f: (x) => (x < 0 ? 0 : x),
  wasm: "relu",
  gradient: (g) => [g.emit("relu_grad", [g.dy, g.inputs[0]!])],
  // A central difference straddling the kink at 0 measures neither slope: keep the values away from it.
  check: { nearKink: ([x]) => x!.data.some((v) => Math.abs(v) < 1e-3) },
});

export const reluGrad = binaryOp({
  name: "relu_grad",
  summary: "dy ⊙ relu′(x) = dy where x > 0, else 0",
  inputs: ["dy", "x"],
  broadcast: false,
  f: (dy, x) => (x > 0 ? dy : 0),
  wasm: "reluGrad",
  formula: "δ ⊙ [Z > 0]",
  check: { skip: "a backward op, checked through relu's gradient" },
});
