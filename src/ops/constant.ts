/** constant: a tensor filled with one value (the seed 1 of the backward pass, zeros). */
import { Type } from "#typebox";
import { ShapeAttr } from "./attrs.js";
import { defineOp, ShapeError } from "./op.js";

export const constant = defineOp({
  name: "constant",
  onnx: {
    export: (c) => {
      const shape = c.node.attrs.shape;
      if (!shape.every((d): d is number => typeof d === "number")) {
        throw new ShapeError(`a constant of symbolic shape ${JSON.stringify(shape)} has no ONNX lowering: give it fixed sizes.`, "shape");
      }
      const dims = shape as number[];
      const values = new Array<number>(dims.reduce((n, d) => n * d, 1)).fill(c.node.attrs.value);
      c.emit("Identity", [c.constant(values, "float", dims)], {}, c.output);
    },
  },
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
