/**
 * Pictures given to `predict` that cannot be a digit: a tiny file claiming a huge size (refused from its
 * header, before a decoder would allocate gigabytes for it), a zero-width one, one that is not a PNG, and
 * pictures that decode but hold nothing (blank, fully transparent, one flat grey), which are read with a
 * warning.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PNG } from "pngjs";
import { describe, expect, it } from "vitest";
import { readDigitPicture } from "../../src/data/image.js";
import { MAX_PICTURE_SIDE } from "../../src/data/png-header.js";
import { loadMnist } from "../../src/data/mnist.js";
import { claimedPng, flatPng } from "../support/png.js";
import { expectRefusal } from "../support/refusal.js";

const dir = mkdtempSync(join(tmpdir(), "graphnet-bad-pngs-"));
let files = 0;
const file = (bytes: Uint8Array) => {
  const path = join(dir, `picture-${++files}.png`);
  writeFileSync(path, bytes);
  return path;
};

function refusal(path: string): string {
  return expectRefusal(() => readDigitPicture(path), `${path}: cannot read the digit: `);
}

describe("a picture whose size makes no sense for a digit", () => {
  it("a file of a few dozen bytes claiming 30000 × 30000 pixels is refused from its header", () => {
    const bytes = claimedPng(30_000, 30_000);
    expect(bytes.length).toBeLessThan(100);
    expect(refusal(file(bytes))).toMatch(/the picture claims 30000 × 30000 pixels; graphnet reads pictures of at most 4096 × 4096/);
  });

  it.each([
    [MAX_PICTURE_SIDE + 1, 10],
    [10, MAX_PICTURE_SIDE + 1],
    [2 ** 32 - 1, 1],
  ])("%i × %i is refused", (width, height) => {
    expect(refusal(file(claimedPng(width, height)))).toMatch(new RegExp(`claims ${width} × ${height} pixels`));
  });

  it.each([
    [0, 28],
    [28, 0],
  ])("%i × %i (nothing to read) is refused", (width, height) => {
    expect(refusal(file(claimedPng(width, height)))).toMatch(new RegExp(`the picture is ${width} × ${height} pixels: there is nothing in it to read`));
  });

  it("the largest side allowed is read", () => {
    const picture = readDigitPicture(file(flatPng(MAX_PICTURE_SIDE, 2, [0, 0, 0, 255])));
    expect(picture.pixels).toHaveLength(784);
  });
});

describe("a file that is not a PNG, or a damaged one", () => {
  it.each<[string, Uint8Array, RegExp]>([
    ["text", Buffer.from("not an image"), /it is not a PNG image \(a PNG file starts with the bytes 89 50 4E 47/],
    [
      "a JPEG's first bytes",
      Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 0x10, 0x4a, 0x46, 0x49, 0x46]),
      /the JPEG is damaged or cut short \(no frame header giving its size/,
    ],
    ["the signature alone", claimedPng(28, 28).subarray(0, 8), /damaged or cut short \(its first chunk is not the IHDR header/],
    ["a header cut in the middle of the width", claimedPng(28, 28).subarray(0, 18), /damaged or cut short/],
    ["a sound header over damaged image data", Buffer.concat([claimedPng(28, 28).subarray(0, 33), Buffer.from("garbage")]), /it is not a readable PNG image/],
  ])("%s is refused", (_name, bytes, message) => {
    expect(refusal(file(bytes))).toMatch(message);
  });

  it("a missing file, or a directory, is named", () => {
    expect(refusal(join(dir, "absent.png"))).toMatch(/there is no such file/);
    expect(refusal(dir)).toMatch(/it is a folder, not a file \(EISDIR\)/);
  });
});

describe("a picture that decodes but holds no digit", () => {
  it.each<[string, [number, number, number, number], RegExp]>([
    ["blank white", [255, 255, 255, 255], /holds no digit \(it is one flat colour\)/],
    ["blank black", [0, 0, 0, 255], /holds no digit \(it is one flat colour\)/],
    ["flat grey", [128, 128, 128, 255], /holds no digit \(it is one flat colour\)/],
    ["fully transparent", [0, 0, 0, 0], /holds no digit \(it is fully transparent\)/],
  ])("%s is read with a warning", (_name, rgba, message) => {
    const path = file(flatPng(40, 30, rgba));
    const picture = readDigitPicture(path);
    expect(picture.warning).toMatch(message);
    expect(picture.warning!.startsWith(`${path}: `)).toBe(true);
    expect(picture.pixels).toHaveLength(784);
  });

  it("a digit is read without one", () => {
    const mnist = loadMnist();
    const png = new PNG({ width: 28, height: 28 });
    for (let i = 0; i < 784; i++) png.data.set([mnist.images[i]!, mnist.images[i]!, mnist.images[i]!, 255], 4 * i);
    expect(readDigitPicture(file(PNG.sync.write(png))).warning).toBeUndefined();
  });
});
