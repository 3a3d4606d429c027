/**
 * Filling a batch on the wasm backend: the same values as src/data/batch.ts's fillBatch (bytes·(1/255),
 * rounded once to float32; one-hot labels), with the images' bytes copied into the arena's scratch space
 * and scaled there by one WebAssembly call instead of a JavaScript loop over every pixel.
 */
import { fillBatch } from "../../../data/batch.js";
import type { FloatArray } from "../../../ops/op.js";
import type { Batches, Samples } from "../../batches.js";
import type { WasmArena } from "./arena.js";
import { SharedCall } from "./share.js";
import { featureCut, fillSplit, sharedByFeatures } from "./split-policy.js";

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
  const images = data.images;
  for (let r = 0; r < rows; r++) {
    const sample = order[start + r]!;
    bytes.set(images.subarray(sample * f, (sample + 1) * f), staging + r * f);
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
      else if (data.values)
        fillBatch(data, order, start, rows, x, y, classes); // numbers as given: nothing to scale
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
  /** The gathering call of each kind of batch (see `gather`), made at its first fill. */
  private readonly gathers = new Map<number, SharedCall>();

  /** Float32 slots to reserve in the arena for `data` and batches of up to `maxRows`. */
  static reservedElements(data: Samples, maxRows: number): number {
    return Math.ceil((data.count * data.features) / 4) + Math.ceil(data.labels.length / 4) + maxRows + 48; // + alignment
  }

  constructor(
    private readonly arena: WasmArena,
    readonly data: Samples,
    private readonly maxRows: number,
  ) {
    const region = (length: number, place: (offset: number) => void) => {
      const offset = arena.reserve(Math.ceil(length / 4)).byteOffset;
      place(offset);
      return offset;
    };
    // Images not read yet are read straight into the arena (deferred-bytes.ts says why).
    const images = data.count * data.features;
    this.images = region(images, (offset) => (data.placeImages ? data.placeImages(arena.bytes, offset) : arena.bytes.set(data.images, offset)));
    this.labels = region(data.labels.length, (offset) => arena.bytes.set(data.labels, offset));
    this.indices = new Uint32Array(arena.memory.buffer, arena.reserve(maxRows).byteOffset, maxRows);
  }

  /**
   * The call that gathers batches of `rows` rows, with `classes` one-hot labels or none: shared as a first
   * layer's product shares the batch (kernels.ts fedBatchProduct), so that each thread reads the part of
   * x it wrote itself — by features (featureCut: the main thread features [0, h) and the labels, the
   * worker [h, features)), or by rows (at the middle row, each part with its own rows' labels). Whether
   * to share it, its Split learns (split-policy.ts fillSplit).
   *
   * gatherBatch(images, labels, indices, x, y, rows, features, classes, divisor, first, count)
   */
  private gather(rows: number, classes: number, labelled: boolean): SharedCall {
    // One call per batch size, label count and labelling: a number that tells them apart (rows ≤ maxRows).
    const key = (labelled ? classes + 1 : 0) * (this.maxRows + 1) + rows;
    let call = this.gathers.get(key);
    if (call) return call;
    const features = this.data.features;
    const split = fillSplit(rows, features, this.arena.pool);
    call = sharedByFeatures(rows)
      ? new SharedCall(this.arena, "gatherBatch", split, { count: 10, perUnit: { 9: 1 }, second: { 4: 0 }, cut: featureCut(features) })
      : new SharedCall(this.arena, "gatherBatch", split, {
          count: 5,
          perUnit: labelled ? { 2: 4, 3: 4 * features, 4: 4 * classes } : { 2: 4, 3: 4 * features },
        });
    this.gathers.set(key, call);
    return call;
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
    const call = this.gather(rows, classes, y !== null);
    call.run(this.images, this.labels, this.indices.byteOffset, x.byteOffset, y ? y.byteOffset : 0, rows, features, classes, 255, 0, features);
  }
}
