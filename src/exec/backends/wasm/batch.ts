/**
 * Filling a batch on the wasm backend: the same values as src/data/batch.ts's fillBatch (bytes·(1/255),
 * rounded once to float32; one-hot labels), with the images' bytes copied into the arena's scratch space
 * and scaled there by one WebAssembly call instead of a JavaScript loop over every pixel.
 */
import type { FloatArray } from "../../../ops/op.js";
import type { Batches, Samples } from "../../batches.js";
import type { WasmArena } from "./arena.js";
import { featureCut, FEATURE_SPLIT_MAX_ROWS, SPLIT_ELEMENTS } from "./kernels.js";
import { Split } from "./split.js";
import { JOB } from "./pool.js";

/** Writes samples order[start … start+rows) into x (rows × features, a view into `arena`) and y. */
export function fillBatchInPlace(
  arena: WasmArena,
  data: Samples,
  order: ArrayLike<number>,
  start: number,
  rows: number,
  x: FloatArray,
  y: FloatArray | null,
  classes: number,
): void {
  const f = data.features;
  const bytes = arena.bytes;
  const staging = arena.scratch;
  for (let r = 0; r < rows; r++) {
    const sample = order[start + r]!;
    bytes.set(data.images.subarray(sample * f, (sample + 1) * f), staging + r * f);
    if (y) {
      y.fill(0, r * classes, (r + 1) * classes);
      y[r * classes + data.labels[sample]!] = 1;
    }
  }
  // bytes / 255 in float32 is, for every byte, the reference's bytes·(1/255) in float64 rounded once.
  arena.kernels.scaleBytes(staging, x.byteOffset, rows * f, 255);
}

/**
 * The wasm backend's Batches on `arena`: a batch of `resident`'s dataset gathered by its kernel call, of
 * any other dataset copied in by fillBatchInPlace; right answers counted by a kernel.
 */
export function wasmBatches(arena: WasmArena, resident: ResidentDataset | undefined): Batches {
  return {
    fill(data, order, start, rows, x, y, classes) {
      if (resident?.data === data) resident.fill(order, start, rows, x, y, classes);
      else fillBatchInPlace(arena, data, order, start, rows, x, y, classes);
    },
    countCorrect: (probs, labels, rows, classes) => arena.kernels.countCorrect(probs.byteOffset, labels.byteOffset, rows, classes),
  };
}

/** Datasets larger than this stay in JavaScript memory (filled by fillBatchInPlace): the copy would cost too much memory. */
export const RESIDENT_DATASET_MAX_BYTES = 1 << 30;

/**
 * A dataset copied once into the training arena's WebAssembly memory, so that a batch is gathered and
 * scaled by one kernel call (split with the worker thread when there is one), with no JavaScript copy per
 * sample: copying sample by sample from JavaScript pays a call's overhead for each one, which adds up to
 * a noticeable share of a step. The values are fillBatch's, bit for bit.
 */
export class ResidentDataset {
  private readonly images: number;
  private readonly labels: number;
  private readonly indices: Uint32Array;
  private readonly splits = new Map<number, Split>();

  /** Float32 slots to reserve in the arena for `data` and batches of up to `maxRows`. */
  static reservedElements(data: Samples, maxRows: number): number {
    return Math.ceil(data.images.length / 4) + Math.ceil(data.labels.length / 4) + maxRows + 48; // + alignment
  }

  constructor(
    private readonly arena: WasmArena,
    readonly data: Samples,
    private readonly maxRows: number,
  ) {
    const region = (bytes: Uint8Array) => {
      const offset = arena.reserve(Math.ceil(bytes.length / 4)).byteOffset;
      arena.bytes.set(bytes, offset);
      return offset;
    };
    this.images = region(data.images);
    this.labels = region(data.labels);
    this.indices = new Uint32Array(arena.memory.buffer, arena.reserve(maxRows).byteOffset, maxRows);
  }

  /** The Split of batches of `rows` rows: whether to share the fill (its cut fixed: features, or the middle row). */
  private splitOf(rows: number, byFeatures: boolean): Split {
    let split = this.splits.get(rows);
    const always = this.arena.pool?.alwaysShares ?? false;
    if (!split) this.splits.set(rows, (split = byFeatures ? Split.whether(always) : new Split(rows, 1, false, undefined, always)));
    return split;
  }

  /** fillBatchInPlace's contract, for this dataset; rows at most the maxRows it was made for. */
  fill(order: ArrayLike<number>, start: number, rows: number, x: FloatArray, y: FloatArray | null, classes: number): void {
    // The kernel writes and reads where these say, unchecked: check them here, as the JavaScript fill's
    // typed arrays would.
    const features = this.data.features;
    if (rows > this.maxRows) throw new Error(`a resident dataset fills at most ${this.maxRows} rows, not ${rows}`);
    if (x.length < rows * features) throw new Error(`x holds ${x.length} values, not the ${rows} × ${features} of the batch`);
    if (y && (y.length < rows * classes || this.data.classes > classes)) {
      throw new Error(`y (${y.length} values, ${classes} classes) cannot take ${rows} one-hot labels of ${this.data.classes} classes`);
    }
    const count = this.data.count;
    for (let r = 0; r < rows; r++) {
      const sample = order[start + r]!;
      if (!(sample >= 0 && sample < count)) throw new Error(`sample index ${sample} (row ${r} of the batch) is outside the dataset's ${count} samples`);
      this.indices[r] = sample;
    }
    const { kernels, pool } = this.arena;
    const [pi, px, py] = [this.indices.byteOffset, x.byteOffset, y ? y.byteOffset : 0];
    // Cut as a first layer's product shares the batch (fedBatchProduct), so that each thread reads the
    // part of x it wrote itself: by features (featureCut; the main thread [0, h) and the labels, the
    // worker [h, features)) up to FEATURE_SPLIT_MAX_ROWS rows, by rows above (at the middle row: the
    // rows cost the same). Whether to share it, a Split learns (one per batch size).
    const byFeatures = rows <= FEATURE_SPLIT_MAX_ROWS;
    const split = pool && rows * features >= SPLIT_ELEMENTS && (byFeatures ? features >= 32 : rows >= 2) ? this.splitOf(rows, byFeatures) : undefined;
    // The worker's part: rows [r, rows) × features [f, features), with their one-hot labels when it has
    // whole rows; the main thread's: rows [0, r) × all features, or all rows × features [0, f).
    const r = split && !byFeatures ? split.cut : 0;
    const f = split && byFeatures ? featureCut(features) : 0;
    const started =
      split !== undefined &&
      split.begin() &&
      pool!.start(
        JOB.gatherBatch,
        this.images,
        this.labels,
        pi + 4 * r,
        px + 4 * r * features,
        y && !byFeatures ? py + 4 * r * classes : 0,
        rows - r,
        features,
        classes,
        255,
        f,
        features - f,
      );
    kernels.gatherBatch(
      this.images,
      this.labels,
      pi,
      px,
      py,
      started && !byFeatures ? r : rows,
      features,
      classes,
      255,
      0,
      started && byFeatures ? f : features,
    );
    split?.end(pool, started);
  }
}
