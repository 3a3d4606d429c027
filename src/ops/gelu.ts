/**
 * gelu: x·Φ(x), Φ the standard normal's distribution function; and gelu_grad, the op its gradient emits.
 *
 * `approximate` as PyTorch's: "none" (the default) is the exact erf form, x·½·erfc(−x/√2); "tanh" is
 * x·½(1 + tanh(√(2/π)(x + 0.044715x³))), GPT-2's. The exact form is the default because it is PyTorch's,
 * so a model ported from there computes the same function; the tanh form is there for models trained with
 * it (it differs from the exact one by up to ≈ 5e-4). Both are computed without cancellation: Φ(x) from
 * erfc for x < 0 (1 + erf(x) would lose every digit of a small Φ), and ½(1 + tanh u) as sigmoid(2u).
 * gelu(−∞) = −0, the limit (the formula's −∞·0 would be NaN); NaN passes through.
 *
 * Gradient: Φ(x) + x·φ(x) exactly, φ the normal density; for the tanh form, s + 2x·s(1 − s)·u′(x) with
 * s = sigmoid(2u), u = √(2/π)(x + 0.044715x³).
 */
import { Type, type Static } from "#typebox";
import { formatShape, sameShape, sizeOf } from "../graph/ir.js";
import { ShapeError, defineOp } from "./op.js";

const Approximate = Type.Object(
  {
    approximate: Type.Optional(
      Type.Union([Type.Literal("none"), Type.Literal("tanh")], {
        default: "none",
        description: '"none": the exact x·Φ(x), with erf (the default, as PyTorch\'s); "tanh": the tanh approximation.',
      }),
    ),
  },
  { additionalProperties: false },
);
type Approximate = Static<typeof Approximate>;

const SQRT1_2 = Math.SQRT1_2;
const TWO_OVER_SQRT_PI = 2 / Math.sqrt(Math.PI);
const ONE_OVER_SQRT_PI = 1 / Math.sqrt(Math.PI);
const ONE_OVER_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);
const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);
const TANH_CUBIC = 0.044715;

/**
 * erfc(z) = 1 − erf(z) to a few float64 ulps, with no cancellation where it is small:
 *   |z| < 2.5:  1 − erf(z), erf(z) = (2/√π) e^(−z²) Σₙ (2z²)ⁿ z / (1·3·…·(2n+1)), a series of terms of one sign;
 *   z ≥ 2.5:    (e^(−z²)/√π) / (z + ½/(z + 1/(z + (3/2)/(z + …)))), the continued fraction (modified Lentz);
 *   z ≤ −2.5:   2 − erfc(−z).
 */
export function erfc(z: number): number {
  if (Number.isNaN(z)) return NaN;
  if (z <= -2.5) return 2 - erfc(-z);
  if (z < 2.5) {
    const twoZ2 = 2 * z * z;
    let term = z;
    let series = z;
    for (let n = 1; Math.abs(term) > 1e-17 * Math.abs(series); n++) {
      term *= twoZ2 / (2 * n + 1);
      series += term;
    }
    return 1 - TWO_OVER_SQRT_PI * Math.exp(-z * z) * series;
  }
  if (z > 27) return 0; // below the smallest float64 (erfc(27) ≈ 5e-319)
  // Lentz's method for z + K(k/2 / z), k = 1, 2, …
  const tiny = 1e-300;
  let f = z;
  let c = z;
  let d = 0;
  for (let k = 1; k < 500; k++) {
    const a = k / 2;
    d = z + a * d;
    d = 1 / (Math.abs(d) < tiny ? tiny : d);
    c = z + a / c;
    if (Math.abs(c) < tiny) c = tiny;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return (ONE_OVER_SQRT_PI * Math.exp(-z * z)) / f;
}

/** σ(t) from e^(−|t|) only, as sigmoid's kernel computes it (no overflow). */
function sigmoidOf(t: number): number {
  if (t >= 0) return 1 / (1 + Math.exp(-t));
  const e = Math.exp(t);
  return e / (1 + e);
}

/** Φ(x), the standard normal distribution function. */
function normalCdf(x: number): number {
  return 0.5 * erfc(-x * SQRT1_2);
}

export function geluExact(x: number): number {
  if (x === -Infinity) return -0;
  return x * normalCdf(x);
}

export function geluTanh(x: number): number {
  if (x === -Infinity) return -0;
  return x * sigmoidOf(2 * SQRT_2_OVER_PI * (x + TANH_CUBIC * x * x * x));
}

/** d gelu / dx, exact form: Φ(x) + x·φ(x) (x·φ(x) → 0 as x → ±∞). */
export function geluExactSlope(x: number): number {
  const xPhi = Number.isFinite(x) ? x * ONE_OVER_SQRT_2PI * Math.exp(-0.5 * x * x) : Number.isNaN(x) ? NaN : 0;
  return normalCdf(x) + xPhi;
}

/** d gelu / dx, tanh form: s + 2x·s(1 − s)·u′(x), s = σ(2u), with 1 − s = σ(−2u) (no cancellation). */
export function geluTanhSlope(x: number): number {
  if (!Number.isFinite(x)) return Number.isNaN(x) ? NaN : x > 0 ? 1 : 0;
  const u = SQRT_2_OVER_PI * (x + TANH_CUBIC * x * x * x);
  const s = sigmoidOf(2 * u);
  const du = SQRT_2_OVER_PI * (1 + 3 * TANH_CUBIC * x * x);
  return s + 2 * x * s * sigmoidOf(-2 * u) * du;
}

const isTanh = (attrs: Approximate) => attrs.approximate === "tanh";

export const gelu = defineOp({
  name: "gelu",
  // ONNX has Gelu only from opset 20: written out, 0.5·x·(1 + erf(x/√2)) or its tanh form.
  onnx: {
    export: (c) => {
      const [x] = c.inputs as [string];
      const float = (v: number) => c.constant([v], "float");
      const inner = isTanh(c.node.attrs)
        ? c.emit("Tanh", [c.emit("Mul", [float(SQRT_2_OVER_PI), c.emit("Add", [x, c.emit("Mul", [float(TANH_CUBIC), c.emit("Pow", [x, float(3)])])])])])
        : c.emit("Erf", [c.emit("Mul", [x, float(Math.SQRT1_2)])]);
      c.emit("Mul", [c.emit("Mul", [x, float(0.5)]), c.emit("Add", [inner, float(1)])], {}, c.output);
    },
  },
  summary: 'x·Φ(x), elementwise: exact (erf) by default, approximate: "tanh" for the tanh form',
  inputs: ["x"],
  attrs: Approximate,
  shape: ([x]) => x!,
  kernel: ({ outputShape, attrs }) => {
    const n = sizeOf(outputShape);
    const f = isTanh(attrs) ? geluTanh : geluExact;
    return ([x], out) => {
      for (let k = 0; k < n; k++) out[k] = f(x![k]!);
    };
  },
  gradient: (g) => [g.emit("gelu_grad", [g.dy, g.inputs[0]!], g.node.attrs)],
  check: { attrs: [{}, { approximate: "tanh" }, { approximate: "none" }], values: [-6, 6] },
});

export const geluGrad = defineOp({
  name: "gelu_grad",
  summary: "dy ⊙ gelu′(x): the gradient of gelu, in the same form (exact or tanh)",
  inputs: ["dy", "x"],
  attrs: Approximate,
  shape: ([dy, x]) => {
    if (!sameShape(dy!, x!)) throw new ShapeError(`dy and x must have the same shape, got ${formatShape(dy!)} and ${formatShape(x!)}.`);
    return x!;
  },
  kernel: ({ outputShape, attrs }) => {
    const n = sizeOf(outputShape);
    const slope = isTanh(attrs) ? geluTanhSlope : geluExactSlope;
    return ([dy, x], out) => {
      for (let k = 0; k < n; k++) out[k] = dy![k]! * slope(x![k]!);
    };
  },
  formula: (attrs) => (attrs.approximate === "tanh" ? "δ ⊙ (s + 2Z s(1 − s) u′(Z)), s = σ(2u(Z))" : "δ ⊙ (Φ(Z) + Z φ(Z))"),
  check: { skip: "a backward op, checked through gelu's gradient" },
});
