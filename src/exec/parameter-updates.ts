/**
 * Parameter updates as a backend runs them. An optimizer states its rule once per step as an Update (the
 * rule's name and scalars) and hands each parameter, its gradient and its state slots to the backend's
 * ParameterUpdates, which decides how to run it: the reference loops here, or on the WebAssembly backend
 * (src/exec/backends/wasm/updates.ts) one SIMD kernel call, shared with the worker thread for a big
 * parameter, on the same rule in float32 arithmetic.
 *
 * Every update first applies the decoupled weight decay, W ← W·decay (decay = 1 − α·λ), then the rule.
 */
import type { FloatArray } from "../ops/op.js";

/**
 * One step's rule, with its scalars already folded as the kernels take them. State slots, in order:
 *   sgd      [u] with momentum, [] without:  u ← μ·u + g;  W ← W − α·u     (W ← W − α·g without)
 *   adam     [m, v]:  m ← β₁m + (1−β₁)g;  v ← β₂v + (1−β₂)g²;  W ← W − stepSize·m/(√(c₂·v) + ε)
 *            (bias correction folded into stepSize = α·c₁ and c₂; both 1 without it)
 *   rmsprop  [s]:  s ← βs + (1−β)g²;  W ← W − α·g/√(s + ε)
 */
export type Update =
  | { kind: "sgd"; momentum: number; learningRate: number; decay: number }
  | { kind: "adam"; beta1: number; beta2: number; epsilon: number; stepSize: number; c2: number; decay: number }
  | { kind: "rmsprop"; beta: number; epsilon: number; learningRate: number; decay: number };

export interface ParameterUpdates {
  /**
   * Zeroed state for `slots`, one array per parameter size: in the backend's own memory when it has room
   * left there (then its fast update runs), plain arrays otherwise.
   */
  allocate(slots: readonly string[], sizes: readonly number[]): Record<string, Float32Array[]>;
  /** Updates w in place from g and its state slots (`index`: the parameter's place, for what the backend learns of it). */
  update(update: Update, index: number, w: FloatArray, g: FloatArray, state: readonly Float32Array[]): void;
  /** Ends a step's updates (waits for a part of the last one still running elsewhere, if any). */
  finish(): void;
  /**
   * Hands the state's memory back to the backend, so that the next optimizer over the same model gets it
   * (and the backend's fast update) as the first did. The state must not be used after.
   */
  release(): void;
}

/** The reference updates: plain loops in float64 arithmetic over any typed arrays. */
export function referenceUpdate(update: Update, w: FloatArray, g: FloatArray, state: readonly Float32Array[]): void {
  const decay = update.decay;
  if (decay !== 1) for (let i = 0; i < w.length; i++) w[i] = w[i]! * decay;
  switch (update.kind) {
    case "sgd": {
      const { momentum: mu, learningRate: lr } = update;
      if (mu === 0) {
        for (let i = 0; i < w.length; i++) w[i] = w[i]! - lr * g[i]!;
        return;
      }
      const u = state[0]!;
      for (let i = 0; i < w.length; i++) {
        u[i] = mu * u[i]! + g[i]!;
        w[i] = w[i]! - lr * u[i]!;
      }
      return;
    }
    case "adam": {
      const { beta1, beta2, epsilon, stepSize, c2 } = update;
      const [m, v] = state as [Float32Array, Float32Array];
      for (let i = 0; i < w.length; i++) {
        const gi = g[i]!;
        m[i] = beta1 * m[i]! + (1 - beta1) * gi;
        v[i] = beta2 * v[i]! + (1 - beta2) * gi * gi;
        w[i] = w[i]! - (stepSize * m[i]!) / (Math.sqrt(c2 * v[i]!) + epsilon);
      }
      return;
    }
    case "rmsprop": {
      const { beta, epsilon, learningRate: lr } = update;
      const s = state[0]!;
      for (let i = 0; i < w.length; i++) {
        const gi = g[i]!;
        s[i] = beta * s[i]! + (1 - beta) * gi * gi;
        w[i] = w[i]! - (lr * gi) / Math.sqrt(s[i]! + epsilon);
      }
    }
  }
}

/** The reference backend's ParameterUpdates: state in plain arrays, every update by referenceUpdate. */
export function referenceParameterUpdates(): ParameterUpdates {
  return {
    allocate: (slots, sizes) => Object.fromEntries(slots.map((name) => [name, sizes.map((n) => new Float32Array(n))])),
    update: (update, _index, w, g, state) => referenceUpdate(update, w, g, state),
    finish: () => {},
    release: () => {},
  };
}
