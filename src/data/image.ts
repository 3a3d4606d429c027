/**
 * A picture of a digit made into an MNIST-like input, as MNIST itself was made: grey levels, the digit
 * light on dark (a dark-on-light picture is inverted), its bounding box scaled to fit 20 × 20 pixels,
 * and placed in a 28 × 28 frame with its centre of mass at the centre.
 */
import { PNG } from "pngjs";
import { UserError } from "../graph/errors.js";
import { readGivenFile } from "../util/fs-errors.js";
import { checkPngSize } from "./png-header.js";

const SIDE = 28;
const BOX = 20;

/** A picture made into an MNIST-like input. */
export interface DigitPicture {
  /** 784 values in [0, 1], row by row. */
  readonly pixels: Float64Array;
  /** Why the picture is unlikely to show a digit (blank, transparent, one flat colour); absent when it has ink to read. */
  readonly warning?: string;
}

/** Reads a PNG file and returns 784 values in [0, 1], row by row. */
export function readDigitPng(path: string): Float64Array {
  return readDigitPicture(path).pixels;
}

/**
 * Reads a PNG file of one digit. Its size is checked from its header before it is decoded (see
 * png-header.ts); a picture with nothing to read in it is still returned, with a warning saying so.
 */
export function readDigitPicture(path: string): DigitPicture {
  const bytes = readGivenFile(path, "the digit");
  checkPngSize(bytes, path);
  let png: PNG;
  try {
    png = PNG.sync.read(bytes);
  } catch (err) {
    throw new UserError(`${path}: cannot read the digit: it is not a readable PNG image (${(err as Error).message}).`);
  }
  const grey = greyLevels(png.data, png.width, png.height);
  const pixels = mnistLike(grey, png.width, png.height);
  const flat = contrast(grey) < INK_THRESHOLD;
  const warning =
    flat || pixels.every((p) => p === 0)
      ? `${path}: the picture holds no digit (it is ${isTransparent(png.data) ? "fully transparent" : "one flat colour"}); the prediction below is for an empty input.`
      : undefined;
  return { pixels, ...(warning ? { warning } : {}) };
}

/** A grey level darker or lighter than the background by more than this is ink. */
const INK_THRESHOLD = 0.05;

function contrast(grey: Float64Array): number {
  let min = Infinity;
  let max = -Infinity;
  for (const g of grey) {
    if (g < min) min = g;
    if (g > max) max = g;
  }
  return max - min;
}

function isTransparent(rgba: Uint8Array): boolean {
  for (let i = 3; i < rgba.length; i += 4) if (rgba[i] !== 0) return false;
  return true;
}

/** Luminance in [0, 1] of RGBA pixels, composited over white (a transparent background is paper). */
function greyLevels(rgba: Uint8Array, width: number, height: number): Float64Array {
  const grey = new Float64Array(width * height);
  for (let i = 0; i < grey.length; i++) {
    const alpha = rgba[4 * i + 3]! / 255;
    const luminance = (0.299 * rgba[4 * i]! + 0.587 * rgba[4 * i + 1]! + 0.114 * rgba[4 * i + 2]!) / 255;
    grey[i] = alpha * luminance + (1 - alpha);
  }
  return grey;
}

function mnistLike(grey: Float64Array, width: number, height: number): Float64Array {
  // MNIST digits are light on a dark background: invert a picture whose border is mostly light.
  const ink = borderMean(grey, width, height) > 0.5 ? grey.map((g) => 1 - g) : grey.slice();
  const box = boundingBox(ink, width, height, INK_THRESHOLD);
  const out = new Float64Array(SIDE * SIDE);
  if (!box) return out; // a blank picture stays blank
  const scale = BOX / Math.max(box.width, box.height);
  const w = Math.max(1, Math.round(box.width * scale));
  const h = Math.max(1, Math.round(box.height * scale));
  const small = resizeArea(ink, width, box, w, h);
  // Centre of mass of the scaled digit, placed at (14, 14) in pixel indices, where MNIST has it (measured: 13.995, 14.009).
  let mass = 0;
  let cx = 0;
  let cy = 0;
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const v = small[y * w + x]!;
      mass += v;
      cx += v * x;
      cy += v * y;
    }
  const left = Math.round(SIDE / 2 - cx / mass);
  const top = Math.round(SIDE / 2 - cy / mass);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const tx = x + left;
      const ty = y + top;
      if (tx >= 0 && tx < SIDE && ty >= 0 && ty < SIDE) out[ty * SIDE + tx] = Math.min(1, small[y * w + x]!);
    }
  return out;
}

function borderMean(grey: Float64Array, width: number, height: number): number {
  let sum = 0;
  let n = 0;
  for (let x = 0; x < width; x++) {
    sum += grey[x]! + grey[(height - 1) * width + x]!;
    n += 2;
  }
  for (let y = 0; y < height; y++) {
    sum += grey[y * width]! + grey[y * width + width - 1]!;
    n += 2;
  }
  return sum / n;
}

interface Box {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

function boundingBox(ink: Float64Array, width: number, height: number, threshold: number): Box | null {
  let x0 = width;
  let y0 = height;
  let x1 = -1;
  let y1 = -1;
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      if (ink[y * width + x]! > threshold) {
        x0 = Math.min(x0, x);
        x1 = Math.max(x1, x);
        y0 = Math.min(y0, y);
        y1 = Math.max(y1, y);
      }
    }
  return x1 < 0 ? null : { x: x0, y: y0, width: x1 - x0 + 1, height: y1 - y0 + 1 };
}

/** Resamples the box to w × h by averaging the source area under each target pixel. */
function resizeArea(ink: Float64Array, stride: number, box: Box, w: number, h: number): Float64Array {
  const out = new Float64Array(w * h);
  const sx = box.width / w;
  const sy = box.height / h;
  for (let ty = 0; ty < h; ty++)
    for (let tx = 0; tx < w; tx++) {
      let sum = 0;
      let area = 0;
      for (let y = Math.floor(ty * sy); y < Math.min(box.height, Math.ceil((ty + 1) * sy)); y++) {
        const wy = Math.min(y + 1, (ty + 1) * sy) - Math.max(y, ty * sy);
        for (let x = Math.floor(tx * sx); x < Math.min(box.width, Math.ceil((tx + 1) * sx)); x++) {
          const wx = Math.min(x + 1, (tx + 1) * sx) - Math.max(x, tx * sx);
          sum += wx * wy * ink[(box.y + y) * stride + box.x + x]!;
          area += wx * wy;
        }
      }
      out[ty * w + tx] = area > 0 ? sum / area : 0;
    }
  return out;
}
