/**
 * A grey picture of one digit made into the input an MNIST model expects, the way MNIST's digits were
 * made: the ink found against its background (a light background is inverted, uneven light taken out),
 * the contrast normalised, the digit's bounding box scaled to fit 20 × 20 pixels keeping its aspect
 * (area-averaged, so anti-aliased), and placed in a 28 × 28 frame with its centre of mass at the centre.
 * Pure functions of the grey levels: decoding a file is picture-decode.ts's job.
 */
import { components, morph, otsuThreshold, quantile, resizeArea, shrinkToFit, type Box, type Grey } from "./grey-image.js";
import { fitBackground } from "./paper-background.js";

export const SIDE = 28;
const BOX = 20;
/** The picture is first brought down to this side: a digit ends as 20 pixels, so nothing is lost, and a 4096-pixel photo costs what a 512-pixel one does. */
const WORK_SIDE = 512;
/** A picture whose grey levels (averaged over its work-size pixels) span less than this is one flat colour. */
const FLAT = 0.05;

export interface DigitInput {
  /** 784 values in [0, 1], row by row: light strokes on black. */
  readonly pixels: Float64Array;
  /** Why no digit was found, when none was: the picture is one flat colour, or no stroke stands out from its background. */
  readonly noDigit?: "flat" | "no-stroke";
}

export function digitInput(grey: Float32Array, width: number, height: number): DigitInput {
  const image = shrinkToFit({ data: grey, width, height }, WORK_SIDE);
  const empty = (noDigit: "flat" | "no-stroke"): DigitInput => ({ pixels: new Float64Array(SIDE * SIDE), noDigit });
  if (quantile(image.data, 1) - quantile(image.data, 0) < FLAT) return empty("flat");
  const ink = inkOf(image);
  const strokes = findStrokes(ink);
  if (!strokes) return empty("no-stroke");
  return { pixels: centred(fitted(ink, strokes)) };
}

interface Ink extends Grey {
  /** The spread of the ink level over the background: what paper texture, grain and JPEG noise amount to. */
  readonly noise: number;
}

/** How far each pixel is from the background, toward the ink, in [0, 1]: 0 on paper, near 1 on a dark stroke. */
function inkOf(image: Grey): Ink {
  const background = fitBackground(image);
  const data = new Float32Array(image.data.length);
  for (let i = 0; i < data.length; i++) {
    const g = image.data[i]!;
    const level = background.level[i]!;
    // Light multiplies what paper reflects: dividing by the paper's level undoes a gradient or a shadow.
    data[i] = background.light ? 1 - g / Math.max(level, 0.05) : g - level;
  }
  const noise = background.light ? background.noise / Math.max(quantile(background.level, 0.5), 0.05) : background.noise;
  for (let i = 0; i < data.length; i++) data[i] = Math.min(1, Math.max(0, data[i]!));
  return { data, width: image.width, height: image.height, noise };
}

interface Strokes {
  /** The strokes' bounding box. */
  readonly box: Box;
  /** 1 on the strokes' pixels and within a couple of pixels of them (their soft edges); 0 elsewhere (specks, texture). */
  readonly near: Uint8Array;
  /** The ink levels below which a pixel counts as background, and above which as full ink. */
  readonly low: number;
  readonly high: number;
  /** The strokes' mean width in pixels (twice their area over their outline's length). */
  readonly width: number;
}

/** A speck smaller than this share of the largest group of ink is dirt or texture, not part of the digit. */
const SPECK = 0.1;
/** Less ink than this share of the picture (in work-size pixels) is no digit. */
const MIN_STROKE_SHARE = 2e-4;

/**
 * The digit's strokes: the pixels above a threshold that separates ink from background (Otsu's, but
 * never within a few σ of the background's noise, so grain on blank paper is not read as strokes),
 * grouped into touching pieces, dropping pieces much smaller than the largest (specks, texture).
 */
function findStrokes(ink: Ink): Strokes | undefined {
  const { width, height, data } = ink;
  const threshold = Math.max(otsuThreshold(data), 5 * ink.noise, 0.08);
  const mask = new Uint8Array(data.length);
  for (let i = 0; i < data.length; i++) mask[i] = data[i]! > threshold ? 1 : 0;
  const pieces = components(mask, width, height);
  const largest = Math.max(0, ...pieces.map((p) => p.area));
  const kept = pieces.filter((p) => p.area >= SPECK * largest);
  const area = kept.reduce((s, p) => s + p.area, 0);
  if (area === 0 || area < Math.max(8, MIN_STROKE_SHARE * width * height)) return undefined;
  // The strokes' levels: the high one robustly (a few saturated or glinting pixels do not set it).
  const strokeLevels = new Float32Array(area);
  let k = 0;
  for (const p of kept) for (const i of p.pixels) strokeLevels[k++] = data[i]!;
  const high = Math.max(quantile(strokeLevels, 0.9), threshold + 0.05);
  const low = Math.min(Math.max(3 * ink.noise, 0.02), threshold / 2);
  const near = new Uint8Array(data.length);
  const reach = 2;
  let outline = 0;
  for (const p of kept)
    for (const i of p.pixels) {
      const x = i % width;
      outline += (x === 0 || !mask[i - 1] ? 1 : 0) + (x === width - 1 || !mask[i + 1] ? 1 : 0);
      outline += (i < width || !mask[i - width] ? 1 : 0) + (i >= data.length - width || !mask[i + width] ? 1 : 0);
    }
  for (const p of kept)
    for (const i of p.pixels) {
      const x = i % width;
      const y = (i - x) / width;
      for (let ny = Math.max(0, y - reach); ny <= Math.min(height - 1, y + reach); ny++)
        for (let nx = Math.max(0, x - reach); nx <= Math.min(width - 1, x + reach); nx++) near[ny * width + nx] = 1;
    }
  // The box holds the strokes' soft edges too (all that rises above the background's noise near them),
  // as MNIST's boxes hold its digits' grey edges.
  let [x0, y0, x1, y1] = [width, height, 0, 0];
  for (let i = 0; i < data.length; i++) {
    if (!near[i] || data[i]! <= low) continue;
    const x = i % width;
    const y = (i - x) / width;
    [x0, y0, x1, y1] = [Math.min(x0, x), Math.min(y0, y), Math.max(x1, x + 1), Math.max(y1, y + 1)];
  }
  return { box: { x: x0, y: y0, width: x1 - x0, height: y1 - y0 }, near, low, high, width: (2 * area) / outline };
}

interface Fitted {
  readonly data: Float32Array;
  readonly width: number;
  readonly height: number;
}

/**
 * MNIST's strokes are about this wide, in pixels of the 20 × 20 box, by the same measure as Strokes.width
 * on the pictures graphnet makes of its digits in test/support/photo.ts.
 */
const PEN_WIDTH = 2.0;
/** MNIST's own pens vary by this factor either way (its 10th and 90th percentiles): a pen within it is left as it is, one beyond it brought to its edge. */
const PEN_TOLERANCE = 1.4;

/**
 * The strokes, contrast normalised, drawn as with MNIST's pen (a thick pen's strokes thinned, a fine
 * pen's grown), and scaled so that their bounding box fits 20 × 20 pixels keeping its aspect.
 */
function fitted(ink: Ink, strokes: Strokes): Fitted {
  const { near, low, high } = strokes;
  const clean = new Float32Array(ink.data.length);
  for (let i = 0; i < clean.length; i++) clean[i] = near[i] ? Math.min(1, Math.max(0, (ink.data[i]! - low) / (high - low))) : 0;
  const usual = (PEN_WIDTH * Math.max(strokes.box.width, strokes.box.height)) / BOX;
  const target = Math.min(usual * PEN_TOLERANCE, Math.max(usual / PEN_TOLERANCE, strokes.width));
  const grow = Math.round((target - strokes.width) / 2);
  const pen = morph({ data: clean, width: ink.width, height: ink.height }, grow);
  // The box grows or shrinks with the strokes.
  const x0 = Math.max(0, strokes.box.x - grow);
  const y0 = Math.max(0, strokes.box.y - grow);
  const x1 = Math.min(ink.width, strokes.box.x + strokes.box.width + grow);
  const y1 = Math.min(ink.height, strokes.box.y + strokes.box.height + grow);
  const box = { x: x0, y: y0, width: Math.max(1, x1 - x0), height: Math.max(1, y1 - y0) };
  const scale = BOX / Math.max(box.width, box.height);
  const width = Math.max(1, Math.round(box.width * scale));
  const height = Math.max(1, Math.round(box.height * scale));
  return { data: resizeArea(pen, box, width, height), width, height };
}

/** The scaled digit in a 28 × 28 frame, its centre of mass at pixel (14, 14), where MNIST has it (measured: 13.995, 14.009). */
function centred(digit: Fitted): Float64Array {
  const { data, width, height } = digit;
  let mass = 0;
  let cx = 0;
  let cy = 0;
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      const v = data[y * width + x]!;
      mass += v;
      cx += v * x;
      cy += v * y;
    }
  const out = new Float64Array(SIDE * SIDE);
  if (mass === 0) return out;
  const left = Math.round(SIDE / 2 - cx / mass);
  const top = Math.round(SIDE / 2 - cy / mass);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      const tx = x + left;
      const ty = y + top;
      if (tx >= 0 && tx < SIDE && ty >= 0 && ty < SIDE) out[ty * SIDE + tx] = Math.min(1, data[y * width + x]!);
    }
  return out;
}
