/** constant: a tensor filled with one value (the seed 1 of the backward pass, zeros). */
import { Type } from "@sinclair/typebox";
import { ShapeAttr } from "./attrs.js";
import { defineOp } from "./op.js";

export const constant = defineOp({
  name: "constant",
  summary: "a tensor filled with one value",
  inputs: [],
  attrs: Type.Object({ shape: ShapeAttr, value: Type.Number() }, { additionalProperties: false }),
  shape: (_inputs, attrs) => attrs.shape,
  kernel:
    ({ attrs: { value } }) =>
    (_inputs, out) => {
      // A plain loop: TypedArray.prototype.fill may box a non-integer value, an allocation in a step that makes none otherwise.
      for (let k = 0; k < out.length; k++) out[k] = value;
    },
});
