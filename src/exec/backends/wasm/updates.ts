/**
 * The WebAssembly backend's ParameterUpdates: optimizer state in the arena's reserved region, each
 * parameter updated by one SIMD kernel call (asm/kernels.ts), the same rule in float32 arithmetic; a big
 * parameter's Adam update shared with the worker thread. Parameters outside the arena's memory, or state
 * that found no room there, fall back to the reference loops.
 */
import type { FloatArray } from "../../../ops/op.js";
import { referenceUpdate, type ParameterUpdates, type Update } from "../../parameter-updates.js";
import type { WasmArena } from "./arena.js";
import { SharedCall } from "./share.js";
import { parameterSplit } from "./split-policy.js";

export function wasmParameterUpdates(arena: WasmArena): ParameterUpdates {
  return new WasmParameterUpdates(arena);
}

class WasmParameterUpdates implements ParameterUpdates {
  /** Whether the state went into the arena (a second optimizer over the same model, say, finds it taken). */
  private inArena = false;
  /** The reserved region the state took, [from, to) in bytes, to hand back on release. */
  private from = 0;
  private to = 0;
  /** For each parameter, its Adam update (shared with the worker if it is big: split-policy.ts parameterSplit), made at its first update. */
  private readonly adamCalls: SharedCall[] = [];
  /** The last big parameter's update, until it is finished. */
  private pending: SharedCall | undefined;

  constructor(private readonly arena: WasmArena) {}

  allocate(slots: readonly string[], sizes: readonly number[]): Record<string, Float32Array[]> {
    const needed = slots.length * sizes.reduce((sum, n) => sum + Math.ceil(n / 16) * 16, 0);
    this.inArena = this.arena.reservedLeft >= needed;
    this.from = this.arena.reservedMark;
    const state = Object.fromEntries(slots.map((name) => [name, sizes.map((n) => (this.inArena ? this.arena.reserve(n) : new Float32Array(n)))]));
    this.to = this.arena.reservedMark;
    return state;
  }

  release(): void {
    this.finish();
    // Handed back only while it is the latest reservation: memory reserved after it stays its owner's.
    if (this.inArena && this.arena.reservedMark === this.to) this.arena.releaseFrom(this.from);
    this.inArena = false;
  }

  update(update: Update, index: number, w: FloatArray, g: FloatArray, state: readonly Float32Array[]): void {
    const buffer = this.arena.memory.buffer;
    if (!this.inArena || w.buffer !== buffer || g.buffer !== buffer) {
      referenceUpdate(update, w, g, state);
      return;
    }
    const { kernels } = this.arena;
    const [pw, pg, n] = [w.byteOffset, g.byteOffset, w.length];
    switch (update.kind) {
      case "sgd": {
        const mu = update.momentum;
        kernels.sgd(pw, pg, mu === 0 ? 0 : state[0]!.byteOffset, n, mu, update.learningRate, update.decay);
        return;
      }
      case "rmsprop": {
        const { beta, epsilon, learningRate, decay } = update;
        kernels.rmsprop(pw, pg, state[0]!.byteOffset, n, beta, 1 - beta, epsilon, learningRate, decay);
        return;
      }
      case "adam":
        this.adam(update, index, pw, pg, state[0]!.byteOffset, state[1]!.byteOffset, n);
    }
  }

  private adam(update: Update & { kind: "adam" }, index: number, pw: number, pg: number, pm: number, pv: number, n: number): void {
    const { beta1, beta2, epsilon, stepSize, c2, decay } = update;
    // adam(w, g, m, v, len, beta1, 1 − beta1, beta2, 1 − beta2, epsilon, stepSize, c2, decay)
    const call = (this.adamCalls[index] ??= new SharedCall(this.arena, "adam", parameterSplit(n, this.arena.pool), {
      count: 4,
      perUnit: { 0: 4, 1: 4, 2: 4, 3: 4 },
    }));
    if (!call.mayShare) {
      call.run(pw, pg, pm, pv, n, beta1, 1 - beta1, beta2, 1 - beta2, epsilon, stepSize, c2, decay);
      return;
    }
    // A big parameter: the worker updates its tail (from a multiple of 4, for the SIMD loop) while this
    // thread updates the head and then the parameters after it; the step waits for the worker's part at
    // its end (finish). Whether to share it and where the tail starts are learned (its Split times the
    // update with the parameters after it, shared or not), so that both threads end together. Each
    // element is updated as by one thread.
    this.finish();
    call.begin(pw, pg, pm, pv, n, beta1, 1 - beta1, beta2, 1 - beta2, epsilon, stepSize, c2, decay);
    this.pending = call;
  }

  finish(): void {
    const call = this.pending;
    if (!call) return;
    this.pending = undefined;
    call.finish();
  }
}
