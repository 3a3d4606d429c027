/** Grey pictures as flat arrays, and the few operations the digit preprocessing needs on them. */

/** A grey picture: width × height values, row by row. */
export interface Grey {
  readonly data: Float32Array;
  readonly width: number;
  readonly height: number;
}

/** A rectangle of a picture, in whole pixels. */
export interface Box {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

/**
 * The `box` of `image` resampled to w × h by averaging the source area under each target pixel (with
 * fractional weights at the edges): the anti-aliased downscale MNIST's digits were made with.
 */
export function resizeArea(image: Grey, box: Box, w: number, h: number): Float32Array {
  const out = new Float32Array(w * h);
  const sx = box.width / w;
  const sy = box.height / h;
  for (let ty = 0; ty < h; ty++)
    for (let tx = 0; tx < w; tx++) {
      let sum = 0;
      let area = 0;
      for (let y = Math.floor(ty * sy); y < Math.min(box.height, Math.ceil((ty + 1) * sy)); y++) {
        const wy = Math.min(y + 1, (ty + 1) * sy) - Math.max(y, ty * sy);
        for (let x = Math.floor(tx * sx); x < Math.min(box.width, Math.ceil((tx + 1) * sx)); x++) {
          const wx = Math.min(x + 1, (tx + 1) * sx) - Math.max(x, tx * sx);
          sum += wx * wy * image.data[(box.y + y) * image.width + box.x + x]!;
          area += wx * wy;
        }
      }
      out[ty * w + tx] = area > 0 ? sum / area : 0;
    }
  return out;
}

/** `image` scaled down (area-averaged) so that neither side exceeds `side`; unchanged when it already fits. */
export function shrinkToFit(image: Grey, side: number): Grey {
  const scale = side / Math.max(image.width, image.height);
  if (scale >= 1) return image;
  const width = Math.max(1, Math.round(image.width * scale));
  const height = Math.max(1, Math.round(image.height * scale));
  return { data: resizeArea(image, { x: 0, y: 0, width: image.width, height: image.height }, width, height), width, height };
}

/** The q-quantile (0 ≤ q ≤ 1) of `values`, to within 1/4096 of the range [lo, hi] they are known to lie in. */
export function quantile(values: ArrayLike<number>, q: number, lo = 0, hi = 1): number {
  const bins = 4096;
  const counts = new Uint32Array(bins);
  const scale = bins / (hi - lo);
  for (let i = 0; i < values.length; i++) counts[Math.min(bins - 1, Math.max(0, Math.floor((values[i]! - lo) * scale)))]!++;
  const target = q * (values.length - 1);
  let seen = 0;
  for (let b = 0; b < bins; b++) {
    seen += counts[b]!;
    if (seen > target) return lo + (b + 0.5) / scale;
  }
  return hi;
}

/**
 * Otsu's threshold of values in [0, 1]: the level that best splits them into two groups (the one that
 * maximises the variance between the groups' means), here background and strokes.
 */
export function otsuThreshold(values: ArrayLike<number>): number {
  const bins = 256;
  const counts = new Float64Array(bins);
  for (let i = 0; i < values.length; i++) counts[Math.min(bins - 1, Math.max(0, Math.floor(values[i]! * bins)))]!++;
  let total = 0;
  let sum = 0;
  for (let b = 0; b < bins; b++) {
    total += counts[b]!;
    sum += b * counts[b]!;
  }
  let below = 0;
  let sumBelow = 0;
  let best = 0;
  let threshold = 0.5;
  for (let b = 0; b < bins - 1; b++) {
    below += counts[b]!;
    sumBelow += b * counts[b]!;
    const above = total - below;
    if (below === 0 || above === 0) continue;
    const between = below * above * (sumBelow / below - (sum - sumBelow) / above) ** 2;
    if (between > best) {
      best = between;
      threshold = (b + 1) / bins;
    }
  }
  return threshold;
}

/** A group of touching pixels (8-connected) of a mask. */
export interface Component {
  readonly area: number;
  readonly box: Box;
  /** The indices of its pixels. */
  readonly pixels: Int32Array;
}

/** The 8-connected groups of the mask's set pixels. */
export function components(mask: Uint8Array, width: number, height: number): Component[] {
  const seen = new Uint8Array(mask.length);
  const stack = new Int32Array(mask.length);
  const found: Component[] = [];
  for (let start = 0; start < mask.length; start++) {
    if (!mask[start] || seen[start]) continue;
    let top = 0;
    let count = 0;
    stack[top++] = start;
    seen[start] = 1;
    let [x0, y0, x1, y1] = [width, height, -1, -1];
    const pixels: number[] = [];
    while (top > 0) {
      const i = stack[--top]!;
      pixels.push(i);
      count++;
      const x = i % width;
      const y = (i - x) / width;
      x0 = Math.min(x0, x);
      x1 = Math.max(x1, x);
      y0 = Math.min(y0, y);
      y1 = Math.max(y1, y);
      for (let dy = -1; dy <= 1; dy++)
        for (let dx = -1; dx <= 1; dx++) {
          const nx = x + dx;
          const ny = y + dy;
          if (nx < 0 || ny < 0 || nx >= width || ny >= height) continue;
          const j = ny * width + nx;
          if (mask[j] && !seen[j]) {
            seen[j] = 1;
            stack[top++] = j;
          }
        }
    }
    found.push({ area: count, box: { x: x0, y: y0, width: x1 - x0 + 1, height: y1 - y0 + 1 }, pixels: Int32Array.from(pixels) });
  }
  return found;
}

/**
 * Grey dilation (grow > 0: each pixel the largest value within `grow` pixels, across and down) or
 * erosion (grow < 0: the smallest), over a square, in two passes of one dimension each.
 */
export function morph(image: Grey, grow: number): Grey {
  if (grow === 0) return image;
  const r = Math.abs(grow);
  const pick = grow > 0 ? Math.max : Math.min;
  const { width, height } = image;
  const pass = (src: Float32Array, along: "x" | "y") => {
    const out = new Float32Array(src.length);
    for (let y = 0; y < height; y++)
      for (let x = 0; x < width; x++) {
        let value = src[y * width + x]!;
        for (let d = -r; d <= r; d++) {
          const nx = along === "x" ? x + d : x;
          const ny = along === "y" ? y + d : y;
          if (nx >= 0 && ny >= 0 && nx < width && ny < height) value = pick(value, src[ny * width + nx]!);
        }
        out[y * width + x] = value;
      }
    return out;
  };
  return { data: pass(pass(image.data, "x"), "y"), width, height };
}
