/**
 * layer_norm: normalisation over the last axis, row by row, the same in training and evaluation (no
 * state): for each row of D values, μ = (1/D) Σ x, σ² = (1/D) Σ (x − μ)² (biased), x̂ = (x − μ)/√(σ² + ε),
 * y = γ ⊙ x̂ + β, with γ and β of shape [D].
 *
 * Gradient: β's is δ itself, which autodiff sums over the rows (sum_to); x's and γ's are layer_norm_grad
 * nodes (its `wrt` attribute), which recompute each row's statistics from x:
 *   dX = (1/σ) ⊙ (γδ − mean(γδ) − x̂ ⊙ mean(γδ ⊙ x̂))  per row,   dγ = Σ_rows δ ⊙ x̂.
 */
import { Type } from "#typebox";
import { formatShape, sameShape, type Shape } from "../graph/ir.js";
import { ShapeError, defineOp } from "./op.js";
import { lastAxisRows } from "./softmax.js";

export const LAYER_NORM_EPSILON = 1e-5;

const Epsilon = Type.Optional(
  Type.Number({ exclusiveMinimum: 0, description: `Added to the variance before its square root (default ${LAYER_NORM_EPSILON}).` }),
);

/** x needs a last axis; each of `perFeature` must be [D], D being x's last dimension. */
function checkFeatures(x: Shape, perFeature: readonly (readonly [string, Shape])[]): void {
  if (x.length === 0) throw new ShapeError(`x must have at least one axis (each row along the last is normalised), got a scalar ${formatShape(x)}.`);
  const features = [x[x.length - 1]!];
  for (const [name, shape] of perFeature) {
    if (!sameShape(shape, features)) {
      throw new ShapeError(
        `${name} must hold one value per element of x's last axis, ${formatShape(features)} for x of shape ${formatShape(x)}, got ${formatShape(shape)}.`,
      );
    }
  }
}

/** Writes the mean and the inverse standard deviation 1/√(σ² + ε) of the row at `base` into stats[0] and stats[1] (two passes, in float64). */
function rowStats(x: ArrayLike<number>, base: number, length: number, epsilon: number, stats: Float64Array): void {
  let sum = 0;
  for (let j = 0; j < length; j++) sum += x[base + j]!;
  const mean = sum / length;
  let squares = 0;
  for (let j = 0; j < length; j++) {
    const d = x[base + j]! - mean;
    squares += d * d;
  }
  stats[0] = mean;
  stats[1] = 1 / Math.sqrt(squares / length + epsilon);
}

export const layerNorm = defineOp({
  name: "layer_norm",
  onnx: {
    export: (c) => void c.emit("LayerNormalization", c.inputs, { axis: { int: -1 }, epsilon: { float: c.node.attrs.epsilon ?? LAYER_NORM_EPSILON } }, c.output),
  },
  summary: "γ ⊙ (x − μ)/√(σ² + ε) + β over the last axis, each row by its own statistics (the same in training and evaluation)",
  inputs: ["x", "gamma", "beta"],
  attrs: Type.Object({ epsilon: Epsilon }, { additionalProperties: false }),
  shape: ([x, gamma, beta]) => {
    checkFeatures(x!, [
      ["gamma", gamma!],
      ["beta", beta!],
    ]);
    return x!;
  },
  kernel: ({ attrs, outputShape }) => {
    const epsilon = attrs.epsilon ?? LAYER_NORM_EPSILON;
    const { rows, length } = lastAxisRows(outputShape);
    const stats = new Float64Array(2);
    return ([x, gamma, beta], out) => {
      for (let r = 0, base = 0; r < rows; r++, base += length) {
        rowStats(x!, base, length, epsilon, stats);
        const mean = stats[0]!;
        const inv = stats[1]!;
        for (let j = 0; j < length; j++) out[base + j] = gamma![j]! * ((x![base + j]! - mean) * inv) + beta![j]!;
      }
    };
  },
  gradient: (g) => {
    const [x, gamma] = g.inputs;
    const grad = (wrt: "x" | "gamma") => g.emit("layer_norm_grad", [g.dy, x!, gamma!], { ...g.node.attrs, wrt });
    // β's gradient is δ of the output's shape: autodiff sums it over the rows to [D].
    return [g.needs(0) ? grad("x") : null, g.needs(1) ? grad("gamma") : null, g.dy];
  },
  check: {
    shapes: [["...", "d"], ["d"], ["d"]],
    attrs: [{}, { epsilon: 0.01 }, { epsilon: 0.1 }],
    nearKink: (inputs, attrs) => nearlyConstantRow(inputs[0]!, attrs.epsilon ?? LAYER_NORM_EPSILON),
  },
});

/**
 * Whether some row of x, of more than one value, has a variance so small next to ε that the
 * normalisation's curvature makes a central difference inaccurate. Only for the check's choice of cases.
 */
function nearlyConstantRow(x: { shape: readonly number[]; data: readonly number[] }, epsilon: number): boolean {
  const { rows, length } = lastAxisRows(x.shape);
  if (length < 2) return false;
  const stats = new Float64Array(2);
  for (let r = 0; r < rows; r++) {
    rowStats(x.data, r * length, length, epsilon, stats);
    if (1 / stats[1]! ** 2 - epsilon < Math.max(0.05, 10 * epsilon)) return true;
  }
  return false;
}

const FORMULAS = {
  x: "x̂ = (X − μ)/σ per row:  dX = (1/σ) ⊙ (γδ − mean(γδ) − x̂ ⊙ mean(γδ ⊙ x̂))",
  gamma: "dγ = Σ_rows δ ⊙ x̂",
} as const;

export const layerNormGrad = defineOp({
  name: "layer_norm_grad",
  summary: "the gradient of layer_norm with respect to x or gamma (attribute wrt), each row's statistics recomputed from x",
  inputs: ["dy", "x", "gamma"],
  attrs: Type.Object(
    {
      wrt: Type.Union([Type.Literal("x"), Type.Literal("gamma")], { description: "The input of layer_norm whose gradient this is." }),
      epsilon: Epsilon,
    },
    { additionalProperties: false },
  ),
  shape: ([dy, x, gamma], attrs) => {
    checkFeatures(x!, [["gamma", gamma!]]);
    if (!sameShape(dy!, x!)) throw new ShapeError(`dy must have the shape of x, ${formatShape(x!)}, got ${formatShape(dy!)}.`);
    return attrs.wrt === "x" ? x! : gamma!;
  },
  kernel: ({ attrs, inputShapes }) => {
    const epsilon = attrs.epsilon ?? LAYER_NORM_EPSILON;
    const { rows, length } = lastAxisRows(inputShapes[1]!);
    const stats = new Float64Array(2);
    // dγ's sums over the rows, in float64.
    const sums = new Float64Array(attrs.wrt === "gamma" ? length : 0);
    return ([dy, x, gamma], out) => {
      sums.fill(0);
      for (let r = 0, base = 0; r < rows; r++, base += length) {
        rowStats(x!, base, length, epsilon, stats);
        const mean = stats[0]!;
        const inv = stats[1]!;
        if (attrs.wrt === "gamma") {
          for (let j = 0; j < length; j++) sums[j] = sums[j]! + dy![base + j]! * (x![base + j]! - mean) * inv;
          continue;
        }
        let gdMean = 0;
        let gdDot = 0;
        for (let j = 0; j < length; j++) {
          const gd = gamma![j]! * dy![base + j]!;
          gdMean += gd;
          gdDot += gd * (x![base + j]! - mean) * inv;
        }
        gdMean /= length;
        gdDot /= length;
        for (let j = 0; j < length; j++) out[base + j] = inv * (gamma![j]! * dy![base + j]! - gdMean - (x![base + j]! - mean) * inv * gdDot);
      }
      if (attrs.wrt === "gamma") for (let j = 0; j < length; j++) out[j] = sums[j]!;
    };
  },
  formula: (attrs) => FORMULAS[attrs.wrt],
  check: { skip: "a backward op, checked through layer_norm's gradient" },
});
