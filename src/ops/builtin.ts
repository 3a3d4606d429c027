/**
 * The built-in ops: the list the registry starts with (ops/registry.ts registers each through the same
 * `registerOp` call a user's module uses). This module only lists them; it registers nothing.
 */
import { add } from "./add.js";
import { constant } from "./constant.js";
import { crossEntropy, crossEntropyGrad } from "./cross_entropy.js";
import { dropout } from "./dropout.js";
import { input } from "./input.js";
import { matmul } from "./matmul.js";
import { mul } from "./mul.js";
import type { OpDefinition } from "./op.js";
import { parameter } from "./parameter.js";
import { relu, reluGrad } from "./relu.js";
import { sigmoid, sigmoidGrad } from "./sigmoid.js";
import { softmax, softmaxGrad } from "./softmax.js";
import { softmaxCrossEntropy, softmaxCrossEntropyGrad } from "./softmax_cross_entropy.js";
import { neg, sub } from "./sub.js";
import { broadcastTo, sumTo } from "./sum_to.js";
import { tanh, tanhGrad } from "./tanh.js";
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
