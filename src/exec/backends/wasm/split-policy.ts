/**
 * The split policy: which kernels the main thread shares with the worker thread, and where their parts
 * are cut when the cut is not learned. Every size threshold lives here; how a shared run is carried out
 * is src/exec/backends/wasm/share.ts, and how a Split learns whether and where to share is split.ts.
 *
 * Why thresholds at all: a hand-over costs a few cache-line trips between the cores (more when the
 * cores are far apart, as on a shared host). A part must be several times that long for sharing to have
 * a chance to pay, and a Split that never could pay still times its runs and tries sharing now and then,
 * which costs a small kernel more than it could save. Below its threshold a kernel is built without a
 * Split and runs on the main thread alone, bit for bit as it would shared.
 */
import { Split } from "./split.js";
import type { WasmPool } from "./pool.js";

/**
 * Products of at least this many multiply-adds are shared. A multiply-add is the cheapest unit of work
 * of all the kernels (SIMD, operands in cache), so this is the largest threshold in count; below it a
 * product's part takes about as long as handing it over.
 */
export const SPLIT_MACS = 100_000;

/**
 * Elementwise kernels (relu, tanh, their gradients, an add, a bias add or sum, the fill of a batch, a
 * fed batch's partial sums added up) over at least this many values are shared: each value costs a load
 * or two and a store, so a part needs many of them to outweigh a hand-over.
 */
export const SPLIT_ELEMENTS = 16_384;

/**
 * Softmax's kernels (the probabilities, the cross-entropy, its gradient, and the three fused) over at
 * least this many values are shared: each value costs an exponential, several times an elementwise
 * value's work, so a smaller count makes a part worth handing over.
 */
export const SPLIT_SOFTMAX_ELEMENTS = 2_048;

/**
 * Parameters of at least this many values are updated in two parts (Adam). An update reads and writes
 * four arrays per value; and the main thread goes on with the parameters after it while the worker runs
 * its part (the update is finished later), so a part costs the main thread less than a kernel's does.
 */
export const SPLIT_PARAMETER_ELEMENTS = 32_768;

/**
 * Kernels with less work than this (multiply-adds or values) keep their cut in the middle: their parts
 * take a few microseconds, too little for the two threads' own timings to say where the cut belongs (a
 * hand-over or a cache miss outweighs the work, and a cut learned from such noise can leave one thread
 * most of the rows). A parameter's update learns its cut whatever its size: the main thread's part has
 * the parameters after it to do as well, which the middle does not account for.
 */
export const LEARN_CUT_MIN_ELEMENTS = 1_000_000;

/**
 * A product of a fed batch (a first layer, x·W) with at least this many features is computed as two
 * partial sums over its features, whether or not it is shared (see kernels.ts fedBatchProduct): each
 * part must cover whole 16-float cache lines of a row, and enough of them to be worth a part.
 */
export const FED_SPLIT_MIN_FEATURES = 64;

/**
 * A fed batch of at most this many rows is shared between the threads by its features (each thread
 * reads the half of W its part of the weight gradient writes); a bigger one by its rows (the partial
 * sums, which grow with the batch, would otherwise cross between the threads, and they then outweigh W).
 * ResidentDataset.fill cuts a batch the same way, so that each thread reads the part of x it wrote.
 */
export const FEATURE_SPLIT_MAX_ROWS = 128;

/** Whether a fed batch of `rows` rows is shared by its features (else by its rows): see FEATURE_SPLIT_MAX_ROWS. */
export function sharedByFeatures(rows: number): boolean {
  return rows <= FEATURE_SPLIT_MAX_ROWS;
}

/**
 * Where a fed batch's features are cut between the threads: a multiple of 16, so that (when the row
 * length is a multiple of 16 too, as MNIST's 784) each thread's part of a row of float32 values starts
 * on a cache line of its own and the threads, filling their parts, do not write the same line.
 */
export function featureCut(features: number): number {
  return Math.floor(features / 32) * 16;
}

/**
 * Where a kernel whose parts are fixed by what it computes (the loss summed in two halves) cuts its
 * `units` rows: the main thread takes [0, h), the other part [h, units); h is a multiple of 4 (the SIMD
 * loops' step).
 */
export function splitPoint(units: number): number {
  return Math.floor(units / 8) * 4;
}

/**
 * The rule for a kernel whose every output element is computed the same way wherever the cut falls:
 * a Split of `units` (elements or rows, cut at multiples of `block`) for a kernel with `work` multiply-adds
 * or values, or undefined (the main thread alone) without a worker, below `threshold` (one of the
 * SPLIT_ constants above), or with fewer than two blocks. Its cut is learned only from
 * LEARN_CUT_MIN_ELEMENTS on.
 */
export function splitFor(units: number, block: number, work: number, threshold: number, pool: WasmPool | undefined): Split | undefined {
  if (!pool || work < threshold || units < 2 * block) return undefined;
  return new Split(units, block, work >= LEARN_CUT_MIN_ELEMENTS, undefined, pool.alwaysShares);
}

/**
 * The rule for a kernel whose parts are fixed (the loss's two halves, a fed batch's two partial sums, a
 * fill cut where the product cuts its batch): Split.whether() — whether to share, never where — or
 * undefined (the main thread alone) without a worker or below `threshold`.
 */
export function shareFor(work: number, threshold: number, pool: WasmPool | undefined): Split | undefined {
  return pool && work >= threshold ? Split.whether(pool.alwaysShares) : undefined;
}

/** The rule for a parameter's update of `elements` values: a Split that learns its cut (see LEARN_CUT_MIN_ELEMENTS), from SPLIT_PARAMETER_ELEMENTS on. */
export function parameterSplit(elements: number, pool: WasmPool | undefined): Split | undefined {
  if (!pool || elements < SPLIT_PARAMETER_ELEMENTS) return undefined;
  return new Split(elements, 4, true, undefined, pool.alwaysShares);
}

/**
 * The rule for filling a batch of `rows` × `features` (ResidentDataset.fill): shared from SPLIT_ELEMENTS
 * values on, cut as a first layer's product cuts the batch (sharedByFeatures): by features at featureCut
 * (which needs 32 features for a part of 16 each), or by rows at the middle row (the rows cost the same,
 * and a fill is too short to learn from). Undefined: the main thread alone.
 */
export function fillSplit(rows: number, features: number, pool: WasmPool | undefined): Split | undefined {
  if (!pool || rows * features < SPLIT_ELEMENTS) return undefined;
  if (sharedByFeatures(rows)) return features >= 32 ? Split.whether(pool.alwaysShares) : undefined;
  return rows >= 2 ? new Split(rows, 1, false, undefined, pool.alwaysShares) : undefined;
}
