/**
 * A JPEG's dimensions and EXIF orientation, read from its markers before anything is decoded (see
 * picture-size.ts for why the size is checked first).
 *
 *   FF D8                       start of image
 *   FF xx, length (u16), data   segments, each length counting itself; among them
 *     APP1 (FF E1)  "Exif\0\0", then a TIFF header (byte order "II" or "MM", 42, offset of IFD0), whose
 *                   tag 0x0112 is the orientation: how a camera held sideways stored the picture
 *     SOFn (FF C0–CF but C4, C8, CC)  precision (u8), height (u16), width (u16), …
 * (integers big-endian outside the TIFF header).
 */
import { checkPictureSize, unreadablePicture, type PictureSize } from "./picture-size.js";

export interface JpegHeader extends PictureSize {
  /** EXIF orientation 1–8 (1: stored upright; 6: turn a quarter clockwise to view; …); 1 when absent. */
  readonly orientation: number;
}

/** Whether `bytes` start as a JPEG file does. */
export function isJpeg(bytes: Uint8Array): boolean {
  return bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff;
}

const isStartOfFrame = (marker: number) => marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;

/** The size and orientation the JPEG in `bytes` announces; refuses one that is damaged before its frame header, or whose size is not a picture's. */
export function readJpegHeader(bytes: Uint8Array, file: string): JpegHeader {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const cutShort = () => unreadablePicture(file, "the JPEG is damaged or cut short (no frame header giving its size before its image data).");
  let orientation = 1;
  let at = 2;
  while (at + 4 <= bytes.length) {
    if (bytes[at] !== 0xff) throw cutShort();
    const marker = bytes[at + 1]!;
    if (marker === 0xff) {
      at++; // fill byte
      continue;
    }
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      at += 2; // markers without a length
      continue;
    }
    if (marker === 0xd9 || marker === 0xda) break; // end of image, or image data, before any frame header
    const length = view.getUint16(at + 2, false);
    if (length < 2 || at + 2 + length > bytes.length) break;
    const segment = bytes.subarray(at + 4, at + 2 + length);
    if (marker === 0xe1) orientation = exifOrientation(segment) ?? orientation;
    if (isStartOfFrame(marker)) {
      if (segment.length < 5) break;
      const size = checkPictureSize({ height: view.getUint16(at + 5, false), width: view.getUint16(at + 7, false) }, file);
      return { ...size, orientation };
    }
    at += 2 + length;
  }
  throw cutShort();
}

/** The orientation tag of an APP1 segment holding EXIF data, or undefined (not EXIF, no tag, a value out of range). */
function exifOrientation(segment: Uint8Array): number | undefined {
  if (segment.length < 14 || Buffer.from(segment.subarray(0, 6)).toString("latin1") !== "Exif\0\0") return undefined;
  const tiff = new DataView(segment.buffer, segment.byteOffset + 6, segment.byteLength - 6);
  const order = String.fromCharCode(tiff.getUint8(0), tiff.getUint8(1));
  if (order !== "II" && order !== "MM") return undefined;
  const little = order === "II";
  const ifd = tiff.getUint32(4, little);
  if (ifd + 2 > tiff.byteLength) return undefined;
  const entries = tiff.getUint16(ifd, little);
  for (let i = 0; i < entries; i++) {
    const entry = ifd + 2 + 12 * i;
    if (entry + 12 > tiff.byteLength) return undefined;
    if (tiff.getUint16(entry, little) === 0x0112) {
      const value = tiff.getUint16(entry + 8, little);
      return value >= 1 && value <= 8 ? value : undefined;
    }
  }
  return undefined;
}
