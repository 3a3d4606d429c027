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
 * An optimizer states its rule once per step (an Update: src/exec/parameter-updates.ts) and leaves how
 * to run it to the backend's ParameterUpdates, where its state lives too: on the WebAssembly backend, one
 * SIMD pass per parameter in the arena's memory, the same rule in float32 arithmetic; otherwise the
 * reference loops.
 */
import { referenceParameterUpdates, type ParameterUpdates, type Update } from "../exec/parameter-updates.js";
import { UserError } from "../graph/errors.js";
import type { OptimizerName } from "../graph/training.js";
import type { FloatArray } from "../ops/op.js";

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
  /**
   * Hands its state's memory back to the backend (ParameterUpdates.release), for the model's next
   * optimizer; the optimizer steps no more after.
   */
  release(): void;
}

/** An optimizer's state as a checkpoint keeps it. */
export interface SavedOptimizerState {
  readonly name: OptimizerName;
  readonly steps: number;
  readonly state: Readonly<Record<string, readonly ArrayLike<number>[]>>;
}

/** The state of every optimizer fits in this many times the parameters' elements (Adam's m and v). */
export const OPTIMIZER_STATE_FACTOR = 2;

/** `updates`: how the backend runs the updates (Executor.parameterUpdates); the reference loops by default. */
export function createOptimizer(settings: OptimizerSettings, sizes: readonly number[], updates: ParameterUpdates = referenceParameterUpdates()): Optimizer {
  switch (settings.optimizer) {
    case "sgd":
      return new Sgd(settings, sizes, updates);
    case "adam":
      return new Adam(settings, sizes, updates);
    case "rmsprop":
      return new RmsProp(settings, sizes, updates);
  }
}

abstract class BaseOptimizer implements Optimizer {
  abstract readonly name: OptimizerName;
  steps = 0;
  protected readonly slots: Record<string, Float32Array[]>;
  private released = false;
  /** Each parameter's state slots, in its rule's order (made once: a step allocates nothing). */
  private readonly stateOf: readonly Float32Array[][];

  constructor(
    protected readonly settings: OptimizerSettings,
    sizes: readonly number[],
    slotNames: readonly string[],
    private readonly updates: ParameterUpdates,
  ) {
    this.slots = updates.allocate(slotNames, sizes);
    this.stateOf = sizes.map((_, p) => slotNames.map((name) => this.slots[name]![p]!));
  }

  step(params: readonly FloatArray[], grads: readonly FloatArray[], learningRate: number): void {
    if (this.released) throw new Error(`this ${this.name} optimizer was released: its state is gone`);
    this.steps++;
    const update = this.stepUpdate(learningRate, 1 - learningRate * this.settings.weight_decay);
    for (let p = 0; p < params.length; p++) this.updates.update(update, p, params[p]!, grads[p]!, this.stateOf[p]!);
    this.updates.finish();
  }

  /** This step's rule, its scalars set (in an object made once), for `this.steps` steps taken. */
  protected abstract stepUpdate(learningRate: number, decay: number): Update;

  state(): Record<string, Float32Array[]> {
    return this.slots;
  }

  release(): void {
    this.released = true;
    this.updates.release();
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
  private readonly update = { kind: "sgd" as const, momentum: 0, learningRate: 0, decay: 1 };
  constructor(settings: OptimizerSettings, sizes: readonly number[], updates: ParameterUpdates) {
    super(settings, sizes, settings.momentum > 0 ? ["u"] : [], updates);
    this.update.momentum = settings.momentum;
  }
  protected stepUpdate(learningRate: number, decay: number): Update {
    this.update.learningRate = learningRate;
    this.update.decay = decay;
    return this.update;
  }
}

class Adam extends BaseOptimizer {
  readonly name = "adam";
  private readonly update = { kind: "adam" as const, beta1: 0, beta2: 0, epsilon: 0, stepSize: 0, c2: 1, decay: 1 };
  constructor(settings: OptimizerSettings, sizes: readonly number[], updates: ParameterUpdates) {
    super(settings, sizes, ["m", "v"], updates);
    Object.assign(this.update, { beta1: settings.beta1, beta2: settings.beta2, epsilon: settings.epsilon });
  }
  protected stepUpdate(learningRate: number, decay: number): Update {
    const { beta1, beta2, bias_correction } = this.settings;
    // Bias correction folds into two scalars: α·m̂/(√v̂ + ε) = (α·c₁)·m / (√(c₂·v) + ε).
    const c1 = bias_correction ? 1 / (1 - beta1 ** this.steps) : 1;
    const c2 = bias_correction ? 1 / (1 - beta2 ** this.steps) : 1;
    this.update.stepSize = learningRate * c1;
    this.update.c2 = c2;
    this.update.decay = decay;
    return this.update;
  }
}

class RmsProp extends BaseOptimizer {
  readonly name = "rmsprop";
  private readonly update = { kind: "rmsprop" as const, beta: 0, epsilon: 0, learningRate: 0, decay: 1 };
  constructor(settings: OptimizerSettings, sizes: readonly number[], updates: ParameterUpdates) {
    super(settings, sizes, ["s"], updates);
    Object.assign(this.update, { beta: settings.decay_rate, epsilon: settings.epsilon });
  }
  protected stepUpdate(learningRate: number, decay: number): Update {
    this.update.learningRate = learningRate;
    this.update.decay = decay;
    return this.update;
  }
}
