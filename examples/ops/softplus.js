// softplus(x) = log(1 + eˣ), a smooth relu (graphnet has one built in; this is yours). Check it: npx graphnet gradcheck --ops ./examples/ops/softplus.js
import { sizeOf } from "graphnet";

/** @type {import("graphnet").OpDefinition} */
export const softplus = {
  name: "my_softplus",                    // lower_snake_case, what graph nodes put in "op"
  summary: "log(1 + e^x), elementwise, computed without overflow",
  inputs: ["x"],                          // input names, in argument order
  attrs: { type: "object", additionalProperties: false }, // JSON Schema of the attributes
  shape: ([x]) => x,                      // output shape (may hold "batch"); throw ShapeError to refuse
  kernel: ({ outputShape }) => {          // once per plan, with concrete shapes…
    const n = sizeOf(outputShape);
    return ([x], out) => {                // …returns what runs each step: fill all of out, allocate nothing
      for (let i = 0; i < n; i++) out[i] = Math.max(x[i], 0) + Math.log1p(Math.exp(-Math.abs(x[i])));
    };
  },
  // Optional. Builds graph nodes, never numbers: dx = dy ⊙ sigmoid(x). One gradient (or null) per input.
  gradient: (g) => [g.emit("mul", [g.dy, g.emit("sigmoid", [g.inputs[0]])])],
};

export default [softplus];
