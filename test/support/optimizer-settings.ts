import type { OptimizerSettings } from "../../src/train/optimizers.js";

/** The report's Adam (Table 3: β₁ 0.9, β₂ 0.999, ε 1e-8, no bias correction), for tests to vary. */
export const REPORT_ADAM: OptimizerSettings = Object.freeze({
  optimizer: "adam",
  beta1: 0.9,
  beta2: 0.999,
  epsilon: 1e-8,
  decay_rate: 0.9,
  momentum: 0,
  bias_correction: false,
  weight_decay: 0,
});
