/**
 * A picture file of a digit made into an MNIST-like input: decoded (picture-decode.ts: PNG or JPEG, its
 * size checked from its header first), made grey, and preprocessed as MNIST's digits were made
 * (digit-input.ts). Also the way back: the 28 × 28 input as a PNG, to see what the model saw.
 */
import { PNG } from "pngjs";
import { readGivenFile } from "../util/fs-errors.js";
import { SIDE, digitInput } from "./digit-input.js";
import { decodePicture } from "./picture-decode.js";

/** A picture made into an MNIST-like input. */
export interface DigitPicture {
  /** 784 values in [0, 1], row by row. */
  readonly pixels: Float64Array;
  /** Why the picture is unlikely to show a digit (blank, transparent, one flat colour, no stroke); absent when it has ink to read. */
  readonly warning?: string;
}

/** Reads a PNG or JPEG file and returns 784 values in [0, 1], row by row. */
export function readDigitPng(path: string): Float64Array {
  return readDigitPicture(path).pixels;
}

/**
 * Reads a PNG or JPEG file of one digit. Its size is checked from its header before it is decoded; a
 * picture with nothing to read in it is still returned (blank), with a warning saying so.
 */
export function readDigitPicture(path: string): DigitPicture {
  const bytes = readGivenFile(path, "the digit");
  const { width, height, rgba } = decodePicture(bytes, path);
  const input = digitInput(greyLevels(rgba, width, height), width, height);
  if (!input.noDigit) return { pixels: input.pixels };
  const why =
    input.noDigit === "no-stroke" ? "no stroke stands out from its background" : isTransparent(rgba) ? "it is fully transparent" : "it is one flat colour";
  return { pixels: input.pixels, warning: `${path}: the picture holds no digit (${why}); the prediction below is for an empty input.` };
}

/** The input a model is given, 784 values in [0, 1], as a 28 × 28 PNG (white strokes on black, as MNIST's). */
export function digitInputPng(pixels: ArrayLike<number>): Buffer {
  const png = new PNG({ width: SIDE, height: SIDE });
  for (let i = 0; i < SIDE * SIDE; i++) {
    const v = Math.round(255 * Math.min(1, Math.max(0, pixels[i]!)));
    png.data.set([v, v, v, 255], 4 * i);
  }
  return PNG.sync.write(png);
}

function isTransparent(rgba: Uint8Array): boolean {
  for (let i = 3; i < rgba.length; i += 4) if (rgba[i] !== 0) return false;
  return true;
}

/** Luminance in [0, 1] of RGBA pixels, composited over white (a transparent background is paper). */
function greyLevels(rgba: Uint8Array, width: number, height: number): Float32Array {
  const grey = new Float32Array(width * height);
  for (let i = 0; i < grey.length; i++) {
    const alpha = rgba[4 * i + 3]! / 255;
    const luminance = (0.299 * rgba[4 * i]! + 0.587 * rgba[4 * i + 1]! + 0.114 * rgba[4 * i + 2]!) / 255;
    grey[i] = alpha * luminance + (1 - alpha);
  }
  return grey;
}
