/**
 * Seeded randomness for everything that is not a dropout mask: weight initialisation, shuffles,
 * augmentation. One generator (xoroshiro128+, from pure-rand) per purpose and seed, so that a run is
 * reproducible bit for bit.
 */
import { uniformFloat64 } from "pure-rand/distribution/uniformFloat64";
import { xoroshiro128plus, xoroshiro128plusFromState } from "pure-rand/generator/xoroshiro128plus";

export class Random {
  private readonly rng;
  private spareNormal: number | null = null;

  constructor(seed: number | readonly number[]) {
    this.rng = typeof seed === "number" ? xoroshiro128plus(seed) : xoroshiro128plusFromState(seed);
  }

  /** Uniform in [0, 1). */
  uniform(): number {
    return uniformFloat64(this.rng);
  }

  /** Standard normal, by the Box–Muller transform (two values per pair of uniforms). */
  normal(): number {
    if (this.spareNormal !== null) {
      const z = this.spareNormal;
      this.spareNormal = null;
      return z;
    }
    const u = 1 - this.uniform(); // in (0, 1]: log(u) is finite
    const v = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spareNormal = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.uniform() * n);
  }

  /** Fisher–Yates shuffle in place. */
  shuffle<T extends { length: number; [i: number]: number }>(array: T): T {
    for (let i = array.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = array[i]!;
      array[i] = array[j]!;
      array[j] = t;
    }
    return array;
  }

  /** The generator's state, to checkpoint and resume a run. */
  state(): number[] {
    return [...this.rng.getState()];
  }
}

/**
 * A counter-based hash to [0, 1): the same (seed, stream, step, index) always gives the same number,
 * with no state to carry. Dropout draws its mask from it, so the backward pass regenerates the forward
 * pass's mask instead of storing it.
 */
export function hashUniform(seed: number, stream: number, step: number, index: number): number {
  let h = mix32(seed ^ 0x9e3779b9);
  h = mix32(h ^ stream);
  h = mix32(h ^ step);
  h = mix32(h ^ index);
  return (h >>> 8) / 16777216; // 24 bits: exact in float32 as well
}

/** A 32-bit string hash (FNV-1a), to turn a node id into a stream number. */
export function hashString(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** The finaliser of MurmurHash3: a bijection on 32-bit integers that mixes every input bit into every output bit. */
function mix32(x: number): number {
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  // As a signed 32-bit integer: the same bits as the unsigned value, and V8 keeps it unboxed between calls.
  return x ^ (x >>> 16);
}
