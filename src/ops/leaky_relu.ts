/**
 * leaky_relu: x where x > 0, else α·x (attribute `alpha`, default 0.01, as PyTorch's negative_slope); and
 * leaky_relu_grad, the op its gradient emits: dy where x > 0, else α·dy. At the kink x = 0 the slope is
 * taken as α (relu's rule, Z > 0, with α for 0), as PyTorch does. NaN passes through.
 */
import { Type, type Static } from "#typebox";
import { formatShape, sameShape, sizeOf } from "../graph/ir.js";
import { ShapeError, defineOp } from "./op.js";

const Alpha = Type.Object({ alpha: Type.Optional(Type.Number({ default: 0.01, description: "The slope α where x ≤ 0." })) }, { additionalProperties: false });
type Alpha = Static<typeof Alpha>;

const DEFAULT_ALPHA = 0.01;

/**
 * What the kernels of their own need of the WebAssembly backend's context (a WasmKernelContext): its
 * exports leakyRelu and leakyReluGrad, which take α as a float64 argument — a call of the module cannot
 * pass an attribute, so these ops call the exports themselves.
 */
interface LeakyKernels {
  readonly kernels: {
    leakyRelu(x: number, out: number, len: number, alpha: number): void;
    leakyReluGrad(dy: number, x: number, out: number, len: number, alpha: number): void;
  };
}
const alphaOf = (attrs: Alpha) => attrs.alpha ?? DEFAULT_ALPHA;

export const leakyRelu = defineOp({
  name: "leaky_relu",
  onnx: { export: (c) => void c.emit("LeakyRelu", c.inputs, { alpha: { float: alphaOf(c.node.attrs) } }, c.output) },
  summary: "x where x > 0, else alpha · x (alpha defaults to 0.01), elementwise",
  inputs: ["x"],
  attrs: Alpha,
  shape: ([x]) => x!,
  kernel: ({ outputShape, attrs }) => {
    const n = sizeOf(outputShape);
    const alpha = alphaOf(attrs);
    return ([x], out) => {
      for (let k = 0; k < n; k++) {
        const v = x![k]!;
        out[k] = v > 0 ? v : alpha * v;
      }
    };
  },
  fast: {
    wasm: ({ outputShape, attrs }, context: LeakyKernels) => {
      const n = sizeOf(outputShape);
      const alpha = alphaOf(attrs);
      const { kernels } = context;
      return ([x], out) => kernels.leakyRelu(x!.byteOffset, out.byteOffset, n, alpha);
    },
  },
  gradient: (g) => [g.emit("leaky_relu_grad", [g.dy, g.inputs[0]!], g.node.attrs)],
  check: {
    attrs: [{}, { alpha: 0.2 }, { alpha: 0 }, { alpha: 1.5 }, { alpha: -0.5 }],
    // A central difference straddling the kink at 0 measures neither slope: keep the values away from it.
    nearKink: ([x]) => x!.data.some((v) => Math.abs(v) < 1e-3),
  },
});

export const leakyReluGrad = defineOp({
  name: "leaky_relu_grad",
  summary: "dy where x > 0, else alpha · dy: the gradient of leaky_relu",
  inputs: ["dy", "x"],
  attrs: Alpha,
  shape: ([dy, x]) => {
    if (!sameShape(dy!, x!)) throw new ShapeError(`dy and x must have the same shape, got ${formatShape(dy!)} and ${formatShape(x!)}.`);
    return x!;
  },
  kernel: ({ outputShape, attrs }) => {
    const n = sizeOf(outputShape);
    const alpha = alphaOf(attrs);
    return ([dy, x], out) => {
      for (let k = 0; k < n; k++) out[k] = x![k]! > 0 ? dy![k]! : alpha * dy![k]!;
    };
  },
  fast: {
    wasm: ({ outputShape, attrs }, context: LeakyKernels) => {
      const n = sizeOf(outputShape);
      const alpha = alphaOf(attrs);
      const { kernels } = context;
      return ([dy, x], out) => kernels.leakyReluGrad(dy!.byteOffset, x!.byteOffset, out.byteOffset, n, alpha);
    },
  },
  formula: "δ ⊙ (Z > 0 ? 1 : α)",
  check: { skip: "a backward op, checked through leaky_relu's gradient" },
});
