/**
 * Data augmentation: each training image shifted by a few pixels and rotated by a few degrees, drawn
 * at random (seeded) every time it is used. The image is resampled with bilinear interpolation; what
 * comes from outside the frame is black, as MNIST's background.
 */
import { UserError } from "../graph/errors.js";
import type { FloatArray } from "../ops/op.js";
import type { Dataset } from "./mnist.js";
import type { Random } from "../util/random.js";

export interface AugmentSettings {
  /** Largest shift, in pixels, along each axis. */
  readonly maxShift: number;
  /** Largest rotation, in degrees, either way. */
  readonly maxRotation: number;
}

/**
 * Augmentation shifts and rotates pictures: it needs images that are square 2-D pictures (an idx file
 * of count × side × side). Images stored otherwise — rows of values (count × 784), or a non-square
 * picture — are refused rather than trained on unchanged while augmentation is reported on.
 */
export function checkAugmentable(data: Pick<Dataset, "imageShape" | "side" | "source" | "values">): void {
  if (data.values) {
    throw new UserError(
      `${data.source}: data augmentation (--augment, use_data_augmentation) shifts and rotates pictures, but these samples are rows of ${data.imageShape.join(" × ")} numbers read from a file. Train without augmentation (--no-augment, or "use_data_augmentation": false in the graph's training section).`,
    );
  }
  if (data.side > 0) return;
  const shape = data.imageShape;
  const what =
    shape.length === 1
      ? `rows of ${shape[0]} values (the idx file is count × ${shape[0]}), not 2-D pictures`
      : shape.length === 2
        ? `${shape[0]} × ${shape[1]} pictures, not square ones`
        : `${shape.join(" × ")} arrays, not 2-D pictures`;
  throw new UserError(
    `${data.source}: data augmentation (--augment, use_data_augmentation) shifts and rotates square pictures, but these images are ${what}. Train without augmentation (--no-augment), or store the images as count × side × side.`,
  );
}

/**
 * Transforms each of `rows` square images of side `side` held in `x` (already scaled), in place.
 * `scratch` holds one image (side² values), so nothing is allocated per batch.
 */
export function augmentBatch(x: FloatArray, rows: number, side: number, random: Random, settings: AugmentSettings, scratch: Float64Array): void {
  const n = side * side;
  for (let r = 0; r < rows; r++) {
    const { dx, dy, angle } = drawAugmentation(random, settings);
    if (dx === 0 && dy === 0 && angle === 0) continue;
    const image = x.subarray(r * n, (r + 1) * n);
    scratch.set(image);
    transform(scratch, image, side, dx, dy, angle);
  }
}

/** One image's transform, as `transform` takes it: a shift in pixels and an angle in radians. */
export interface AugmentDraw {
  readonly dx: number;
  readonly dy: number;
  readonly angle: number;
}

/**
 * The next image's transform: whole-pixel shifts (as the report's reference does; only the rotation
 * resamples), each uniform over −maxShift … maxShift, and an angle uniform within ±maxRotation degrees.
 */
export function drawAugmentation(random: Random, settings: AugmentSettings): AugmentDraw {
  const dx = random.int(2 * settings.maxShift + 1) - settings.maxShift;
  const dy = random.int(2 * settings.maxShift + 1) - settings.maxShift;
  const angle = ((random.uniform() * 2 - 1) * settings.maxRotation * Math.PI) / 180;
  return { dx, dy, angle };
}

/** out(p) = in(R⁻¹(p − c − d) + c): rotate by `angle` about the centre c, then shift by d. */
export function transform(input: ArrayLike<number>, out: FloatArray, side: number, dx: number, dy: number, angle: number): void {
  const c = (side - 1) / 2;
  const cos = Math.cos(angle);
  const sin = Math.sin(angle);
  for (let row = 0; row < side; row++) {
    for (let col = 0; col < side; col++) {
      const u = col - c - dx;
      const v = row - c - dy;
      const sx = cos * u + sin * v + c;
      const sy = -sin * u + cos * v + c;
      out[row * side + col] = bilinear(input, side, sx, sy);
    }
  }
}

function bilinear(input: ArrayLike<number>, side: number, x: number, y: number): number {
  const x0 = Math.floor(x);
  const y0 = Math.floor(y);
  const fx = x - x0;
  const fy = y - y0;
  const at = (r: number, c: number) => (r >= 0 && r < side && c >= 0 && c < side ? input[r * side + c]! : 0);
  return (at(y0, x0) * (1 - fx) + at(y0, x0 + 1) * fx) * (1 - fy) + (at(y0 + 1, x0) * (1 - fx) + at(y0 + 1, x0 + 1) * fx) * fy;
}
