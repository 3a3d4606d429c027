/**
 * batch_norm: batch normalisation per channel — axis 1: the feature of a [batch, F] input, the channel
 * of an NCHW [batch, C, H, W] one — over the m values of each channel (every sample, every position):
 *
 *   training:    μ = (1/m) Σ x,  σ² = (1/m) Σ (x − μ)²  (the biased variance),  y = γ ⊙ (x − μ)/√(σ² + ε) + β;
 *                and the running averages, non-trainable state the node updates in place (`updates`):
 *                running_mean ← (1 − momentum)·running_mean + momentum·μ,
 *                running_var  ← (1 − momentum)·running_var  + momentum·σ²·m/(m − 1)  (the unbiased variance),
 *                as PyTorch does (momentum 0.1 by default: the weight of the new batch, PyTorch's convention,
 *                which is 1 − Keras' momentum). With m = 1 the unbiased variance is undefined and the running
 *                variance is left as it is.
 *   evaluation:  y = γ ⊙ (x − running_mean)/√(running_var + ε) + β; the state is only read.
 *
 * Gradient: batch_norm_grad, one op for the three differentiated inputs (its `wrt` attribute), which
 * recomputes the batch's statistics from x rather than keeping them from the forward pass. In training
 * mode the gradient flows through μ and σ² too; in evaluation mode it is that of the affine map above.
 * No gradient flows into the running averages.
 */
import { Type } from "#typebox";
import { formatShape, sameShape, type ConcreteShape, type Shape } from "../graph/ir.js";
import { ShapeError, defineOp } from "./op.js";

export const BATCH_NORM_DEFAULTS = { momentum: 0.1, epsilon: 1e-5 } as const;

const Epsilon = Type.Optional(
  Type.Number({ exclusiveMinimum: 0, description: `Added to the variance before its square root (default ${BATCH_NORM_DEFAULTS.epsilon}).` }),
);

const BatchNormAttrs = Type.Object(
  {
    momentum: Type.Optional(
      Type.Number({
        minimum: 0,
        maximum: 1,
        description:
          `Weight of the new batch in the running averages: running ← (1 − momentum)·running + momentum·batch (default ${BATCH_NORM_DEFAULTS.momentum}). ` +
          "PyTorch's convention; Keras' momentum 0.99 is 0.01 here.",
      }),
    ),
    epsilon: Epsilon,
  },
  { additionalProperties: false },
);

/** How the values of an [outer, channels, inner…] tensor fall into channels: element (n, c, s) is at (n·channels + c)·inner + s. */
interface ChannelLayout {
  readonly outer: number;
  readonly channels: number;
  readonly inner: number;
  /** Values per channel, m = outer·inner. */
  readonly count: number;
}

function channelLayout(shape: ConcreteShape): ChannelLayout {
  const [outer, channels] = shape as [number, number];
  const inner = shape.slice(2).reduce((n, d) => n * d, 1);
  return { outer, channels, inner, count: outer * inner };
}

/** The input x's channels: x must have a channel axis (axis 1) after the batch axis; each of `perChannel` must be [C]. */
function checkChannels(x: Shape, perChannel: readonly (readonly [string, Shape])[]): void {
  if (x.length < 2) {
    throw new ShapeError(`x must be [batch, features] or [batch, channels, …] (the channel axis is axis 1), got ${formatShape(x)}.`);
  }
  const channels = [x[1]!];
  for (const [name, shape] of perChannel) {
    if (!sameShape(shape, channels)) {
      throw new ShapeError(
        `${name} must hold one value per channel of x, ${formatShape(channels)} for x of shape ${formatShape(x)}, got ${formatShape(shape)}.`,
      );
    }
  }
}

/** Writes the mean and the biased variance of channel c into moments[0] and moments[1] (two passes, in float64; nothing allocated). */
function channelMoments(x: ArrayLike<number>, c: number, { outer, channels, inner, count }: ChannelLayout, moments: Float64Array): void {
  let sum = 0;
  for (let n = 0; n < outer; n++) for (let k = (n * channels + c) * inner, end = k + inner; k < end; k++) sum += x[k]!;
  const mean = sum / count;
  let squares = 0;
  for (let n = 0; n < outer; n++) {
    for (let k = (n * channels + c) * inner, end = k + inner; k < end; k++) {
      const d = x[k]! - mean;
      squares += d * d;
    }
  }
  moments[0] = mean;
  moments[1] = squares / count;
}

const STATS = ["gamma", "beta", "running_mean", "running_var"] as const;

export const batchNorm = defineOp({
  name: "batch_norm",
  // The exported model infers: BatchNormalization with the running statistics. ONNX's momentum weighs the
  // running average where graphnet's (PyTorch's) weighs the batch: 1 − momentum.
  onnx: {
    export: (c) => {
      const { momentum = BATCH_NORM_DEFAULTS.momentum, epsilon = BATCH_NORM_DEFAULTS.epsilon } = c.node.attrs;
      c.emit("BatchNormalization", c.inputs, { epsilon: { float: epsilon }, momentum: { float: 1 - momentum } }, c.output);
    },
  },
  summary:
    "γ ⊙ (x − μ)/√(σ² + ε) + β per channel (axis 1): the batch's statistics in training, which update the running averages; the running averages in evaluation",
  inputs: ["x", "gamma", "beta", "running_mean", "running_var"],
  updates: ["running_mean", "running_var"],
  attrs: BatchNormAttrs,
  shape: ([x, ...perChannel]) => {
    checkChannels(
      x!,
      STATS.map((name, i) => [name, perChannel[i]!]),
    );
    return x!;
  },
  kernel: ({ attrs, outputShape }) => {
    const { momentum = BATCH_NORM_DEFAULTS.momentum, epsilon = BATCH_NORM_DEFAULTS.epsilon } = attrs;
    const layout = channelLayout(outputShape);
    const { outer, channels, inner, count } = layout;
    const moments = new Float64Array(2);
    return ([x, gamma, beta, runningMean, runningVar], out, run) => {
      for (let c = 0; c < channels; c++) {
        let mean: number;
        let inv: number;
        if (run.training) {
          channelMoments(x!, c, layout, moments);
          mean = moments[0]!;
          const variance = moments[1]!;
          inv = 1 / Math.sqrt(variance + epsilon);
          runningMean![c] = (1 - momentum) * runningMean![c]! + momentum * mean;
          if (count > 1) runningVar![c] = (1 - momentum) * runningVar![c]! + (momentum * variance * count) / (count - 1);
        } else {
          mean = runningMean![c]!;
          inv = 1 / Math.sqrt(runningVar![c]! + epsilon);
        }
        const scale = gamma![c]! * inv;
        const shift = beta![c]!;
        for (let n = 0; n < outer; n++) {
          for (let k = (n * channels + c) * inner, end = k + inner; k < end; k++) out[k] = (x![k]! - mean) * scale + shift;
        }
      }
    };
  },
  gradient: (g) => {
    const { momentum: _momentum, ...rest } = g.node.attrs;
    const [x, gamma, , runningMean, runningVar] = g.inputs;
    const grad = (wrt: "x" | "gamma" | "beta") => g.emit("batch_norm_grad", [g.dy, x!, gamma!, runningMean!, runningVar!], { ...rest, wrt });
    return [g.needs(0) ? grad("x") : null, g.needs(1) ? grad("gamma") : null, g.needs(2) ? grad("beta") : null, null, null];
  },
  check: {
    attrs: (_shapes, draw) => draw.pick([{}, { momentum: 0.5, epsilon: 0.01 }, { epsilon: 0.1 }]),
    values: { running_var: [0.25, 3] },
    wrt: ["x", "gamma", "beta"],
    nearKink: (inputs, attrs) => nearlyConstantChannel(inputs[0]!, attrs.epsilon ?? BATCH_NORM_DEFAULTS.epsilon),
    cases: [
      { shapes: [["n", "c"], ["c"], ["c"], ["c"], ["c"]] },
      { shapes: [["n", "c", "h", "w"], ["c"], ["c"], ["c"], ["c"]] },
      { shapes: [["n", "c"], ["c"], ["c"], ["c"], ["c"]], training: false },
      { shapes: [["n", "c", "h", "w"], ["c"], ["c"], ["c"], ["c"]], training: false },
    ],
  },
});

/**
 * Whether some channel of x, holding more than one value, has a variance so small next to ε that the
 * normalisation's curvature makes a central difference inaccurate (x̂ = (x − μ)/√(σ² + ε) bends sharply
 * as σ² leaves 0). Only for the check's choice of cases: the op itself is smooth there.
 */
function nearlyConstantChannel(x: { shape: readonly number[]; data: readonly number[] }, epsilon: number): boolean {
  const layout = channelLayout(x.shape);
  if (layout.count < 2) return false;
  const moments = new Float64Array(2);
  for (let c = 0; c < layout.channels; c++) {
    channelMoments(x.data, c, layout, moments);
    if (moments[1]! < Math.max(0.05, 10 * epsilon)) return true;
  }
  return false;
}

const BatchNormGradAttrs = Type.Object(
  {
    wrt: Type.Union([Type.Literal("x"), Type.Literal("gamma"), Type.Literal("beta")], { description: "The input of batch_norm whose gradient this is." }),
    epsilon: Epsilon,
  },
  { additionalProperties: false },
);

const GRAD_FORMULAS = {
  x: "x̂ = (X − μ)/σ, σ = √(σ² + ε):  dX = γ/(m·σ) ⊙ (m·δ − Σδ − x̂ ⊙ Σ δ⊙x̂)  (evaluation: γ ⊙ δ/√(v̂ + ε))",
  gamma: "dγ = Σ δ ⊙ x̂  over each channel  (evaluation: x̂ from the running averages)",
  beta: "dβ = Σ δ  over each channel",
} as const;

export const batchNormGrad = defineOp({
  name: "batch_norm_grad",
  summary: "the gradient of batch_norm with respect to x, gamma or beta (attribute wrt), from the batch's statistics in training",
  inputs: ["dy", "x", "gamma", "running_mean", "running_var"],
  attrs: BatchNormGradAttrs,
  shape: ([dy, x, ...perChannel], attrs) => {
    checkChannels(x!, [
      ["gamma", perChannel[0]!],
      ["running_mean", perChannel[1]!],
      ["running_var", perChannel[2]!],
    ]);
    if (!sameShape(dy!, x!)) throw new ShapeError(`dy must have the shape of x, ${formatShape(x!)}, got ${formatShape(dy!)}.`);
    return attrs.wrt === "x" ? x! : [x![1]!];
  },
  kernel: ({ attrs, inputShapes }) => {
    const epsilon = attrs.epsilon ?? BATCH_NORM_DEFAULTS.epsilon;
    const layout = channelLayout(inputShapes[1]!);
    const { outer, channels, inner, count } = layout;
    const moments = new Float64Array(2);
    return ([dy, x, gamma, runningMean, runningVar], out, run) => {
      for (let c = 0; c < channels; c++) {
        if (run.training && attrs.wrt !== "beta") channelMoments(x!, c, layout, moments);
        const mean = run.training ? moments[0]! : runningMean![c]!;
        const inv = 1 / Math.sqrt((run.training ? moments[1]! : runningVar![c]!) + epsilon);
        // Σ δ and (but for β's gradient) Σ δ ⊙ (x − μ) over the channel.
        let dySum = 0;
        let dyDot = 0;
        for (let n = 0; n < outer; n++) {
          const start = (n * channels + c) * inner;
          const end = start + inner;
          if (attrs.wrt === "beta") for (let k = start; k < end; k++) dySum += dy![k]!;
          else {
            for (let k = start; k < end; k++) {
              dySum += dy![k]!;
              dyDot += dy![k]! * (x![k]! - mean);
            }
          }
        }
        if (attrs.wrt === "beta") out[c] = dySum;
        else if (attrs.wrt === "gamma") out[c] = dyDot * inv;
        else if (!run.training) {
          const scale = gamma![c]! * inv;
          for (let n = 0; n < outer; n++) for (let k = (n * channels + c) * inner, end = k + inner; k < end; k++) out[k] = dy![k]! * scale;
        } else {
          // dX = γ·σ⁻¹/m ⊙ (m·δ − Σδ − x̂ ⊙ Σ δ⊙x̂), where x̂ ⊙ Σ δ⊙x̂ = (x − μ)·σ⁻²·Σ δ⊙(x − μ).
          const scale = (gamma![c]! * inv) / count;
          const slope = dyDot * inv * inv;
          for (let n = 0; n < outer; n++) {
            for (let k = (n * channels + c) * inner, end = k + inner; k < end; k++) out[k] = scale * (count * dy![k]! - dySum - (x![k]! - mean) * slope);
          }
        }
      }
    };
  },
  formula: (attrs) => GRAD_FORMULAS[attrs.wrt],
  check: { skip: "a backward op, checked through batch_norm's gradient" },
});
