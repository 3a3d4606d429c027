/**
 * cross_entropy: the report's loss on probabilities, L = −(1/m) Σᵢ Σₖ yᵢₖ log pᵢₖ, with m the first
 * dimension (the batch) and the sum over every element; and cross_entropy_grad, the op its gradient emits.
 * Gradient: ∂L/∂p = −y / (m·p), scaled by the incoming dL (a scalar). The labels y get no gradient.
 *
 * log p is taken of max(p, ε), ε the smallest normal number of the plan's dtype (2⁻¹²⁶ ≈ 1.2e-38 in
 * float32, 2⁻¹⁰²² ≈ 2.2e-308 in float64): a probability that underflowed to 0 gives a large finite loss
 * instead of ∞ (and a NaN in every later step). The gradient divides by the same clamped p, so it stays
 * finite — 1/ε still is, where 1/p of a subnormal p would not be — and still points towards raising p,
 * deliberately not the 0 that the clamp's flat piece would give.
 *
 * Wherever p is a normal number both are exact. After a softmax, p of a class whose logit is g below the
 * row's largest is about e^(−g): exact up to a gap g of ≈ 87 in float32 and ≈ 708 in float64. Past that p
 * is subnormal or 0, the loss stays at −ln ε (87.3, 708.4) and the gradient reaching the logits fades
 * with p/ε towards 0. softmax_cross_entropy, which works on the logits, is exact at any gap.
 */
import { formatShape, sizeOf, type Shape } from "../graph/ir.js";
import { NO_ATTRS, type NoAttrs } from "./attrs.js";
import { sameShapes } from "./elementwise.js";
import { ShapeError, type FloatArray, type OnnxExportContext, type OpDefinition } from "./op.js";

/** The smallest probability whose logarithm is taken (and by which the gradient divides): the dtype's smallest normal number. */
export const PROBABILITY_FLOOR = { float32: 2 ** -126, float64: 2 ** -1022 } as const;

/** PROBABILITY_FLOOR of the dtype a kernel's output array is in. */
const floorFor = (out: FloatArray) => (out instanceof Float32Array ? PROBABILITY_FLOOR.float32 : PROBABILITY_FLOOR.float64);

/** Shape rule shared by the losses: predictions and labels of one shape [m, …, classes], m the batch. */
export function lossInputsShape(predictions: Shape, labels: Shape): Shape {
  const shape = sameShapes(predictions, labels);
  if (shape.length < 2) {
    throw new ShapeError(
      `the predictions and labels must have a batch axis first and a class axis last (rank ≥ 2, such as [batch, 10]), got ${formatShape(shape)}.`,
    );
  }
  return shape;
}

/** A loss's incoming gradient is the gradient of a scalar. */
export function scalarShape(dL: Shape, name: string): void {
  if (dL.length !== 0) throw new ShapeError(`"${name}" must be a scalar (the loss's gradient), got ${formatShape(dL)}.`);
}

export const crossEntropy: OpDefinition<NoAttrs> = {
  name: "cross_entropy",
  onnx: {
    export: (c) => lowerCrossEntropy(c, c.emit("Log", [c.emit("Max", [c.inputs[0]!, c.constant([PROBABILITY_FLOOR.float32], "float")])])),
  },
  summary: "−(1/m) Σ y ⊙ log p over probabilities p and labels y, m the batch size (p clamped at the dtype's smallest normal number)",
  inputs: ["p", "y"],
  attrs: NO_ATTRS,
  shape: ([p, y]) => {
    lossInputsShape(p!, y!);
    return [];
  },
  kernel: ({ inputShapes: [shape] }) => {
    const m = shape![0]!;
    const n = sizeOf(shape!);
    return ([p, y], out) => {
      // One float64 sum over the whole batch, whatever the plan's dtype.
      const floor = floorFor(out);
      let sum = 0;
      for (let k = 0; k < n; k++) sum += y![k]! * Math.log(Math.max(p![k]!, floor));
      out[0] = -sum / m;
    };
  },
  gradient: (g) => [g.needs(0) ? g.emit("cross_entropy_grad", [g.inputs[0]!, g.inputs[1]!, g.dy]) : null, null],
  // [m, …, classes]; probabilities inside the clamp, labels not differentiated.
  check: {
    shapes: [
      ["m", "...", "n"],
      ["m", "...", "n"],
    ],
    values: { p: [0.05, 1], y: [0, 1] },
    wrt: ["p"],
  },
};

export const crossEntropyGrad: OpDefinition<NoAttrs> = {
  name: "cross_entropy_grad",
  summary: "−dL · y / (m · p), the gradient of cross_entropy with respect to p (p clamped as in the loss)",
  inputs: ["p", "y", "dL"],
  attrs: NO_ATTRS,
  shape: ([p, y, dL]) => {
    scalarShape(dL!, "dL");
    return lossInputsShape(p!, y!);
  },
  kernel: ({ inputShapes: [shape] }) => {
    const m = shape![0]!;
    const n = sizeOf(shape!);
    return ([p, y, dL], out) => {
      const scale = -dL![0]! / m;
      const floor = floorFor(out);
      for (let k = 0; k < n; k++) out[k] = (scale * y![k]!) / Math.max(p![k]!, floor);
    };
  },
  formula: "−δ · Y / (m · A)",
  check: { skip: "a backward op, checked through cross_entropy's gradient" },
};

/**
 * The ONNX lowering of the two losses from the log-probabilities: −(1/m) Σ y ⊙ log p, m the first axis's
 * size — the sum over each sample's axes, then the mean over the samples.
 */
export function lowerCrossEntropy(c: OnnxExportContext<NoAttrs>, logProbs: string): void {
  const rank = c.inputShapes[0]!.length;
  let terms = c.emit("Mul", [c.inputs[1]!, logProbs]);
  if (rank > 1) {
    const axes = Array.from({ length: rank - 1 }, (_, i) => i + 1);
    terms = c.emit("ReduceSum", [terms, c.constant(axes, "int64", [axes.length])], { keepdims: { int: 0 } });
  }
  c.emit("Neg", [c.emit("ReduceMean", [terms], { keepdims: { int: 0 } })], {}, c.output);
}
