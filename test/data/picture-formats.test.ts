/**
 * The picture formats `predict` reads: PNG and JPEG (jpeg-js), a JPEG's size checked from its frame
 * header before it is decoded as a PNG's is, a phone's sideways JPEG turned upright by its EXIF
 * orientation, and the formats it does not read named in the refusal.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import jpeg from "jpeg-js";
import { describe, expect, it } from "vitest";
import { readDigitPicture } from "../../src/data/image.js";
import { decodePicture } from "../../src/data/picture-decode.js";
import { expectRefusal } from "../support/refusal.js";

const dir = mkdtempSync(join(tmpdir(), "graphnet-formats-"));
let files = 0;
const file = (bytes: Uint8Array, ext: string) => {
  const path = join(dir, `picture-${++files}.${ext}`);
  writeFileSync(path, bytes);
  return path;
};
const refusal = (path: string) => expectRefusal(() => readDigitPicture(path), `${path}: cannot read the digit: `);

/** A JPEG's start: SOI, then a baseline frame header (SOF0) announcing width × height, grey, and nothing after. */
function claimedJpeg(width: number, height: number): Buffer {
  const sof = Buffer.from([0xff, 0xc0, 0, 11, 8, height >> 8, height & 255, width >> 8, width & 255, 1, 1, 0x11, 0]);
  return Buffer.concat([Buffer.from([0xff, 0xd8]), sof]);
}

/** An APP1 segment holding EXIF data whose only tag is the orientation (little-endian TIFF). */
function exifOrientation(orientation: number): Buffer {
  const tiff = Buffer.alloc(8 + 2 + 12 + 4);
  tiff.write("II", 0, "latin1");
  tiff.writeUInt16LE(42, 2);
  tiff.writeUInt32LE(8, 4);
  tiff.writeUInt16LE(1, 8); // one entry
  tiff.writeUInt16LE(0x0112, 10);
  tiff.writeUInt16LE(3, 12); // SHORT
  tiff.writeUInt32LE(1, 14);
  tiff.writeUInt16LE(orientation, 18);
  const body = Buffer.concat([Buffer.from("Exif\0\0", "latin1"), tiff]);
  const header = Buffer.from([0xff, 0xe1, 0, 0]);
  header.writeUInt16BE(body.length + 2, 2);
  return Buffer.concat([header, body]);
}

/** A 32 × 16 JPEG, its left half black and its right half white, with an EXIF orientation when given. */
function halves(orientation?: number): Buffer {
  const [width, height] = [32, 16];
  const data = new Uint8Array(width * height * 4);
  for (let i = 0; i < width * height; i++) data.set(i % width < width / 2 ? [0, 0, 0, 255] : [255, 255, 255, 255], 4 * i);
  const bytes = jpeg.encode({ width, height, data }, 95).data;
  return orientation === undefined ? bytes : Buffer.concat([bytes.subarray(0, 2), exifOrientation(orientation), bytes.subarray(2)]);
}

const grey = (rgba: Uint8Array, width: number, x: number, y: number) => rgba[4 * (y * width + x)]!;

describe("a JPEG", () => {
  it("claiming 30000 × 30000 pixels in a few bytes is refused from its frame header", () => {
    const bytes = claimedJpeg(30_000, 30_000);
    expect(bytes.length).toBeLessThan(20);
    expect(refusal(file(bytes, "jpg"))).toMatch(/the picture claims 30000 × 30000 pixels; graphnet reads pictures of at most 4096 × 4096/);
  });

  it("whose image data is damaged is refused as unreadable", () => {
    expect(refusal(file(Buffer.concat([claimedJpeg(28, 28), Buffer.from("garbage")]), "jpg"))).toMatch(/it is not a readable JPEG image/);
  });

  it("is decoded as it is stored when it has no orientation", () => {
    const picture = decodePicture(halves(), "halves.jpg");
    expect([picture.width, picture.height]).toEqual([32, 16]);
    expect(grey(picture.rgba, 32, 2, 8)).toBeLessThan(40);
    expect(grey(picture.rgba, 32, 29, 8)).toBeGreaterThan(215);
  });

  it.each<[number, [number, number], string]>([
    [1, [32, 16], "left"],
    [3, [32, 16], "right"], // turned half a turn
    [6, [16, 32], "top"], // a quarter turn clockwise to view: the stored left side comes to the top
    [8, [16, 32], "bottom"], // a quarter turn anticlockwise
  ])("with EXIF orientation %i is turned upright: %j, the black half at the %s", (orientation, size, black) => {
    const picture = decodePicture(halves(orientation), "turned.jpg");
    expect([picture.width, picture.height]).toEqual(size);
    const [w, h] = size;
    const at: Record<string, [number, number]> = { left: [2, h / 2], right: [w - 3, h / 2], top: [w / 2, 2], bottom: [w / 2, h - 3] };
    const opposite = { left: "right", right: "left", top: "bottom", bottom: "top" } as const;
    const side = black as keyof typeof opposite;
    expect(grey(picture.rgba, w, ...at[side]!)).toBeLessThan(40);
    expect(grey(picture.rgba, w, ...at[opposite[side]]!)).toBeGreaterThan(215);
  });
});

describe("a picture in a format graphnet does not read", () => {
  it.each<[string, Buffer, string]>([
    ["GIF", Buffer.from("GIF89a\x01\x00\x01\x00", "latin1"), "GIF"],
    ["WebP", Buffer.from("RIFF\x20\x00\x00\x00WEBPVP8 ", "latin1"), "WebP"],
    ["HEIC", Buffer.from("\x00\x00\x00\x18ftypheic\x00\x00\x00\x00", "latin1"), "HEIC"],
    ["BMP", Buffer.from("BM\x3a\x00\x00\x00\x00\x00", "latin1"), "BMP"],
  ])("%s is refused, naming its format and what to save it as", (_name, bytes, format) => {
    expect(refusal(file(bytes, "img"))).toMatch(new RegExp(`it is a ${format} image; graphnet reads PNG and JPEG pictures \\(save it as one of those\\)\\.$`));
  });

  it("a file of any other kind says what a PNG and a JPEG start with", () => {
    expect(refusal(file(Buffer.from("not an image"), "png"))).toMatch(
      /it is not a PNG image \(a PNG file starts with the bytes 89 50 4E 47 0D 0A 1A 0A\) nor a JPEG \(which starts with FF D8 FF\)\.$/,
    );
  });
});
