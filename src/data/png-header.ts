/**
 * A PNG's dimensions, read from its header before anything is decoded. A decoder allocates width ×
 * height × 4 bytes up front, from these numbers alone: a file of a few dozen bytes that claims 30,000 ×
 * 30,000 pixels would take gigabytes. The picture is refused first if its size makes no sense for a digit.
 *
 *   8 bytes   the signature 89 50 4E 47 0D 0A 1A 0A
 *   the first chunk, IHDR: length (u32, 13), "IHDR", width (u32), height (u32), bit depth, colour type, …
 * (all integers big-endian).
 */
import { UserError } from "../graph/errors.js";

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/**
 * The largest side graphnet decodes. A digit is scaled down to 20 × 20 pixels, so any photograph or scan
 * of one is far smaller; at 4096 × 4096 the decoded picture takes 64 MiB (RGBA) and its grey levels 128 MiB.
 */
export const MAX_PICTURE_SIDE = 4096;

export interface PngSize {
  readonly width: number;
  readonly height: number;
}

/** The width and height the PNG in `bytes` announces; refuses a file that is not a PNG or whose size is not a picture's. */
export function checkPngSize(bytes: Uint8Array, file: string): PngSize {
  const refuse = (why: string) => new UserError(`${file}: cannot read the digit: ${why}`);
  if (bytes.length < SIGNATURE.length || SIGNATURE.some((b, i) => bytes[i] !== b)) {
    throw refuse("it is not a PNG image (a PNG file starts with the bytes 89 50 4E 47 0D 0A 1A 0A).");
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const type = Buffer.from(bytes.subarray(12, 16)).toString("latin1");
  if (bytes.length < 24 || type !== "IHDR") throw refuse("the PNG is damaged or cut short (its first chunk is not the IHDR header that gives its size).");
  const width = view.getUint32(16, false);
  const height = view.getUint32(20, false);
  if (width === 0 || height === 0) throw refuse(`the picture is ${width} × ${height} pixels: there is nothing in it to read.`);
  if (width > MAX_PICTURE_SIDE || height > MAX_PICTURE_SIDE) {
    throw refuse(
      `the picture claims ${width} × ${height} pixels; graphnet reads pictures of at most ${MAX_PICTURE_SIDE} × ${MAX_PICTURE_SIDE} (a digit is scaled to 20 × 20 pixels: a smaller picture loses nothing).`,
    );
  }
  return { width, height };
}
