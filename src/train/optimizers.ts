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
 *
 * Given the WebAssembly arena of the training executor, an optimizer keeps its state in that memory and
 * updates each parameter in one SIMD pass there (asm/kernels.ts), the same rule in float32 arithmetic;
 * otherwise (or for parameters outside that memory) the plain loops below run.
 */
import type { WasmArena } from "../exec/backends/wasm/arena.js";
import { Split } from "../exec/backends/wasm/split.js";
import type { WasmKernels } from "../exec/backends/wasm/module.js";
import { JOB, type WasmPool } from "../exec/backends/wasm/pool.js";
import { UserError } from "../graph/errors.js";
import type { OptimizerName } from "../graph/training.js";
import type { FloatArray } from "../ops/op.js";

/** Parameters of at least this many values are updated in two parts, by the main thread and by the worker. */
const SPLIT_PARAMETER_ELEMENTS = 32_768;

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
  /** Takes up a saved state (from `source`, for messages); refused unless it is this optimizer's, slot for slot. */
  restore(saved: SavedOptimizerState, source: string): void;
}

/** An optimizer's state as a checkpoint keeps it. */
export interface SavedOptimizerState {
  readonly name: OptimizerName;
  readonly steps: number;
  readonly state: Readonly<Record<string, readonly ArrayLike<number>[]>>;
}

/** The state of every optimizer fits in this many times the parameters' elements (Adam's m and v). */
export const OPTIMIZER_STATE_FACTOR = 2;

export function createOptimizer(settings: OptimizerSettings, sizes: readonly number[], arena?: WasmArena): Optimizer {
  switch (settings.optimizer) {
    case "sgd":
      return new Sgd(settings, sizes, arena);
    case "adam":
      return new Adam(settings, sizes, arena);
    case "rmsprop":
      return new RmsProp(settings, sizes, arena);
  }
}

abstract class BaseOptimizer implements Optimizer {
  abstract readonly name: OptimizerName;
  steps = 0;
  protected readonly slots: Record<string, Float32Array[]>;

  /** The WebAssembly kernels, when the state lives in their memory. */
  protected readonly kernels: WasmKernels | undefined;
  protected readonly pool: WasmPool | undefined;
  private readonly buffer: ArrayBufferLike | undefined;

  constructor(
    protected readonly settings: OptimizerSettings,
    sizes: readonly number[],
    slotNames: readonly string[],
    arena?: WasmArena,
  ) {
    // The state goes into the arena's reserved region if it fits (a second optimizer over the same model,
    // say, finds it taken): then the WebAssembly update runs; otherwise the plain loops do.
    const needed = slotNames.length * sizes.reduce((sum, n) => sum + Math.ceil(n / 16) * 16, 0);
    const wasm = arena && arena.reservedLeft >= needed ? arena : undefined;
    this.kernels = wasm?.kernels;
    this.pool = wasm?.pool;
    this.buffer = wasm?.memory.buffer;
    this.slots = Object.fromEntries(slotNames.map((name) => [name, sizes.map((n) => (wasm ? wasm.reserve(n) : new Float32Array(n)))]));
  }

  step(params: readonly FloatArray[], grads: readonly FloatArray[], learningRate: number): void {
    this.steps++;
    const decay = 1 - learningRate * this.settings.weight_decay;
    for (let p = 0; p < params.length; p++) {
      const w = params[p]!;
      const g = grads[p]!;
      if (this.kernels && w.buffer === this.buffer && g.buffer === this.buffer) {
        this.fastUpdate(this.kernels, p, w, g, learningRate, decay);
        continue;
      }
      if (decay !== 1) for (let i = 0; i < w.length; i++) w[i] = w[i]! * decay;
      this.update(p, w, g, learningRate);
    }
    this.finishPending();
  }

  /** Ends the last big parameter's update: waits for the worker's part, if any (see Adam's fastUpdate). */
  protected finishPending(): void {}

  protected abstract update(index: number, w: FloatArray, g: FloatArray, learningRate: number): void;

  /** The same update, weight decay included, by the WebAssembly kernel, on parameters in its memory. */
  protected abstract fastUpdate(kernels: WasmKernels, index: number, w: FloatArray, g: FloatArray, learningRate: number, decay: number): void;

  state(): Record<string, Float32Array[]> {
    return this.slots;
  }

  restore(saved: SavedOptimizerState, source: string): void {
    const refuse = (problem: string) => new UserError(`${source}: ${problem}`);
    if (saved.name !== this.name) throw refuse(`holds the state of the ${saved.name} optimizer, but this run trains with ${this.name}.`);
    const slots = Object.keys(this.slots);
    const savedSlots = Object.keys(saved.state);
    if (savedSlots.length !== slots.length || !slots.every((slot) => savedSlots.includes(slot))) {
      const list = (names: string[]) => (names.length === 0 ? "none" : names.map((n) => `"${n}"`).join(", "));
      throw refuse(`holds ${this.name} state ${list(savedSlots)}, but this run's ${this.name} keeps ${list(slots)} (a setting such as momentum differs).`);
    }
    for (const [name, arrays] of Object.entries(this.slots)) {
      const values = saved.state[name]!;
      if (values.length !== arrays.length) throw refuse(`holds ${name} state for ${values.length} parameters; this run has ${arrays.length}.`);
      arrays.forEach((a, i) => {
        if (values[i]!.length !== a.length) throw refuse(`holds ${values[i]!.length} values of ${name} state for parameter ${i}, which has ${a.length}.`);
      });
    }
    for (const [name, arrays] of Object.entries(this.slots)) arrays.forEach((a, i) => a.set(saved.state[name]![i]!));
    this.steps = saved.steps;
  }
}

class Sgd extends BaseOptimizer {
  readonly name = "sgd";
  constructor(settings: OptimizerSettings, sizes: readonly number[], arena?: WasmArena) {
    super(settings, sizes, settings.momentum > 0 ? ["u"] : [], arena);
  }
  protected fastUpdate(kernels: WasmKernels, index: number, w: FloatArray, g: FloatArray, lr: number, decay: number): void {
    const mu = this.settings.momentum;
    kernels.sgd(w.byteOffset, g.byteOffset, mu === 0 ? 0 : this.slots.u![index]!.byteOffset, w.length, mu, lr, decay);
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
  /** For each big parameter, whether and where its update is cut between the threads. */
  private readonly splits: (Split | undefined)[] = [];
  /** The Split of the last big parameter's update, until it is finished: and whether it was shared. */
  private pending: Split | undefined;
  private pendingShared = false;
  constructor(settings: OptimizerSettings, sizes: readonly number[], arena?: WasmArena) {
    super(settings, sizes, ["m", "v"], arena);
  }
  protected fastUpdate(kernels: WasmKernels, index: number, w: FloatArray, g: FloatArray, lr: number, decay: number): void {
    const { beta1, beta2, epsilon, bias_correction } = this.settings;
    const c1 = bias_correction ? 1 / (1 - beta1 ** this.steps) : 1;
    const c2 = bias_correction ? 1 / (1 - beta2 ** this.steps) : 1;
    const pw = w.byteOffset;
    const pg = g.byteOffset;
    const pm = this.slots.m![index]!.byteOffset;
    const pv = this.slots.v![index]!.byteOffset;
    const n = w.length;
    if (!this.pool || n < SPLIT_PARAMETER_ELEMENTS) {
      kernels.adam(pw, pg, pm, pv, n, beta1, 1 - beta1, beta2, 1 - beta2, epsilon, lr * c1, c2, decay);
      return;
    }
    // A big parameter: the worker updates its tail (from a multiple of 4, for the SIMD loop) while this
    // thread updates the head and then the parameters after it; the step waits for the worker's part at
    // its end. Whether to share it and where the tail starts are learned (a Split, which times the update
    // with the parameters after it, shared or not), so that both threads end together — learned whatever
    // the size (unlike the kernels' Splits, LEARN_CUT_MIN_ELEMENTS): this thread's part always has the
    // parameters after it to do as well. Each element is updated as by one thread.
    this.finishPending();
    const split = (this.splits[index] ??= new Split(n, 4, true, undefined, this.pool.alwaysShares));
    const h = split.cut;
    const o = 4 * h;
    const started =
      split.begin() && this.pool.start(JOB.adam, pw + o, pg + o, pm + o, pv + o, n - h, beta1, 1 - beta1, beta2, 1 - beta2, epsilon, lr * c1, c2, decay);
    kernels.adam(pw, pg, pm, pv, started ? h : n, beta1, 1 - beta1, beta2, 1 - beta2, epsilon, lr * c1, c2, decay);
    this.pending = split;
    this.pendingShared = started;
  }
  protected override finishPending(): void {
    const split = this.pending;
    if (!split) return;
    this.pending = undefined;
    split.end(this.pool, this.pendingShared);
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
  constructor(settings: OptimizerSettings, sizes: readonly number[], arena?: WasmArena) {
    super(settings, sizes, ["s"], arena);
  }
  protected fastUpdate(kernels: WasmKernels, index: number, w: FloatArray, g: FloatArray, lr: number, decay: number): void {
    const { decay_rate: beta, epsilon } = this.settings;
    kernels.rmsprop(w.byteOffset, g.byteOffset, this.slots.s![index]!.byteOffset, w.length, beta, 1 - beta, epsilon, lr, decay);
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
