/**
 * Optimizers: update rules applied to each parameter from its gradient, exactly as the report writes
 * them. Each keeps its state (moments) in float32 arrays shaped like the parameters, allocated once;
 * a step allocates nothing.
 *
 *   SGD       W ← W − α·g                      (with momentum μ: u ← μ·u + g;  W ← W − α·u)
 *   Adam      m ← β₁m + (1−β₁)g;  v ← β₂v + (1−β₂)g²;  W ← W − α·m/(√v + ε)
 *             (with bias correction: m̂ = m/(1−β₁ᵗ), v̂ = v/(1−β₂ᵗ), W ← W − α·m̂/(√v̂ + ε))
 *   RMSprop   s ← βs + (1−β)g²;  W ← W − α·g/√(s + ε)       (ε inside the root, as in the report)
 *
 * Weight decay, when set, is decoupled (as in AdamW): W ← W − α·λ·W, before the rule's own update.
 */
import type { FloatArray } from "../ops/op.js";

export type OptimizerName = "sgd" | "adam" | "rmsprop";

export interface OptimizerSettings {
  readonly optimizer: OptimizerName;
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;
  /** RMSprop's β. */
  readonly decay_rate: number;
  readonly momentum: number;
  readonly bias_correction: boolean;
  readonly weight_decay: number;
}

export interface Optimizer {
  readonly name: OptimizerName;
  /** Updates every parameter in place from its gradient, with the given learning rate. */
  step(params: readonly FloatArray[], grads: readonly FloatArray[], learningRate: number): void;
  /** Steps taken so far (t in Adam's bias correction). */
  readonly steps: number;
  /** The state, by name ("m", "v", "s", "u") then parameter index, to checkpoint and restore. */
  state(): Record<string, Float32Array[]>;
  restore(state: Record<string, readonly ArrayLike<number>[]>, steps: number): void;
}

export function createOptimizer(settings: OptimizerSettings, sizes: readonly number[]): Optimizer {
  switch (settings.optimizer) {
    case "sgd":
      return new Sgd(settings, sizes);
    case "adam":
      return new Adam(settings, sizes);
    case "rmsprop":
      return new RmsProp(settings, sizes);
  }
}

abstract class BaseOptimizer implements Optimizer {
  abstract readonly name: OptimizerName;
  steps = 0;
  protected readonly slots: Record<string, Float32Array[]>;

  constructor(
    protected readonly settings: OptimizerSettings,
    sizes: readonly number[],
    slotNames: readonly string[],
  ) {
    this.slots = Object.fromEntries(slotNames.map((name) => [name, sizes.map((n) => new Float32Array(n))]));
  }

  step(params: readonly FloatArray[], grads: readonly FloatArray[], learningRate: number): void {
    this.steps++;
    const decay = 1 - learningRate * this.settings.weight_decay;
    for (let p = 0; p < params.length; p++) {
      const w = params[p]!;
      if (decay !== 1) for (let i = 0; i < w.length; i++) w[i] = w[i]! * decay;
      this.update(p, w, grads[p]!, learningRate);
    }
  }

  protected abstract update(index: number, w: FloatArray, g: FloatArray, learningRate: number): void;

  state(): Record<string, Float32Array[]> {
    return this.slots;
  }

  restore(state: Record<string, readonly ArrayLike<number>[]>, steps: number): void {
    for (const [name, arrays] of Object.entries(this.slots)) {
      const saved = state[name];
      if (!saved || saved.length !== arrays.length) throw new Error(`optimizer state "${name}" is missing or has the wrong number of parameters`);
      arrays.forEach((a, i) => {
        if (saved[i]!.length !== a.length) throw new Error(`optimizer state "${name}" of parameter ${i} has ${saved[i]!.length} values, expected ${a.length}`);
        a.set(saved[i]!);
      });
    }
    this.steps = steps;
  }
}

class Sgd extends BaseOptimizer {
  readonly name = "sgd";
  constructor(settings: OptimizerSettings, sizes: readonly number[]) {
    super(settings, sizes, settings.momentum > 0 ? ["u"] : []);
  }
  protected update(index: number, w: FloatArray, g: FloatArray, lr: number): void {
    const mu = this.settings.momentum;
    if (mu === 0) {
      for (let i = 0; i < w.length; i++) w[i] = w[i]! - lr * g[i]!;
      return;
    }
    const u = this.slots.u![index]!;
    for (let i = 0; i < w.length; i++) {
      u[i] = mu * u[i]! + g[i]!;
      w[i] = w[i]! - lr * u[i]!;
    }
  }
}

class Adam extends BaseOptimizer {
  readonly name = "adam";
  constructor(settings: OptimizerSettings, sizes: readonly number[]) {
    super(settings, sizes, ["m", "v"]);
  }
  protected update(index: number, w: FloatArray, g: FloatArray, lr: number): void {
    const { beta1, beta2, epsilon, bias_correction } = this.settings;
    const m = this.slots.m![index]!;
    const v = this.slots.v![index]!;
    // Bias correction folds into two scalars: α·m̂/(√v̂ + ε) = (α·c₁)·m / (√(c₂·v) + ε).
    const c1 = bias_correction ? 1 / (1 - beta1 ** this.steps) : 1;
    const c2 = bias_correction ? 1 / (1 - beta2 ** this.steps) : 1;
    const stepSize = lr * c1;
    for (let i = 0; i < w.length; i++) {
      const gi = g[i]!;
      m[i] = beta1 * m[i]! + (1 - beta1) * gi;
      v[i] = beta2 * v[i]! + (1 - beta2) * gi * gi;
      w[i] = w[i]! - (stepSize * m[i]!) / (Math.sqrt(c2 * v[i]!) + epsilon);
    }
  }
}

class RmsProp extends BaseOptimizer {
  readonly name = "rmsprop";
  constructor(settings: OptimizerSettings, sizes: readonly number[]) {
    super(settings, sizes, ["s"]);
  }
  protected update(index: number, w: FloatArray, g: FloatArray, lr: number): void {
    const { decay_rate: beta, epsilon } = this.settings;
    const s = this.slots.s![index]!;
    for (let i = 0; i < w.length; i++) {
      const gi = g[i]!;
      s[i] = beta * s[i]! + (1 - beta) * gi * gi;
      w[i] = w[i]! - (lr * gi) / Math.sqrt(s[i]! + epsilon);
    }
  }
}
