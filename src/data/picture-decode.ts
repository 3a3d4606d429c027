/**
 * A picture file decoded into RGBA pixels, upright: PNG through pngjs, JPEG through jpeg-js (both pure
 * JavaScript), each refused from its header first when its size makes no sense for a digit. A JPEG
 * stored sideways by a phone (EXIF orientation) is turned as a viewer would show it. Other formats are
 * named, so the person knows what to convert.
 */
import jpeg from "jpeg-js";
import { PNG } from "pngjs";
import { isJpeg, readJpegHeader } from "./jpeg-header.js";
import { checkPngSize, isPng } from "./png-header.js";
import { MAX_PICTURE_SIDE, unreadablePicture } from "./picture-size.js";

export interface DecodedPicture {
  readonly width: number;
  readonly height: number;
  /** width × height × 4 bytes, row by row, as a viewer shows the picture. */
  readonly rgba: Uint8Array;
}

/** Formats recognised by their first bytes only to be named in the refusal. */
const OTHER_FORMATS: readonly [string, (b: Uint8Array) => boolean][] = [
  ["GIF", (b) => ascii(b, 0, 4) === "GIF8"],
  ["WebP", (b) => ascii(b, 0, 4) === "RIFF" && ascii(b, 8, 12) === "WEBP"],
  ["BMP", (b) => ascii(b, 0, 2) === "BM"],
  ["TIFF", (b) => ascii(b, 0, 4) === "II*\0" || ascii(b, 0, 4) === "MM\0*"],
  ["HEIC", (b) => ascii(b, 4, 8) === "ftyp" && /^(heic|heix|hevc|mif1|msf1)$/.test(ascii(b, 8, 12))],
  ["AVIF", (b) => ascii(b, 4, 8) === "ftyp" && /^avi[fs]$/.test(ascii(b, 8, 12))],
];

function ascii(bytes: Uint8Array, from: number, to: number): string {
  return Buffer.from(bytes.subarray(from, to)).toString("latin1");
}

export function decodePicture(bytes: Uint8Array, file: string): DecodedPicture {
  if (isPng(bytes)) return decodePng(bytes, file);
  if (isJpeg(bytes)) return decodeJpeg(bytes, file);
  const other = OTHER_FORMATS.find(([, matches]) => matches(bytes));
  if (other) throw unreadablePicture(file, `it is a ${other[0]} image; graphnet reads PNG and JPEG pictures (save it as one of those).`);
  throw unreadablePicture(file, "it is not a PNG image (a PNG file starts with the bytes 89 50 4E 47 0D 0A 1A 0A) nor a JPEG (which starts with FF D8 FF).");
}

function decodePng(bytes: Uint8Array, file: string): DecodedPicture {
  checkPngSize(bytes, file);
  try {
    const png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    return { width: png.width, height: png.height, rgba: png.data };
  } catch (err) {
    throw unreadablePicture(file, `it is not a readable PNG image (${(err as Error).message}).`);
  }
}

function decodeJpeg(bytes: Uint8Array, file: string): DecodedPicture {
  const header = readJpegHeader(bytes, file);
  let image: { width: number; height: number; data: Uint8Array };
  try {
    // The limits repeat the header check inside the decoder, for a file whose frames disagree with its first.
    image = jpeg.decode(bytes, {
      useTArray: true,
      formatAsRGBA: true,
      maxResolutionInMP: (MAX_PICTURE_SIDE * MAX_PICTURE_SIDE) / 1e6,
      maxMemoryUsageInMB: 512,
    });
  } catch (err) {
    throw unreadablePicture(file, `it is not a readable JPEG image (${(err as Error).message}).`);
  }
  return upright(image.data, image.width, image.height, header.orientation);
}

/** Where the pixel a viewer shows at (x, y) is stored, for each EXIF orientation but 1, in a picture stored width × height. */
const STORED_AT: Record<number, (x: number, y: number, width: number, height: number) => [number, number]> = {
  2: (x, y, width) => [width - 1 - x, y], // mirrored
  3: (x, y, width, height) => [width - 1 - x, height - 1 - y], // half a turn
  4: (x, y, _width, height) => [x, height - 1 - y], // mirrored upside down
  5: (x, y) => [y, x], // mirrored across the diagonal
  6: (x, y, _width, height) => [y, height - 1 - x], // a quarter turn clockwise to view
  7: (x, y, width, height) => [width - 1 - y, height - 1 - x], // mirrored across the other diagonal
  8: (x, y, width) => [width - 1 - y, x], // a quarter turn anticlockwise to view
};

/** The picture as a viewer shows it, given its EXIF orientation (1: as stored). */
export function upright(rgba: Uint8Array, width: number, height: number, orientation: number): DecodedPicture {
  const storedAt = STORED_AT[orientation];
  if (!storedAt) return { width, height, rgba };
  const [w, h] = orientation >= 5 ? [height, width] : [width, height]; // 5–8 swap the sides
  const aligned = rgba.byteOffset % 4 === 0 ? rgba : rgba.slice(); // a pixel read as one 32-bit word
  const source = new Uint32Array(aligned.buffer, aligned.byteOffset, width * height);
  const out = new Uint32Array(w * h);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const [sx, sy] = storedAt(x, y, width, height);
      out[y * w + x] = source[sy * width + sx]!;
    }
  return { width: w, height: h, rgba: new Uint8Array(out.buffer) };
}
