/**
 * maximum and minimum: elementwise with NumPy broadcasting; a NaN on either side gives NaN, as NumPy's
 * (a diverging run must show). And maximum_mask, the op their gradients emit.
 *
 * Gradient: dy flows to the larger operand (the smaller, for minimum). At a tie (a = b) it is split in
 * half, ½ dy to each, as PyTorch's and JAX's: the gradient of a sum of both still adds up to dy, neither
 * side is favoured by argument order, and it is what a central difference measures at the tie.
 */
import { binaryOp } from "./elementwise.js";
import { broadcastIndex, broadcastShapes } from "./broadcast.js";
import type { CheckTensor } from "./check-hints.js";

/** NaN in, NaN out; Math.max and Math.min propagate NaN. */
const maxOf = (a: number, b: number) => Math.max(a, b);
const minOf = (a: number, b: number) => Math.min(a, b);

/** True when some pair of broadcast elements is close but not equal: a central difference there straddles the switch. */
function nearTie([a, b]: readonly CheckTensor[]): boolean {
  const out = broadcastShapes(a!.shape, b!.shape) as number[];
  const ia = broadcastIndex(a!.shape, out);
  const ib = broadcastIndex(b!.shape, out);
  const n = out.reduce((p, d) => p * d, 1);
  for (let k = 0; k < n; k++) {
    const d = Math.abs(a!.data[ia ? ia[k]! : k]! - b!.data[ib ? ib[k]! : k]!);
    if (d !== 0 && d < 1e-3) return true;
  }
  return false;
}

export const maximum = binaryOp({
  name: "maximum",
  onnx: "Max",
  summary: "the larger of a and b, elementwise with broadcasting (NaN if either is)",
  broadcast: true,
  f: maxOf,
  wasm: "maximum",
  gradient: (g) => {
    const [a, b] = g.inputs as [string, string];
    return [
      g.needs(0) ? g.emit("mul", [g.dy, g.emit("maximum_mask", [a, b])]) : null,
      g.needs(1) ? g.emit("mul", [g.dy, g.emit("maximum_mask", [b, a])]) : null,
    ];
  },
  check: { broadcast: true, nearKink: nearTie },
});

export const minimum = binaryOp({
  name: "minimum",
  onnx: "Min",
  summary: "the smaller of a and b, elementwise with broadcasting (NaN if either is)",
  broadcast: true,
  f: minOf,
  wasm: "minimum",
  gradient: (g) => {
    const [a, b] = g.inputs as [string, string];
    return [
      g.needs(0) ? g.emit("mul", [g.dy, g.emit("maximum_mask", [b, a])]) : null,
      g.needs(1) ? g.emit("mul", [g.dy, g.emit("maximum_mask", [a, b])]) : null,
    ];
  },
  check: { broadcast: true, nearKink: nearTie },
});

export const maximumMask = binaryOp({
  name: "maximum_mask",
  summary: "1 where a > b, ½ where a = b, 0 where a < b (or either is NaN): ∂ max(a, b) / ∂a",
  broadcast: true,
  f: (a, b) => (a > b ? 1 : a === b ? 0.5 : 0),
  formula: "[A > B] + ½ [A = B]",
  check: { skip: "a backward op (piecewise constant), checked through maximum's and minimum's gradients" },
});
