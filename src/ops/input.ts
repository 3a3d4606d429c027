/**
 * input: a value fed by the caller before each run — a batch of images, or their labels.
 * Inputs are not differentiated unless a caller asks for their gradient explicitly.
 */
import { Type } from "#typebox";
import { ShapeAttr } from "./attrs.js";
import { defineOp } from "./op.js";

export const input = defineOp({
  name: "input",
  summary: "a value fed before each run (features or labels)",
  role: "input",
  inputs: [],
  attrs: Type.Object(
    {
      shape: ShapeAttr,
      feed: Type.Optional(
        Type.Union([Type.Literal("features"), Type.Literal("labels")], {
          description: "What the trainer feeds here: the images (features) or their one-hot labels.",
        }),
      ),
    },
    { additionalProperties: false },
  ),
  shape: (_inputs, attrs) => attrs.shape,
  kernel: () => () => {
    // Fed by the executor: nothing to compute.
  },
});
