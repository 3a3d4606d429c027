/**
 * my_leaky_relu: x where x > 0, else α·x, with the attribute `alpha` (α, default 0.01); and
 * my_leaky_relu_grad, the backward op its gradient rule emits, as the built-in relu and relu_grad are
 * written. At the kink x = 0 the derivative is taken as α. graphnet has a built-in leaky_relu: this is the
 * same op written against the public API, under a name of its own (a module may not take a built-in's).
 *
 *   npx graphnet gradcheck --ops ./examples/ops/leaky_relu.js
 */
import { ShapeError, formatShape, sizeOf } from "graphnet";

/** The attributes, as a JSON Schema: graph files are validated against it and editors complete it. */
const Alpha = {
  type: "object",
  properties: {
    alpha: { type: "number", minimum: 0, default: 0.01, description: "Slope for x ≤ 0." },
  },
  additionalProperties: false,
};

/** @type {import("graphnet").OpDefinition<{ alpha?: number }>} */
export const leakyRelu = {
  name: "my_leaky_relu",
  summary: "x where x > 0, else alpha · x (alpha defaults to 0.01), elementwise",
  inputs: ["x"],
  attrs: Alpha,
  shape: ([x]) => x,
  kernel: ({ attrs: { alpha = 0.01 }, outputShape }) => {
    const n = sizeOf(outputShape);
    return ([x], out) => {
      for (let i = 0; i < n; i++) out[i] = x[i] > 0 ? x[i] : alpha * x[i];
    };
  },
  // A kernel of its own for the WebAssembly backend ("wasm", the CLI's default), used there in place of
  // `kernel` (returning undefined leaves a case to `kernel`); it must give the same values. Its views are
  // Float32Arrays in the backend's shared memory, context.memory, so a kernel can hand their byteOffsets
  // to a WebAssembly module of its own instantiated over that memory:
  //   new WebAssembly.Instance(module, { env: { memory: context.memory } })
  // This one stays in JavaScript to show the mechanism: float32 views, read once per element.
  // How `graphnet export` writes a node of this op as ONNX (docs/onnx.md): one LeakyRelu operator. An op
  // without this field cannot be exported.
  onnx: {
    export: (c) => void c.emit("LeakyRelu", c.inputs, { alpha: { float: c.node.attrs.alpha ?? 0.01 } }, c.output),
  },
  fast: {
    wasm: ({ attrs: { alpha = 0.01 }, outputShape }, context) => {
      if (!(context.memory instanceof WebAssembly.Memory)) return undefined;
      const n = sizeOf(outputShape);
      return ([x], out) => {
        for (let i = 0; i < n; i++) {
          const v = x[i];
          out[i] = v > 0 ? v : alpha * v;
        }
      };
    },
  },
  // dx = dy ⊙ (x > 0 ? 1 : α): one node of the backward op below, with the same attributes.
  gradient: (g) => [g.emit("my_leaky_relu_grad", [g.dy, g.inputs[0]], g.node.attrs)],
  check: {
    // Attribute samples to draw from (a failure shrinks towards the first).
    attrs: [{}, { alpha: 0.2 }, { alpha: 0 }, { alpha: 1.5 }],
    // A central difference across the kink at 0 measures neither slope: keep the values away from it.
    nearKink: ([x]) => x.data.some((v) => Math.abs(v) < 1e-3),
  },
};

/** @type {import("graphnet").OpDefinition<{ alpha?: number }>} */
export const leakyReluGrad = {
  name: "my_leaky_relu_grad",
  summary: "dy where x > 0, else alpha · dy: the gradient of my_leaky_relu",
  inputs: ["dy", "x"],
  attrs: Alpha,
  shape: ([dy, x]) => {
    if (formatShape(dy) !== formatShape(x)) throw new ShapeError(`dy and x must have the same shape, got ${formatShape(dy)} and ${formatShape(x)}.`);
    return x;
  },
  kernel: ({ attrs: { alpha = 0.01 }, outputShape }) => {
    const n = sizeOf(outputShape);
    return ([dy, x], out) => {
      for (let i = 0; i < n; i++) out[i] = x[i] > 0 ? dy[i] : alpha * dy[i];
    };
  },
  // Shown by `graphnet inspect --backward`.
  formula: "δ ⊙ (Z > 0 ? 1 : α)",
  // No gradient rule of its own: nothing to check by itself.
  check: { skip: "a backward op, checked through my_leaky_relu's gradient" },
};

export default [leakyRelu, leakyReluGrad];
