/**
 * dropout: inverted dropout, the report's A·Mask/(1 − p). In training mode each element is kept with
 * probability 1 − rate and scaled by 1/(1 − rate), so the expected output equals the input and evaluation
 * needs no rescaling; in evaluation mode, or with rate 0 or absent, it is the identity.
 * Gradient: the same mask applied to dy, scaled the same way — which is just another dropout node.
 *
 * The mask is never stored. Element i is kept when hashUniform(seed, hashString(key), step, i) ≥ rate:
 * a pure function of the run's seed and step, of a stream named by `key` (the node's id when absent) and
 * of the element's index. The backward node is a dropout on dy with the same rate and with key set to the
 * forward node's key (or id), so within one run (same seed, same step) it regenerates exactly the forward
 * mask, and the next training step draws a new one. Two dropout nodes given the same key share a mask.
 * This costs a hash per element twice per step instead of a mask buffer kept alive from the forward pass
 * to the backward pass, and it makes a run reproducible from (seed, step) alone.
 */
import { Type } from "#typebox";
import { sizeOf } from "../graph/ir.js";
import { hashString, hashUniform } from "../util/random.js";
import { defineOp, onnxOperator } from "./op.js";

const DropoutAttrs = Type.Object(
  {
    rate: Type.Optional(
      Type.Number({
        minimum: 0,
        exclusiveMaximum: 1,
        description: "Probability of dropping an element in training mode (the report's dropout_rate, e.g. 0.1).",
      }),
    ),
    key: Type.Optional(
      Type.String({ minLength: 1, description: "Names the random stream of the mask (default: the node's id); nodes with the same key share a mask." }),
    ),
  },
  { additionalProperties: false },
);

export const dropout = defineOp({
  name: "dropout",
  // An exported model infers: dropout is the identity there.
  onnx: onnxOperator("Identity"),
  summary: "inverted dropout: x ⊙ mask / (1 − rate) in training mode, the identity in evaluation mode",
  inputs: ["x"],
  attrs: DropoutAttrs,
  shape: ([x]) => x!,
  // Only the identity (rate 0) has a fast kernel, a copy; with a rate, the op's own kernel draws the masks.
  fast: { wasm: ({ attrs: { rate = 0 } }) => (rate === 0 ? { export: "copy", over: "elements" } : undefined) },
  kernel: ({ nodeId, attrs: { rate = 0, key }, outputShape }) => {
    const n = sizeOf(outputShape);
    const stream = hashString(key ?? nodeId);
    const scale = 1 / (1 - rate);
    return ([x], out, run) => {
      if (!run.training || rate === 0) {
        for (let k = 0; k < n; k++) out[k] = x![k]!;
        return;
      }
      for (let k = 0; k < n; k++) out[k] = hashUniform(run.seed, stream, run.step, k) >= rate ? x![k]! * scale : 0;
    };
  },
  gradient: (g) => {
    const { rate, key } = g.node.attrs;
    return [g.emit("dropout", [g.dy], { ...(rate !== undefined ? { rate } : {}), key: key ?? g.node.id })];
  },
  formula: "δ ⊙ Mask / (1 − p)",
  // Rates in tenths, with and without a shared key; one fixed mask in training mode, the identity in evaluation mode.
  check: {
    attrs: (_shapes, draw) => ({ rate: draw.int(0, 9) / 10, ...(draw.bool() ? { key: draw.pick(["a", "b"]) } : {}) }),
    cases: [{ training: true }, { training: false }],
  },
});
