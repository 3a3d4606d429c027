/**
 * What a backend does with batches of a dataset, around the plan's run: fill the fed values (features and
 * one-hot labels) in place, and count the rows it classified right. The reference ("ts") way is here;
 * the WebAssembly backend's (src/exec/backends/wasm/batch.ts) gives the same values bit for bit, and the
 * executor hands out the one of its backend, so that training never asks which backend it runs on.
 */
import { fillBatch } from "../data/batch.js";
import type { FloatArray } from "../ops/op.js";

/** Labelled samples, the way a backend reads them (src/data's Dataset is one): pictures as bytes, or numbers as given. */
export interface Samples {
  /** Row-major, `count × features`, scaled by 1/255 into a batch; empty when `values` holds the features. */
  readonly images: Uint8Array;
  /**
   * For images not read yet (src/data/deferred-bytes.ts): reads them straight into target[offset …) rather
   * than into an array of their own, and `images` is that view from then on. A backend that keeps the
   * dataset in its own memory calls it instead of copying `images` there.
   */
  readonly placeImages?: (target: Uint8Array, offset: number) => void;
  /** Features that are not pictures (a table's), `count × features`, copied into a batch as they are. */
  readonly values?: Float64Array;
  /** One class index per sample. */
  readonly labels: Uint8Array;
  readonly count: number;
  readonly features: number;
  /** One more than the largest label. */
  readonly classes: number;
}

export interface Batches {
  /**
   * Writes samples order[start … start+rows) of `data` into x (rows × features) and, unless it is null,
   * their one-hot labels into y (rows × classes): views into the executor's arena.
   */
  fill(data: Samples, order: ArrayLike<number>, start: number, rows: number, x: FloatArray, y: FloatArray | null, classes: number): void;
  /** Rows of `probs` whose most probable class (the first of equal ones) is the one `labels` marks with 1. */
  countCorrect(probs: FloatArray, labels: FloatArray, rows: number, classes: number): number;
}

/** The index of the largest of values[offset … offset+k) (the first of equal ones). */
export function argmax(values: FloatArray, offset: number, k: number): number {
  let best = 0;
  for (let j = 1; j < k; j++) if (values[offset + j]! > values[offset + best]!) best = j;
  return best;
}

/** The reference backend's batches: JavaScript loops over plain typed arrays. */
export const referenceBatches: Batches = {
  fill: fillBatch,
  countCorrect(probs, labels, rows, k) {
    let correct = 0;
    for (let r = 0; r < rows; r++) if (labels[r * k + argmax(probs, r * k, k)] === 1) correct++;
    return correct;
  },
};
