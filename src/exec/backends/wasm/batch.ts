/**
 * Filling a batch on the wasm backend: the same values as src/data/batch.ts's fillBatch (bytes·(1/255),
 * rounded once to float32; one-hot labels), with the images' bytes copied into the arena's scratch space
 * and scaled there by one WebAssembly call instead of a JavaScript loop over every pixel.
 */
import type { Dataset } from "../../../data/mnist.js";
import type { FloatArray } from "../../../ops/op.js";
import type { WasmArena } from "./arena.js";

/** Writes samples order[start … start+rows) into x (rows × features, a view into `arena`) and y. */
export function fillBatchInPlace(
  arena: WasmArena,
  data: Dataset,
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
