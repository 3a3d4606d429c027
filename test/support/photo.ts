/**
 * Photographed-looking pictures of real MNIST digits, made in a test: the digit enlarged smoothly (as a
 * pen stroke, not as blocks), drawn in dark ink on tinted paper, under uneven light (a gradient across
 * the picture), with sensor noise, with a thick or a thin pen (the strokes dilated or eroded), placed
 * anywhere at any size; saved as PNG or as JPEG.
 */
import jpeg from "jpeg-js";
import { PNG } from "pngjs";
import { MT19937 } from "../../src/data/mt19937.js";

export interface PhotoOptions {
  /** The picture's size in pixels. */
  width: number;
  height: number;
  /** The side the digit's 28 × 28 frame is enlarged to, and where its top-left corner is placed. */
  digitSide: number;
  at: [number, number];
  /** Colours as [r, g, b]: the paper (default #e8e4dc, off-white), the ink (default a dark blue-black). */
  paper?: [number, number, number];
  ink?: [number, number, number];
  /** The light's strength at the top-left and bottom-right corners (a linear gradient between them); default even, [1, 1]. */
  light?: [number, number];
  /** Gaussian noise's σ, in grey levels of 255; default 0. */
  noise?: number;
  /** The pen: strokes grown (> 0) or thinned (< 0) by this many pixels of the picture; default 0. */
  pen?: number;
  seed?: number;
}

export interface Photo {
  width: number;
  height: number;
  rgba: Uint8Array;
}

export const PAPER: [number, number, number] = [0xe8, 0xe4, 0xdc];

/** The picture of the 28 × 28 `digit` (bytes, light on dark as in MNIST) as the options say. */
export function photographed(digit: Uint8Array, o: PhotoOptions): Photo {
  const { width, height, digitSide } = o;
  const paper = o.paper ?? PAPER;
  const ink = o.ink ?? [25, 28, 48];
  const [lightFrom, lightTo] = o.light ?? [1, 1];
  const random = new MT19937(o.seed ?? 1);
  const uniform = () => (random.nextUint32() + 0.5) / 2 ** 32;
  const gaussian = () => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
  // Ink coverage: the digit sampled bilinearly, its edges sharpened as a pen's are.
  let cover: Float32Array = new Float32Array(width * height);
  const scale = 28 / digitSide;
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      const u = (x - o.at[0] + 0.5) * scale - 0.5;
      const v = (y - o.at[1] + 0.5) * scale - 0.5;
      const value = bilinear(digit, u, v) / 255;
      cover[y * width + x] = smoothstep(0.25, 0.6, value);
    }
  const pen = o.pen ?? 0;
  if (pen !== 0) cover = morph(cover, width, height, Math.abs(pen), pen > 0 ? Math.max : Math.min);
  const rgba = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      const i = y * width + x;
      const t = (x / width + y / height) / 2;
      const light = lightFrom + (lightTo - lightFrom) * t;
      const a = cover[i]!;
      for (let c = 0; c < 3; c++) {
        const value = (paper[c]! * (1 - a) + ink[c]! * a) * light + (o.noise ?? 0) * gaussian();
        rgba[4 * i + c] = Math.max(0, Math.min(255, Math.round(value)));
      }
      rgba[4 * i + 3] = 255;
    }
  return { width, height, rgba };
}

function bilinear(digit: Uint8Array, u: number, v: number): number {
  const at = (x: number, y: number) => (x < 0 || y < 0 || x >= 28 || y >= 28 ? 0 : digit[y * 28 + x]!);
  const x0 = Math.floor(u);
  const y0 = Math.floor(v);
  const fx = u - x0;
  const fy = v - y0;
  return at(x0, y0) * (1 - fx) * (1 - fy) + at(x0 + 1, y0) * fx * (1 - fy) + at(x0, y0 + 1) * (1 - fx) * fy + at(x0 + 1, y0 + 1) * fx * fy;
}

function smoothstep(lo: number, hi: number, x: number): number {
  const t = Math.min(1, Math.max(0, (x - lo) / (hi - lo)));
  return t * t * (3 - 2 * t);
}

/** Grey dilation (max) or erosion (min) over a disc of radius r. */
function morph(src: Float32Array, width: number, height: number, r: number, pick: (a: number, b: number) => number): Float32Array {
  const out = new Float32Array(src.length);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      let value = src[y * width + x]!;
      for (let dy = -r; dy <= r; dy++)
        for (let dx = -r; dx <= r; dx++) {
          if (dx * dx + dy * dy > r * r) continue;
          const nx = Math.min(width - 1, Math.max(0, x + dx));
          const ny = Math.min(height - 1, Math.max(0, y + dy));
          value = pick(value, src[ny * width + nx]!);
        }
      out[y * width + x] = value;
    }
  return out;
}

export function asPng(photo: Photo): Buffer {
  const png = new PNG({ width: photo.width, height: photo.height });
  png.data.set(photo.rgba);
  return PNG.sync.write(png);
}

export function asJpeg(photo: Photo, quality = 85): Buffer {
  return jpeg.encode({ width: photo.width, height: photo.height, data: photo.rgba }, quality).data;
}
