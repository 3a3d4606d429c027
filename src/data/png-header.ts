/**
 * A PNG's dimensions, read from its header before anything is decoded (see picture-size.ts for why).
 *
 *   8 bytes   the signature 89 50 4E 47 0D 0A 1A 0A
 *   the first chunk, IHDR: length (u32, 13), "IHDR", width (u32), height (u32), bit depth, colour type, …
 * (all integers big-endian).
 */
import { checkPictureSize, unreadablePicture, type PictureSize } from "./picture-size.js";

export { MAX_PICTURE_SIDE } from "./picture-size.js";
export type PngSize = PictureSize;

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** Whether `bytes` start as a PNG file does. */
export function isPng(bytes: Uint8Array): boolean {
  return bytes.length >= SIGNATURE.length && SIGNATURE.every((b, i) => bytes[i] === b);
}

/** The width and height the PNG in `bytes` announces; refuses a file that is not a PNG or whose size is not a picture's. */
export function checkPngSize(bytes: Uint8Array, file: string): PngSize {
  if (!isPng(bytes)) throw unreadablePicture(file, "it is not a PNG image (a PNG file starts with the bytes 89 50 4E 47 0D 0A 1A 0A).");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const type = Buffer.from(bytes.subarray(12, 16)).toString("latin1");
  if (bytes.length < 24 || type !== "IHDR")
    throw unreadablePicture(file, "the PNG is damaged or cut short (its first chunk is not the IHDR header that gives its size).");
  return checkPictureSize({ width: view.getUint32(16, false), height: view.getUint32(20, false) }, file);
}
