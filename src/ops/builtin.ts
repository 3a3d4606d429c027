/**
 * The built-in ops: the list the registry starts with (ops/registry.ts registers each through the same
 * `registerOp` call a user's module uses). This module only lists them; it registers nothing.
 */
import { add } from "./add.js";
import { batchNorm, batchNormGrad } from "./batch_norm.js";
import { constant } from "./constant.js";
import { conv2d, conv2dGradFilter, conv2dGradInput } from "./conv2d.js";
import { crossEntropy, crossEntropyGrad } from "./cross_entropy.js";
import { dropout } from "./dropout.js";
import { input } from "./input.js";
import { layerNorm, layerNormGrad } from "./layer_norm.js";
import { matmul } from "./matmul.js";
import { mul } from "./mul.js";
import type { OpDefinition } from "./op.js";
import { parameter } from "./parameter.js";
import { relu, reluGrad } from "./relu.js";
import { sigmoid, sigmoidGrad } from "./sigmoid.js";
import { softmax, softmaxGrad } from "./softmax.js";
import { softmaxCrossEntropy, softmaxCrossEntropyGrad } from "./softmax_cross_entropy.js";
import { state } from "./state.js";
import { neg, sub } from "./sub.js";
import { broadcastTo, sumTo } from "./sum_to.js";
import { tanh, tanhGrad } from "./tanh.js";
import { avgPool2d, avgPool2dGrad } from "./avg_pool2d.js";
import { globalAvgPool, globalAvgPoolGrad } from "./global_avg_pool.js";
import { maxPool2d, maxPool2dGrad } from "./max_pool2d.js";
import { concat } from "./concat.js";
import { flatten } from "./flatten.js";
import { reshape } from "./reshape.js";
import { slice, sliceGrad } from "./slice.js";
import { transpose } from "./transpose.js";
// Reductions, elementwise maths and activations (issue 13).
import { abs, sign } from "./abs.js";
import { div } from "./div.js";
import { exp } from "./exp.js";
import { gelu, geluGrad } from "./gelu.js";
import { leakyRelu, leakyReluGrad } from "./leaky_relu.js";
import { log } from "./log.js";
import { logSoftmax } from "./log_softmax.js";
import { maximum, maximumMask, minimum } from "./maximum.js";
import { pow } from "./pow.js";
import { mean, meanGrad, sum, sumGrad } from "./reduce.js";
import { softplus } from "./softplus.js";
import { sqrt } from "./sqrt.js";

export const BUILTIN_OPS: readonly OpDefinition<any>[] = [
  input,
  parameter,
  constant,
  matmul,
  add,
  sub,
  neg,
  mul,
  relu,
  reluGrad,
  sigmoid,
  sigmoidGrad,
  tanh,
  tanhGrad,
  softmax,
  softmaxGrad,
  crossEntropy,
  crossEntropyGrad,
  softmaxCrossEntropy,
  softmaxCrossEntropyGrad,
  dropout,
  sumTo,
  broadcastTo,
  // Convolutions, pooling and the shape ops (issue 13).
  conv2d,
  conv2dGradInput,
  conv2dGradFilter,
  maxPool2d,
  maxPool2dGrad,
  avgPool2d,
  avgPool2dGrad,
  globalAvgPool,
  globalAvgPoolGrad,
  reshape,
  flatten,
  transpose,
  concat,
  slice,
  sliceGrad,
  // Normalisation, and the non-trainable state batch_norm updates.
  state,
  batchNorm,
  batchNormGrad,
  layerNorm,
  layerNormGrad,
  // Reductions, elementwise maths and activations (issue 13).
  sum,
  sumGrad,
  mean,
  meanGrad,
  exp,
  log,
  div,
  sqrt,
  abs,
  sign,
  pow,
  maximum,
  minimum,
  maximumMask,
  leakyRelu,
  leakyReluGrad,
  gelu,
  geluGrad,
  softplus,
  logSoftmax,
];
