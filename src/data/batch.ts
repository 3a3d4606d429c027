/**
 * Filling a batch: the selected images' bytes scaled to [0, 1] straight into the executor's input view
 * (or, for data that are not pictures, their values as given), and their labels as one-hot rows. Pixels
 * stay bytes in memory until this moment.
 */
import type { FloatArray } from "../ops/op.js";
import type { Dataset } from "./mnist.js";

const SCALE = 1 / 255;

/** Writes samples order[start … start+rows) into x (rows × features) and y (rows × classes). */
export function fillBatch(
  data: Pick<Dataset, "images" | "values" | "labels" | "features">,
  order: ArrayLike<number>,
  start: number,
  rows: number,
  x: FloatArray,
  y: FloatArray | null,
  classes: number,
): void {
  const f = data.features;
  const values = data.values;
  const images = data.images;
  for (let r = 0; r < rows; r++) {
    const sample = order[start + r]!;
    const from = sample * f;
    const to = r * f;
    if (values) x.set(values.subarray(from, from + f), to);
    else for (let k = 0; k < f; k++) x[to + k] = images[from + k]! * SCALE;
    if (y) {
      y.fill(0, r * classes, (r + 1) * classes);
      y[r * classes + data.labels[sample]!] = 1;
    }
  }
}

/**
 * One sample as the model takes it (predict, the report's pictures): pixels scaled to [0, 1] (divided by
 * 255, as predict has always done), or the values as given.
 */
export function sampleInput(data: Pick<Dataset, "images" | "values" | "features">, sample: number): Float64Array {
  const f = data.features;
  if (data.values) return data.values.slice(sample * f, (sample + 1) * f);
  return Float64Array.from(data.images.subarray(sample * f, (sample + 1) * f), (p) => p / 255);
}
