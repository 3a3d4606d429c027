/**
 * The background of a picture of a digit — paper under uneven light, or a dark board — estimated as a
 * smooth surface: a quadratic in x and y fitted by least squares to the pixels that are not ink, found
 * by refitting a few times without the pixels that lie on the ink side of the fit by more than the
 * paper's own noise. A gradient or a vignette from a lamp or a phone's flash is such a surface; the
 * strokes, thick or thin, are not (unlike a blur or a local window, the fit does not darken round them).
 */
import { quantile, type Grey } from "./grey-image.js";

export interface Background {
  /** The fitted background level at each pixel. */
  readonly level: Float32Array;
  /** Whether the background is lighter than the ink (dark ink on paper) rather than darker (chalk, MNIST). */
  readonly light: boolean;
  /** The spread of the background's pixels about the fit (1.4826 × their median absolute deviation: σ for Gaussian noise). */
  readonly noise: number;
}

/** About this many pixels take part in the fit; the surface has six coefficients, so a sample loses nothing. */
const SAMPLES = 10_000;
const ROUNDS = 5;

export function fitBackground(image: Grey): Background {
  const { width, height, data } = image;
  // Most of a picture of one digit is background: its median says whether the background is light.
  const light = quantile(data, 0.5) > 0.5;
  const side = light ? -1 : 1; // the sign of ink's difference from the background
  const step = Math.max(1, Math.floor(Math.sqrt((width * height) / SAMPLES)));
  const columns = Math.ceil((width - Math.floor(step / 2)) / step);
  const rows = Math.ceil((height - Math.floor(step / 2)) / step);
  const n = columns * rows;
  const bases = new Float64Array(TERMS * n);
  const values = new Float64Array(n);
  let k = 0;
  for (let y = Math.floor(step / 2); y < height; y += step)
    for (let x = Math.floor(step / 2); x < width; x += step, k++) {
      basis(x, y, width, height, bases, TERMS * k);
      values[k] = data[y * width + x]!;
    }
  const included = new Uint8Array(n).fill(1);
  const residuals = new Float64Array(n);
  const scratch = new Float64Array(n);
  let coefficients: Float64Array = new Float64Array(TERMS);
  let noise = 0;
  for (let round = 0; round < ROUNDS; round++) {
    coefficients = leastSquares(bases, values, included);
    let m = 0;
    for (let i = 0; i < n; i++) {
      let fit = 0;
      for (let t = 0; t < TERMS; t++) fit += bases[TERMS * i + t]! * coefficients[t]!;
      residuals[i] = side * (values[i]! - fit);
      if (included[i]) scratch[m++] = residuals[i]!;
    }
    const centre = median(scratch.subarray(0, m));
    for (let i = 0; i < m; i++) scratch[i] = Math.abs(scratch[i]! - centre);
    noise = 1.4826 * median(scratch.subarray(0, m));
    const limit = Math.max(2.5 * noise, 0.01);
    for (let i = 0; i < n; i++) included[i] = residuals[i]! < limit ? 1 : 0;
  }
  const level = new Float32Array(width * height);
  const b = new Float64Array(TERMS);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      basis(x, y, width, height, b, 0);
      let fit = 0;
      for (let t = 0; t < TERMS; t++) fit += b[t]! * coefficients[t]!;
      level[y * width + x] = fit;
    }
  return { level, light, noise };
}

const TERMS = 6;

/** Writes 1, u, v, u², uv, v² at the centre of pixel (x, y) into out[at…], with u and v in [-0.5, 0.5] so the normal equations stay well conditioned. */
function basis(x: number, y: number, width: number, height: number, out: Float64Array, at: number): void {
  const u = (x + 0.5) / width - 0.5;
  const v = (y + 0.5) / height - 0.5;
  out[at] = 1;
  out[at + 1] = u;
  out[at + 2] = v;
  out[at + 3] = u * u;
  out[at + 4] = u * v;
  out[at + 5] = v * v;
}

/** The median of `values` (reordered in place). */
function median(values: Float64Array): number {
  if (values.length === 0) return 0;
  values.sort();
  return values[values.length >> 1]!;
}

/** The coefficients c minimising Σ (basis·c − value)² over the included samples, by the normal equations (with a whisker of ridge for a degenerate sample). */
function leastSquares(bases: Float64Array, values: Float64Array, included: Uint8Array): Float64Array {
  const n = TERMS;
  const a = Array.from({ length: n }, () => new Float64Array(n + 1));
  let count = 0;
  for (let s = 0; s < values.length; s++) {
    if (!included[s]) continue;
    count++;
    const at = TERMS * s;
    for (let i = 0; i < n; i++) {
      const bi = bases[at + i]!;
      const row = a[i]!;
      for (let j = 0; j < n; j++) row[j]! += bi * bases[at + j]!;
      row[n]! += bi * values[s]!;
    }
  }
  for (let i = 0; i < n; i++) a[i]![i]! += 1e-9 * (count + 1);
  // Gaussian elimination with partial pivoting.
  for (let col = 0; col < n; col++) {
    let pivot = col;
    for (let r = col + 1; r < n; r++) if (Math.abs(a[r]![col]!) > Math.abs(a[pivot]![col]!)) pivot = r;
    [a[col], a[pivot]] = [a[pivot]!, a[col]!];
    for (let r = col + 1; r < n; r++) {
      const f = a[r]![col]! / a[col]![col]!;
      for (let c = col; c <= n; c++) a[r]![c]! -= f * a[col]![c]!;
    }
  }
  const c = new Float64Array(n);
  for (let i = n - 1; i >= 0; i--) {
    let s = a[i]![n]!;
    for (let j = i + 1; j < n; j++) s -= a[i]![j]! * c[j]!;
    c[i] = s / a[i]![i]!;
  }
  return c;
}
