/**
 * Filling a batch: the selected images' bytes scaled to [0, 1] straight into the executor's input view,
 * and their labels as one-hot rows. Pixels stay bytes in memory until this moment.
 */
import type { FloatArray } from "../ops/op.js";
import type { Dataset } from "./mnist.js";

const SCALE = 1 / 255;

/** Writes samples order[start … start+rows) into x (rows × features) and y (rows × classes). */
export function fillBatch(
  data: Pick<Dataset, "images" | "labels" | "features">,
  order: ArrayLike<number>,
  start: number,
  rows: number,
  x: FloatArray,
  y: FloatArray | null,
  classes: number,
): void {
  const f = data.features;
  for (let r = 0; r < rows; r++) {
    const sample = order[start + r]!;
    const from = sample * f;
    const to = r * f;
    for (let k = 0; k < f; k++) x[to + k] = data.images[from + k]! * SCALE;
    if (y) {
      y.fill(0, r * classes, (r + 1) * classes);
      y[r * classes + data.labels[sample]!] = 1;
    }
  }
}
