/**
 * softmax_cross_entropy: cross_entropy(softmax(z), y) fused and computed on the logits z, the stable way:
 * with lseᵢ = log Σₖ e^(zᵢₖ), L = (1/m) Σᵢ Σₖ yᵢₖ (lseᵢ − zᵢₖ), which for label rows summing to 1 is the
 * report's (1/m) Σᵢ (lseᵢ − Σₖ yᵢₖ zᵢₖ). Rows run along the last axis; m is the first dimension (the batch).
 * Gradient: softmax_cross_entropy_grad = dL · (softmax(z) ⊙ Σₖ yₖ − y) / m, the report's δ = (A − Y)/m for
 * one-hot (or any normalised) labels. The labels y get no gradient.
 *
 * Why fused: softmax then log loses everything once a probability underflows, while lse − z is computed
 * from differences of logits and never overflows or takes log 0. Weighting lse by each row's label sum
 * (instead of assuming it is 1) keeps the loss equal to cross_entropy(softmax(z), y) and its gradient exact
 * for any y, so the numerical gradient check holds even for labels that are not one-hot.
 */
import { NO_ATTRS, type NoAttrs } from "./attrs.js";
import { lossInputsShape, scalarShape, lowerCrossEntropy } from "./cross_entropy.js";
import type { OpDefinition } from "./op.js";
import { lastAxisRows } from "./softmax.js";

export const softmaxCrossEntropy: OpDefinition<NoAttrs> = {
  name: "softmax_cross_entropy",
  onnx: { export: (c) => lowerCrossEntropy(c, c.emit("LogSoftmax", [c.inputs[0]!], { axis: { int: -1 } })) },
  summary: "cross_entropy(softmax(z), y) on logits z, computed stably by log-sum-exp",
  inputs: ["z", "y"],
  attrs: NO_ATTRS,
  shape: ([z, y]) => {
    lossInputsShape(z!, y!);
    return [];
  },
  kernel: ({ inputShapes: [shape] }) => {
    const m = shape![0]!;
    const { rows, length } = lastAxisRows(shape!);
    return ([z, y], out) => {
      let sum = 0;
      for (let r = 0, base = 0; r < rows; r++, base += length) {
        let max = -Infinity;
        for (let j = 0; j < length; j++) if (z![base + j]! > max) max = z![base + j]!;
        let exps = 0;
        for (let j = 0; j < length; j++) exps += Math.exp(z![base + j]! - max);
        // lse − z = log Σ e^(z−max) − (z − max): both terms are small, no large values cancel.
        const logExps = Math.log(exps);
        for (let j = 0; j < length; j++) sum += y![base + j]! * (logExps - (z![base + j]! - max));
      }
      out[0] = sum / m;
    };
  },
  gradient: (g) => [g.needs(0) ? g.emit("softmax_cross_entropy_grad", [g.inputs[0]!, g.inputs[1]!, g.dy]) : null, null],
  // [m, …, classes]; labels in [0, 1] that need not sum to 1 (the gradient is exact for any), not differentiated.
  check: {
    shapes: [
      ["m", "...", "n"],
      ["m", "...", "n"],
    ],
    values: { z: [-5, 5], y: [0, 1] },
    wrt: ["z"],
  },
};

export const softmaxCrossEntropyGrad: OpDefinition<NoAttrs> = {
  name: "softmax_cross_entropy_grad",
  summary: "dL · (softmax(z) − y) / m, the gradient of softmax_cross_entropy with respect to the logits",
  inputs: ["z", "y", "dL"],
  attrs: NO_ATTRS,
  shape: ([z, y, dL]) => {
    scalarShape(dL!, "dL");
    return lossInputsShape(z!, y!);
  },
  kernel: ({ inputShapes: [shape] }) => {
    const m = shape![0]!;
    const { rows, length } = lastAxisRows(shape!);
    const e = new Float64Array(length);
    return ([z, y, dL], out) => {
      const scale = dL![0]! / m;
      for (let r = 0, base = 0; r < rows; r++, base += length) {
        let max = -Infinity;
        for (let j = 0; j < length; j++) if (z![base + j]! > max) max = z![base + j]!;
        let exps = 0;
        let labels = 0;
        for (let j = 0; j < length; j++) {
          const ej = Math.exp(z![base + j]! - max);
          e[j] = ej;
          exps += ej;
          labels += y![base + j]!;
        }
        for (let j = 0; j < length; j++) out[base + j] = scale * ((e[j]! / exps) * labels - y![base + j]!);
      }
    };
  },
  formula: "δ = (A − Y)/m",
  check: { skip: "a backward op, checked through softmax_cross_entropy's gradient" },
};
