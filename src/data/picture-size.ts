/**
 * The size limits a picture of a digit must fit, checked from a file's header before anything is
 * decoded: a decoder allocates width × height × 4 bytes up front, from the header's numbers alone, so a
 * file of a few dozen bytes that claims 30,000 × 30,000 pixels would take gigabytes.
 */
import { UserError } from "../graph/errors.js";

/**
 * The largest side graphnet decodes. A digit is scaled down to 20 × 20 pixels, so any photograph or scan
 * of one is far smaller; at 4096 × 4096 the decoded picture takes 64 MiB (RGBA) and its grey levels 64 MiB.
 */
export const MAX_PICTURE_SIDE = 4096;

export interface PictureSize {
  readonly width: number;
  readonly height: number;
}

/** The error for a picture `file` that cannot be read as a digit, saying why. */
export function unreadablePicture(file: string, why: string): UserError {
  return new UserError(`${file}: cannot read the digit: ${why}`);
}

/** Refuses a picture whose announced size is empty or past MAX_PICTURE_SIDE. */
export function checkPictureSize(size: PictureSize, file: string): PictureSize {
  const { width, height } = size;
  if (width === 0 || height === 0) throw unreadablePicture(file, `the picture is ${width} × ${height} pixels: there is nothing in it to read.`);
  if (width > MAX_PICTURE_SIDE || height > MAX_PICTURE_SIDE) {
    throw unreadablePicture(
      file,
      `the picture claims ${width} × ${height} pixels; graphnet reads pictures of at most ${MAX_PICTURE_SIDE} × ${MAX_PICTURE_SIDE} (a digit is scaled to 20 × 20 pixels: a smaller picture loses nothing).`,
    );
  }
  return size;
}
