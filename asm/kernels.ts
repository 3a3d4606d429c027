// graphnet's WebAssembly SIMD kernels (AssemblyScript, built by asm/build.mjs with
// `asc asm/kernels.ts -O3 --noAssert --runtime stub --enable simd,threads --importMemory --sharedMemory`).
//
// Every kernel works in place on the executor's arena, which lives in this module's (imported) memory:
// arguments are byte offsets into it (a Float32Array view's byteOffset) and element counts. Nothing here
// allocates. float32 throughout, SIMD over f32x4 (plain SIMD: relaxed SIMD needs a flag in Node 20).
//
// Matrices are row-major. op(A)[i, p] lives at A[i·aRow + p·aCol] (elements), so one kernel serves A and Aᵀ.

// ───────────────────────── matrix products ─────────────────────────

/**
 * C[m×n] = op(A)[m×k] · B[k×n], blocked 4 rows × 8 columns (8 f32x4 accumulators). With an epilogue (see
 * `emit`): C = op(A)·B + bias, and relu(C) too.
 */
export function matmul(a: usize, b: usize, c: usize, m: i32, k: i32, n: i32, aRow: i32, aCol: i32, bias: usize, reluDelta: usize): void {
  let i = 0;
  for (; i + 4 <= m; i += 4) {
    const a0 = a + (<usize>(i * aRow) << 2);
    const a1 = a + (<usize>((i + 1) * aRow) << 2);
    const a2 = a + (<usize>((i + 2) * aRow) << 2);
    const a3 = a + (<usize>((i + 3) * aRow) << 2);
    let j = 0;
    for (; j + 8 <= n; j += 8) {
      let c00 = f32x4.splat(0), c01 = f32x4.splat(0), c10 = f32x4.splat(0), c11 = f32x4.splat(0);
      let c20 = f32x4.splat(0), c21 = f32x4.splat(0), c30 = f32x4.splat(0), c31 = f32x4.splat(0);
      let bp = b + (<usize>j << 2);
      const bStep = <usize>n << 2;
      let ap: usize = 0;
      const aStep = <usize>aCol << 2;
      for (let p = 0; p < k; p++) {
        const b0 = v128.load(bp);
        const b1 = v128.load(bp, 16);
        let s = v128.load32_splat(a0 + ap);
        c00 = f32x4.add(c00, f32x4.mul(s, b0));
        c01 = f32x4.add(c01, f32x4.mul(s, b1));
        s = v128.load32_splat(a1 + ap);
        c10 = f32x4.add(c10, f32x4.mul(s, b0));
        c11 = f32x4.add(c11, f32x4.mul(s, b1));
        s = v128.load32_splat(a2 + ap);
        c20 = f32x4.add(c20, f32x4.mul(s, b0));
        c21 = f32x4.add(c21, f32x4.mul(s, b1));
        s = v128.load32_splat(a3 + ap);
        c30 = f32x4.add(c30, f32x4.mul(s, b0));
        c31 = f32x4.add(c31, f32x4.mul(s, b1));
        bp += bStep;
        ap += aStep;
      }
      storeBlock4x8(c + (<usize>(i * n + j) << 2), <usize>n << 2, c00, c01, c10, c11, c20, c21, c30, c31, columnBias(bias, j), reluDelta);
    }
    // Columns left over (the 10 classes of the last layer leave 2): 4 at a time, the last 1–3 in part of a vector.
    for (; j < n; j += 4) {
      matmulBlock4x4(a0, a1, a2, a3, <usize>aCol << 2, b + (<usize>j << 2), c + (<usize>(i * n + j) << 2), k, n, min(4, n - j), columnBias(bias, j), reluDelta);
    }
  }
  for (; i < m; i++) matmulRowTail(a, b, c, i, 0, k, n, aRow, aCol, bias, reluDelta);
}

/**
 * C[m×n] = A[m×k] · Bᵀ for B n × k (a weight, as in δ·Wᵀ): B transposed into `scratch` (k × n), then
 * `matmul`. Each thread sharing a product transposes B into its own scratch space, so that neither reads
 * what the other has just written (the whole of Bᵀ, which every row of C needs).
 */
export function matmulTransposedB(a: usize, b: usize, c: usize, m: i32, k: i32, n: i32, scratch: usize): void {
  transpose(b, scratch, n, k);
  matmul(a, scratch, c, m, k, n, k, 1, 0, 0);
}

/**
 * A product's epilogue, at each stored vector v of C (at cp): C = v + the bias of its columns (when bias
 * ≠ 0: the address of those columns' bias values), and relu of that stored reluDelta bytes further
 * (when reluDelta ≠ 0) — a layer's matmul, bias add and activation in one pass over its output, the
 * same additions and comparisons as the separate kernels (addBias, relu), so the same bits.
 */
@inline function emit(cp: usize, v: v128, bias: usize, reluDelta: usize): void {
  const z = bias != 0 ? f32x4.add(v, v128.load(bias)) : v;
  v128.store(cp, z);
  if (reluDelta != 0) v128.store(cp + reluDelta, v128.andnot(z, f32x4.lt(z, f32x4.splat(0))));
}

/** emit for the first `count` (1–3) lanes. */
@inline function emitPartial(cp: usize, v: v128, count: i32, bias: usize, reluDelta: usize): void {
  const z = bias != 0 ? f32x4.add(v, loadPartial(bias, count)) : v;
  storePartial(cp, z, count);
  if (reluDelta != 0) storePartial(cp + reluDelta, v128.andnot(z, f32x4.lt(z, f32x4.splat(0))), count);
}

/** The address of the bias of column j, or 0 without a bias. */
@inline function columnBias(bias: usize, j: i32): usize {
  return bias != 0 ? bias + (<usize>j << 2) : 0;
}

/**
 * Columns j … j+width−1 (width ≤ 4) of 4 rows of C, at cp; b points at B[0, j]. With width < 4 each load
 * of B takes up to 3 values past the end of a row of B — for its last row, past B itself, which is
 * harmless: every operand (the arena's values, Bᵀ in the scratch space) is followed by more of the same
 * memory (the scratch spaces, the control block). Only the `width` columns are stored.
 */
@inline function matmulBlock4x4(a0: usize, a1: usize, a2: usize, a3: usize, aStep: usize, b: usize, cp: usize, k: i32, n: i32, width: i32, bias: usize, reluDelta: usize): void {
  let c0 = f32x4.splat(0), c1 = f32x4.splat(0), c2 = f32x4.splat(0), c3 = f32x4.splat(0);
  let bp = b;
  let ap: usize = 0;
  const bStep = <usize>n << 2;
  for (let p = 0; p < k; p++) {
    const bv = v128.load(bp);
    c0 = f32x4.add(c0, f32x4.mul(v128.load32_splat(a0 + ap), bv));
    c1 = f32x4.add(c1, f32x4.mul(v128.load32_splat(a1 + ap), bv));
    c2 = f32x4.add(c2, f32x4.mul(v128.load32_splat(a2 + ap), bv));
    c3 = f32x4.add(c3, f32x4.mul(v128.load32_splat(a3 + ap), bv));
    bp += bStep;
    ap += aStep;
  }
  if (width == 4) {
    emit(cp, c0, bias, reluDelta);
    emit(cp + bStep, c1, bias, reluDelta);
    emit(cp + 2 * bStep, c2, bias, reluDelta);
    emit(cp + 3 * bStep, c3, bias, reluDelta);
  } else {
    emitPartial(cp, c0, width, bias, reluDelta);
    emitPartial(cp + bStep, c1, width, bias, reluDelta);
    emitPartial(cp + 2 * bStep, c2, width, bias, reluDelta);
    emitPartial(cp + 3 * bStep, c3, width, bias, reluDelta);
  }
}

/** Stores a 4-row × 8-column block of C (rows rowBytes apart): cR0 holds columns 0–3 of row R, cR1 4–7. */
@inline function storeBlock4x8(cp: usize, rowBytes: usize, c00: v128, c01: v128, c10: v128, c11: v128, c20: v128, c21: v128, c30: v128, c31: v128, bias: usize, reluDelta: usize): void {
  const bias1 = bias != 0 ? bias + 16 : 0;
  emit(cp, c00, bias, reluDelta);
  emit(cp + 16, c01, bias1, reluDelta);
  emit(cp + rowBytes, c10, bias, reluDelta);
  emit(cp + rowBytes + 16, c11, bias1, reluDelta);
  emit(cp + 2 * rowBytes, c20, bias, reluDelta);
  emit(cp + 2 * rowBytes + 16, c21, bias1, reluDelta);
  emit(cp + 3 * rowBytes, c30, bias, reluDelta);
  emit(cp + 3 * rowBytes + 16, c31, bias1, reluDelta);
}

/** C[i, j0…n) of C = op(A)·B, for one row: 4 columns at a time, the last 1–3 in part of a vector (see matmulBlock4x4). */
function matmulRowTail(a: usize, b: usize, c: usize, i: i32, j0: i32, k: i32, n: i32, aRow: i32, aCol: i32, bias: usize, reluDelta: usize): void {
  const ai = a + (<usize>(i * aRow) << 2);
  const aStep = <usize>aCol << 2;
  for (let j = j0; j < n; j += 4) {
    let acc = f32x4.splat(0);
    let bp = b + (<usize>j << 2);
    let ap: usize = 0;
    for (let p = 0; p < k; p++) {
      acc = f32x4.add(acc, f32x4.mul(v128.load32_splat(ai + ap), v128.load(bp)));
      bp += <usize>n << 2;
      ap += aStep;
    }
    const cp = c + (<usize>(i * n + j) << 2);
    if (j + 4 <= n) emit(cp, acc, columnBias(bias, j), reluDelta);
    else emitPartial(cp, acc, n - j, columnBias(bias, j), reluDelta);
  }
}

/**
 * C = op(A)·B skipping the zeros of op(A) (MNIST's pixels are 81 % zeros). The sum runs over p in the same
 * order as `matmul`, and the skipped terms are exact zeros, so the result is the dense kernel's bit for bit
 * (unless B holds an ∞ or a NaN).
 *
 * op(A) = A (a batch times weights, the forward product): for each row of A, the list of its nonzero
 * entries is gathered into `scratch` (8 bytes each: the value, and where its row of B starts), then each
 * block of columns of C accumulates only over that list.
 *
 * op(A) = Aᵀ (the weight gradient Xᵀ·δ): see `sparseTransposedRows`.
 *
 * An epilogue (bias, reluDelta: see `emit`) applies to op(A) = A only.
 */
export function matmulSparseA(a: usize, b: usize, c: usize, m: i32, k: i32, n: i32, aRow: i32, aCol: i32, scratch: usize, bias: usize, reluDelta: usize): void {
  const aStep = <usize>aCol << 2;
  let i = 0;
  if (aRow == 1 && aCol != 1) i = sparseTransposedRows(a, b, c, m, k, n, aCol, scratch);
  for (; i < m; i++) sparseRow(a + (<usize>(i * aRow) << 2), aStep, b, c + (<usize>(i * n) << 2), k, n, scratch, bias, reluDelta);
}

/**
 * Which of the 8 pairs of columns [0, 16) of A (k rows, aStep bytes apart, from ap) are zero in every row:
 * bit q for columns 2q and 2q+1. One pass over the 64 bytes of each row (one or two cache lines, which the pairs'
 * lists then read again from the nearest cache): the border of an image is blank in a whole batch, and
 * its pairs skip the list (a quarter of them for MNIST at batch 256).
 */
@inline function blankPairs(ap: usize, aStep: usize, k: i32): i32 {
  let o0 = i32x4.splat(0), o1 = i32x4.splat(0), o2 = i32x4.splat(0), o3 = i32x4.splat(0);
  for (let p = 0; p < k; p++) {
    o0 = v128.or(o0, v128.load(ap));
    o1 = v128.or(o1, v128.load(ap, 16));
    o2 = v128.or(o2, v128.load(ap, 32));
    o3 = v128.or(o3, v128.load(ap, 48));
    ap += aStep;
  }
  const zero = i64x2.splat(0);
  const used = i64x2.bitmask(i64x2.ne(o0, zero)) | (i64x2.bitmask(i64x2.ne(o1, zero)) << 2) | (i64x2.bitmask(i64x2.ne(o2, zero)) << 4) | (i64x2.bitmask(i64x2.ne(o3, zero)) << 6);
  return ~used & 0xff;
}

/**
 * C = Aᵀ·B for A stored k × (row stride aCol), in pairs of rows of C — 2 adjacent pixels, 8 bytes per
 * sample — for as many whole pairs as there are; returns how many rows it did.
 *
 * Adjacent pixels of a handwritten digit are zero or not together (the stroke is thicker than a pixel), so
 * the samples where EITHER of a pair is nonzero are not many more than where one is. The pair's list of
 * those samples (their 2 values, and their row of B) is gathered once into `scratch` (12 bytes per
 * sample), and a dense-style register block of 2 rows × 16 columns runs over it: 4 loads of B for every 8
 * multiply-adds, where a one-row list needs 8 for 8. (Groups of 4 pixels with a 4 × 8 block load B as
 * little, but list about 1.5 times as many samples as one pixel does on MNIST, which costs more than the
 * fewer loads save.) A pixel
 * that is zero in a listed sample adds an exact zero, so the result is still the dense kernel's bit for
 * bit — unless B holds an ∞ or a NaN, which a zero times then turns into a NaN (as the dense kernel's
 * would, where a skipping kernel's would not). A pair with no nonzero at all (the border of the images)
 * is written as the dense kernel's sums of zeros: +0.
 */
function sparseTransposedRows(a: usize, b: usize, c: usize, m: i32, k: i32, n: i32, aCol: i32, scratch: usize): i32 {
  // The list: 12 bytes per listed sample, its 2 pixels and the byte offset of its row of B, walked by pointer.
  const list = scratch;
  const aStep = <usize>aCol << 2;
  const rowBytes = <usize>n << 2;
  let i = 0;
  let blank = 0; // bit q: pair q of the current block of 8 pairs is zero in every sample
  for (; i + 2 <= m; i += 2) {
    const c0 = c + <usize>i * rowBytes;
    const c1 = c0 + rowBytes;
    if ((i & 15) == 0) blank = i + 16 <= m ? blankPairs(a + (<usize>i << 2), aStep, k) : 0;
    if (blank & (1 << ((i & 15) >> 1))) {
      memory.fill(c0, 0, rowBytes * 2);
      continue;
    }
    // Branchless, as in gatherNonzeros: always write the slot, advance past a sample with a nonzero.
    let end = list;
    let ap = a + (<usize>i << 2);
    let bOffset: usize = 0;
    for (let p = 0; p < k; p++) {
      const v = load<u64>(ap);
      store<u64>(end, v);
      store<u32>(end, <u32>bOffset, 8);
      end += select<usize>(12, 0, v != 0);
      ap += aStep;
      bOffset += rowBytes;
    }
    if (end == list) {
      memory.fill(c0, 0, rowBytes * 2);
      continue;
    }
    let j = 0;
    for (; j + 16 <= n; j += 16) {
      let c00 = f32x4.splat(0), c01 = f32x4.splat(0), c02 = f32x4.splat(0), c03 = f32x4.splat(0);
      let c10 = f32x4.splat(0), c11 = f32x4.splat(0), c12 = f32x4.splat(0), c13 = f32x4.splat(0);
      const bj = b + (<usize>j << 2);
      for (let q = list; q < end; q += 12) {
        const bp = bj + <usize>load<u32>(q, 8);
        const b0 = v128.load(bp);
        const b1 = v128.load(bp, 16);
        const b2 = v128.load(bp, 32);
        const b3 = v128.load(bp, 48);
        const s = v128.load32_splat(q);
        const r = v128.load32_splat(q, 4);
        c00 = f32x4.add(c00, f32x4.mul(s, b0));
        c01 = f32x4.add(c01, f32x4.mul(s, b1));
        c02 = f32x4.add(c02, f32x4.mul(s, b2));
        c03 = f32x4.add(c03, f32x4.mul(s, b3));
        c10 = f32x4.add(c10, f32x4.mul(r, b0));
        c11 = f32x4.add(c11, f32x4.mul(r, b1));
        c12 = f32x4.add(c12, f32x4.mul(r, b2));
        c13 = f32x4.add(c13, f32x4.mul(r, b3));
      }
      const cp = c0 + (<usize>j << 2);
      v128.store(cp, c00);
      v128.store(cp, c01, 16);
      v128.store(cp, c02, 32);
      v128.store(cp, c03, 48);
      const cq = c1 + (<usize>j << 2);
      v128.store(cq, c10);
      v128.store(cq, c11, 16);
      v128.store(cq, c12, 32);
      v128.store(cq, c13, 48);
    }
    // Columns left over: 4 at a time for both rows, the last 1–3 in part of a vector (see matmulBlock4x4).
    for (; j < n; j += 4) {
      let acc0 = f32x4.splat(0), acc1 = f32x4.splat(0);
      const bj = b + (<usize>j << 2);
      for (let q = list; q < end; q += 12) {
        const bv = v128.load(bj + <usize>load<u32>(q, 8));
        acc0 = f32x4.add(acc0, f32x4.mul(v128.load32_splat(q), bv));
        acc1 = f32x4.add(acc1, f32x4.mul(v128.load32_splat(q, 4), bv));
      }
      if (j + 4 <= n) {
        v128.store(c0 + (<usize>j << 2), acc0);
        v128.store(c1 + (<usize>j << 2), acc1);
      } else {
        storePartial(c0 + (<usize>j << 2), acc0, n - j);
        storePartial(c1 + (<usize>j << 2), acc1, n - j);
      }
    }
  }
  return i;
}

/**
 * For each 4-bit mask of lanes, the i8x16.swizzle that moves the lanes set in it to the front, in order
 * (the other bytes come out 0): compacts a vector to its nonzero lanes in one instruction. A data segment:
 * every instance (the worker's too) writes these bytes into the shared memory's first page as it starts,
 * the same bytes, so a thread reading them meanwhile reads them right.
 */
const COMPACT_LANES = memory.data<u8>([
  128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128,
  0, 1, 2, 3, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128,
  4, 5, 6, 7, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128,
  0, 1, 2, 3, 4, 5, 6, 7, 128, 128, 128, 128, 128, 128, 128, 128,
  8, 9, 10, 11, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128,
  0, 1, 2, 3, 8, 9, 10, 11, 128, 128, 128, 128, 128, 128, 128, 128,
  4, 5, 6, 7, 8, 9, 10, 11, 128, 128, 128, 128, 128, 128, 128, 128,
  0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 128, 128, 128, 128,
  12, 13, 14, 15, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128,
  0, 1, 2, 3, 12, 13, 14, 15, 128, 128, 128, 128, 128, 128, 128, 128,
  4, 5, 6, 7, 12, 13, 14, 15, 128, 128, 128, 128, 128, 128, 128, 128,
  0, 1, 2, 3, 4, 5, 6, 7, 12, 13, 14, 15, 128, 128, 128, 128,
  8, 9, 10, 11, 12, 13, 14, 15, 128, 128, 128, 128, 128, 128, 128, 128,
  0, 1, 2, 3, 8, 9, 10, 11, 12, 13, 14, 15, 128, 128, 128, 128,
  4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 128, 128, 128, 128,
  0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15
], 16);

/**
 * Appends the nonzero lanes of v (the values of pixels p … p+3, whose rows of B start at the byte offsets
 * in rows) to the list; returns its new length. Branch-free, 4 lanes at once: their mask picks a swizzle
 * that moves the nonzero values, and their offsets, to the front; 4 entries are stored whatever the mask
 * (those past the nonzero ones are overwritten by the next append, or left unread).
 */
@inline function appendNonzeros(v: v128, rows: v128, count: i32, list: usize): i32 {
  const mask = i32x4.bitmask(f32x4.ne(v, f32x4.splat(0)));
  const order = v128.load(COMPACT_LANES + (<usize>mask << 4));
  const values = i8x16.swizzle(v, order);
  const offsets = i8x16.swizzle(rows, order);
  const at = list + (<usize>count << 3);
  v128.store(at, i32x4.shuffle(values, offsets, 0, 4, 1, 5));
  v128.store(at, i32x4.shuffle(values, offsets, 2, 6, 3, 7), 16);
  return count + popcnt(mask);
}

/**
 * Gathers the nonzero entries of one row of op(A) (k of them, aStep bytes apart) into the list: 8 bytes
 * an entry, the value and then the byte offset of its row of B (rowBytes long). Returns their number.
 */
@inline function gatherNonzeros(ai: usize, aStep: usize, k: i32, rowBytes: u32, list: usize): i32 {
  // Branchless: always write the slots, advance only past nonzeros (a branch on 19 % nonzero pixels
  // mispredicts often). The list is the same, in the same order, as a branch would give.
  let count = 0;
  let p = 0;
  if (aStep == 4) {
    // Contiguous: 16 values at a time, then 4, and 16 zeros (a blank stretch of an image) cost one test.
    // appendNonzeros stores 4 entries at `count`, which is at most p (the nonzeros among the first p
    // values): no store reaches past entry k, so k entries' room (8k bytes) is enough.
    const laneRows = i32x4.mul(i32x4.splat(rowBytes), i32x4(0, 1, 2, 3));
    const four = i32x4.splat(4 * rowBytes);
    for (; p + 16 <= k; p += 16) {
      const q = ai + (<usize>p << 2);
      const v0 = v128.load(q);
      const v1 = v128.load(q, 16);
      const v2 = v128.load(q, 32);
      const v3 = v128.load(q, 48);
      if (!v128.any_true(v128.or(v128.or(v0, v1), v128.or(v2, v3)))) continue;
      const rows0 = i32x4.add(i32x4.splat(<u32>p * rowBytes), laneRows);
      const rows1 = i32x4.add(rows0, four);
      const rows2 = i32x4.add(rows1, four);
      count = appendNonzeros(v0, rows0, count, list);
      count = appendNonzeros(v1, rows1, count, list);
      count = appendNonzeros(v2, rows2, count, list);
      count = appendNonzeros(v3, i32x4.add(rows2, four), count, list);
    }
    for (; p + 4 <= k; p += 4) count = appendNonzeros(v128.load(ai + (<usize>p << 2)), i32x4.add(i32x4.splat(<u32>p * rowBytes), laneRows), count, list);
  }
  let ap = <usize>p * aStep;
  let pb = <u32>p * rowBytes;
  for (; p < k; p++) {
    const v = load<f32>(ai + ap);
    store<f32>(list + (<usize>count << 3), v);
    store<u32>(list + (<usize>count << 3), pb, 4);
    count += i32(v != 0);
    pb += rowBytes;
    ap += aStep;
  }
  return count;
}

/**
 * One row of C = op(A)·B over the nonzeros of op(A)'s row (at ai, aStep bytes apart): 24 columns at a time
 * (6 accumulators), then 8, then 4, the last 1–3 in part of a vector (see matmulBlock4x4).
 *
 * Why 24: V8 gives a WebAssembly function 15 vector registers and loads all of an iteration's rows of B
 * before the arithmetic, so 8 accumulators (32 columns) need 8 + 8 + 1 registers and one accumulator lives
 * on the stack, its every addition waiting on a store and a load, which costs more than the wider block saves.
 *
 * The inner loops walk the list by pointer, value and row offset side by side: fewer instructions per
 * nonzero than two arrays and a counter (the loop is bound by how fast the core issues them, not by its
 * multipliers).
 */
function sparseRow(ai: usize, aStep: usize, b: usize, ci: usize, k: i32, n: i32, list: usize, bias: usize, reluDelta: usize): void {
  const count = gatherNonzeros(ai, aStep, k, <u32>n << 2, list);
  const end = list + (<usize>count << 3);
  let j = 0;
  for (; j + 24 <= n; j += 24) {
    let c0 = f32x4.splat(0), c1 = f32x4.splat(0), c2 = f32x4.splat(0), c3 = f32x4.splat(0);
    let c4 = f32x4.splat(0), c5 = f32x4.splat(0);
    const bj = b + (<usize>j << 2);
    for (let q = list; q < end; q += 8) {
      const s = v128.load32_splat(q);
      const bp = bj + <usize>load<u32>(q, 4);
      c0 = f32x4.add(c0, f32x4.mul(s, v128.load(bp)));
      c1 = f32x4.add(c1, f32x4.mul(s, v128.load(bp, 16)));
      c2 = f32x4.add(c2, f32x4.mul(s, v128.load(bp, 32)));
      c3 = f32x4.add(c3, f32x4.mul(s, v128.load(bp, 48)));
      c4 = f32x4.add(c4, f32x4.mul(s, v128.load(bp, 64)));
      c5 = f32x4.add(c5, f32x4.mul(s, v128.load(bp, 80)));
    }
    const cp = ci + (<usize>j << 2);
    emit(cp, c0, columnBias(bias, j), reluDelta);
    emit(cp + 16, c1, columnBias(bias, j + 4), reluDelta);
    emit(cp + 32, c2, columnBias(bias, j + 8), reluDelta);
    emit(cp + 48, c3, columnBias(bias, j + 12), reluDelta);
    emit(cp + 64, c4, columnBias(bias, j + 16), reluDelta);
    emit(cp + 80, c5, columnBias(bias, j + 20), reluDelta);
  }
  for (; j + 8 <= n; j += 8) {
    let c0 = f32x4.splat(0), c1 = f32x4.splat(0);
    const bj = b + (<usize>j << 2);
    for (let q = list; q < end; q += 8) {
      const s = v128.load32_splat(q);
      const bp = bj + <usize>load<u32>(q, 4);
      c0 = f32x4.add(c0, f32x4.mul(s, v128.load(bp)));
      c1 = f32x4.add(c1, f32x4.mul(s, v128.load(bp, 16)));
    }
    const cp = ci + (<usize>j << 2);
    emit(cp, c0, columnBias(bias, j), reluDelta);
    emit(cp + 16, c1, columnBias(bias, j + 4), reluDelta);
  }
  for (; j < n; j += 4) {
    let acc = f32x4.splat(0);
    const bj = b + (<usize>j << 2);
    for (let q = list; q < end; q += 8) {
      acc = f32x4.add(acc, f32x4.mul(v128.load32_splat(q), v128.load(bj + <usize>load<u32>(q, 4))));
    }
    if (j + 4 <= n) emit(ci + (<usize>j << 2), acc, columnBias(bias, j), reluDelta);
    else emitPartial(ci + (<usize>j << 2), acc, n - j, columnBias(bias, j), reluDelta);
  }
}

@inline function hsum(v: v128): f32 {
  return f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1) + (f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3));
}

/** dst[cols × rows] = src[rows × cols]ᵀ, in 4 × 4 blocks (the edges one value at a time). */
export function transpose(src: usize, dst: usize, rows: i32, cols: i32): void {
  const srcRow = <usize>cols << 2;
  const dstRow = <usize>rows << 2;
  let r = 0;
  for (; r + 4 <= rows; r += 4) {
    let c = 0;
    for (; c + 4 <= cols; c += 4) {
      const sp = src + <usize>r * srcRow + (<usize>c << 2);
      const x0 = v128.load(sp);
      const x1 = v128.load(sp + srcRow);
      const x2 = v128.load(sp + 2 * srcRow);
      const x3 = v128.load(sp + 3 * srcRow);
      // Interleave pairs of rows, then pairs of pairs: the columns of the block become rows.
      const t0 = i32x4.shuffle(x0, x1, 0, 4, 1, 5);
      const t1 = i32x4.shuffle(x2, x3, 0, 4, 1, 5);
      const t2 = i32x4.shuffle(x0, x1, 2, 6, 3, 7);
      const t3 = i32x4.shuffle(x2, x3, 2, 6, 3, 7);
      const dp = dst + <usize>c * dstRow + (<usize>r << 2);
      v128.store(dp, i64x2.shuffle(t0, t1, 0, 2));
      v128.store(dp + dstRow, i64x2.shuffle(t0, t1, 1, 3));
      v128.store(dp + 2 * dstRow, i64x2.shuffle(t2, t3, 0, 2));
      v128.store(dp + 3 * dstRow, i64x2.shuffle(t2, t3, 1, 3));
    }
    for (; c < cols; c++) for (let q = r; q < r + 4; q++) store<f32>(dst + <usize>c * dstRow + (<usize>q << 2), load<f32>(src + <usize>q * srcRow + (<usize>c << 2)));
  }
  for (; r < rows; r++) for (let c = 0; c < cols; c++) store<f32>(dst + <usize>c * dstRow + (<usize>r << 2), load<f32>(src + <usize>r * srcRow + (<usize>c << 2)));
}

// ───────────────────────── elementwise ─────────────────────────

/** out = x + bias, the bias [n] repeated over rows. */
export function addBias(x: usize, bias: usize, out: usize, rows: i32, n: i32): void {
  for (let r = 0; r < rows; r++) addSame(x + (<usize>(r * n) << 2), bias, out + (<usize>(r * n) << 2), n);
}

/** out = a + b, same shapes. */
export function addSame(a: usize, b: usize, out: usize, len: i32): void {
  let k = 0;
  for (; k + 4 <= len; k += 4) {
    const o = <usize>k << 2;
    v128.store(out + o, f32x4.add(v128.load(a + o), v128.load(b + o)));
  }
  for (; k < len; k++) {
    const o = <usize>k << 2;
    store<f32>(out + o, load<f32>(a + o) + load<f32>(b + o));
  }
}

/**
 * out = p0 + p1 over rows × n, and the epilogue of a product (see `emit`: + the bias of each column, relu
 * stored reluDelta bytes further): the end of a product computed as two partial sums, over the first
 * and the second part of its inner dimension (see fedBatchProduct in src/exec/backends/wasm/kernels.ts).
 */
export function addPartials(p0: usize, p1: usize, out: usize, rows: i32, n: i32, bias: usize, reluDelta: usize): void {
  const rowBytes = <usize>n << 2;
  for (let r = 0; r < rows; r++) {
    const o = <usize>r * rowBytes;
    let j = 0;
    for (; j + 4 <= n; j += 4) {
      const q = o + (<usize>j << 2);
      emit(out + q, f32x4.add(v128.load(p0 + q), v128.load(p1 + q)), columnBias(bias, j), reluDelta);
    }
    if (j < n) {
      const q = o + (<usize>j << 2);
      emitPartial(out + q, f32x4.add(loadPartial(p0 + q, n - j), loadPartial(p1 + q, n - j)), n - j, columnBias(bias, j), reluDelta);
    }
  }
}

/**
 * Rows of C = A·B computed as two partial sums, over columns [0, h) and [h, k) of A (rows of B), added
 * with the epilogue: what matmulSparseA (sparse ≠ 0) or matmul over each part and addPartials give, for
 * these m rows. The part [h, k) goes to `partials` (m × n), the rest to C. One thread's share of a fed
 * batch's product split by rows (fedBatchProduct in src/exec/backends/wasm/kernels.ts).
 */
export function matmulTwoParts(a: usize, b: usize, c: usize, partials: usize, m: i32, k: i32, n: i32, h: i32, scratch: usize, sparse: i32, bias: usize, reluDelta: usize): void {
  const rest = a + (<usize>h << 2);
  const restOfB = b + ((<usize>h * <usize>n) << 2);
  if (sparse != 0) {
    matmulSparseA(a, b, c, m, h, n, k, 1, scratch, 0, 0);
    matmulSparseA(rest, restOfB, partials, m, k - h, n, k, 1, scratch, 0, 0);
  } else {
    matmul(a, b, c, m, h, n, k, 1, 0, 0);
    matmul(rest, restOfB, partials, m, k - h, n, k, 1, 0, 0);
  }
  addPartials(c, partials, c, m, n, bias, reluDelta);
}

/** out = max(x, 0); a NaN passes through, as in the reference. */
export function relu(x: usize, out: usize, len: i32): void {
  const zero = f32x4.splat(0);
  let k = 0;
  for (; k + 4 <= len; k += 4) {
    const o = <usize>k << 2;
    const v = v128.load(x + o);
    // Lanes with v < 0 become 0, every other lane (including NaN) keeps v.
    v128.store(out + o, v128.andnot(v, f32x4.lt(v, zero)));
  }
  for (; k < len; k++) {
    const o = <usize>k << 2;
    const v = load<f32>(x + o);
    store<f32>(out + o, v < 0 ? 0 : v);
  }
}

/** out = dy where x > 0, else 0. */
export function reluGrad(dy: usize, x: usize, out: usize, len: i32): void {
  const zero = f32x4.splat(0);
  let k = 0;
  for (; k + 4 <= len; k += 4) {
    const o = <usize>k << 2;
    v128.store(out + o, v128.and(v128.load(dy + o), f32x4.gt(v128.load(x + o), zero)));
  }
  for (; k < len; k++) {
    const o = <usize>k << 2;
    store<f32>(out + o, load<f32>(x + o) > 0 ? load<f32>(dy + o) : 0);
  }
}

/**
 * out = tanh(x), computed in float64 and rounded once to float32: the correctly rounded value. The float64
 * value is within about 2⁻⁴⁸ of tanh x, so the one rounding could go the wrong way only for an input whose
 * tanh lies that close to halfway between two floats; none does — every positive float32 below 10 (1.09
 * billion of them; above, tanh rounds to 1) gives Math.tanh rounded to float32 (bench/tanh-exhaustive.mjs),
 * and test/exec/wasm-numerics.test.ts holds a sweep of them to it. About 2.3 times the cost of the float32
 * rational approximation it replaces, which was up to 7 ulps off and returned ±1 from |x| > 7.905.
 *
 * With a = min(|x|, 10) and 2a = k·ln 2 + 2t (|t| ≤ ln 2 / 4), the [5/5] Padé approximant of e^2t is
 * (Q + tP) / (Q − tP), P and Q polynomials of t²; with s = 2^k,
 *   tanh a = (s·e^2t − 1) / (s·e^2t + 1) = (h·(Q + tP) + tP) / (h·(Q + tP) + Q),  h = (s − 1) / 2:
 * one division, and no cancellation: for k = 0 (a < 0.17), h = 0 and it is tP / Q, accurate however
 * small a is, with no branch for small inputs; and the value is never 1 before float32 rounds it there
 * (|x| ≥ 9.01), so tanh's derivative 1 − y² is not 0 before float32's is. The sign is x's, −0 included; a
 * NaN stays NaN (through every step: pmin keeps it), ±∞ gives ±1.
 */
export function tanh(x: usize, out: usize, len: i32): void {
  let k = 0;
  for (; k + 4 <= len; k += 4) {
    const o = <usize>k << 2;
    v128.store(out + o, tanh4(v128.load(x + o)));
  }
  if (k < len) {
    // The last 1–3 values: through a vector of their own.
    let v = f32x4.splat(load<f32>(x + (<usize>k << 2)));
    if (k + 1 < len) v = f32x4.replace_lane(v, 1, load<f32>(x + (<usize>(k + 1) << 2)));
    if (k + 2 < len) v = f32x4.replace_lane(v, 2, load<f32>(x + (<usize>(k + 2) << 2)));
    const r = tanh4(v);
    store<f32>(out + (<usize>k << 2), f32x4.extract_lane(r, 0));
    if (k + 1 < len) store<f32>(out + (<usize>(k + 1) << 2), f32x4.extract_lane(r, 1));
    if (k + 2 < len) store<f32>(out + (<usize>(k + 2) << 2), f32x4.extract_lane(r, 2));
  }
}

/** tanh of 4 float32 lanes: |x| clamped at 10, widened to two f64x2, tanhAbs of each, rounded back, x's sign put on. */
@inline function tanh4(v: v128): v128 {
  // pmin keeps a NaN (it returns its first operand unless the comparison holds).
  const a = f32x4.pmin(f32x4.abs(v), f32x4.splat(10));
  const lo = tanhAbs(f64x2.promote_low_f32x4(a));
  const hi = tanhAbs(f64x2.promote_low_f32x4(i64x2.shuffle(a, a, 1, 1)));
  return v128.bitselect(v, demotePair(lo, hi), i32x4.splat(0x80000000));
}

/** tanh a for 0 ≤ a ≤ 10 (or NaN), in float64: see `tanh`. */
@inline function tanhAbs(a: v128): v128 {
  // k = round(2a / ln 2) by the 1.5·2⁵² trick: adding it leaves k in the low bits of the sum's bits (and
  // the sum less 1.5·2⁵² is k exactly), cheaper than rounding and converting lane by lane.
  const shifted = f64x2.add(f64x2.mul(a, f64x2.splat(2.8853900817779268147)), f64x2.splat(6755399441055744.0));
  const k = f64x2.sub(shifted, f64x2.splat(6755399441055744.0));
  // 2a = k·ln 2 + 2t, |t| ≤ ln 2 / 4. One constant for ln 2 / 2 is enough: with k ≤ 29, t is off by < 2·10⁻¹⁵.
  const t = f64x2.sub(a, f64x2.mul(k, f64x2.splat(0.34657359027997265471)));
  const z = f64x2.mul(t, t);
  // [5/5] Padé: e^y ≈ N(y)/N(−y), N(y) = 30240 + 15120y + 3360y² + 420y³ + 30y⁴ + y⁵, here y = 2t: with
  // z = t², Q = 30240 + 13440z + 480z² (N's even part) and tP = t·(30240 + 3360z + 32z²) (its odd part).
  // Relative error < 10⁻¹⁵ for |y| ≤ ln 2 / 2.
  let p = f64x2.add(f64x2.mul(f64x2.splat(32), z), f64x2.splat(3360));
  p = f64x2.mul(t, f64x2.add(f64x2.mul(p, z), f64x2.splat(30240)));
  let q = f64x2.add(f64x2.mul(f64x2.splat(480), z), f64x2.splat(13440));
  q = f64x2.add(f64x2.mul(q, z), f64x2.splat(30240));
  // h = s/2 − 1/2, s/2 = 2^(k−1) built in the exponent bits from the low bits of `shifted` (0 ≤ k ≤ 29: the shift drops the rest).
  const h = f64x2.sub(i64x2.shl(i64x2.add(shifted, i64x2.splat(1022)), 52), f64x2.splat(0.5));
  const hA = f64x2.mul(h, f64x2.add(q, p));
  return f64x2.div(f64x2.add(hA, p), f64x2.add(hA, q));
}

/** out = dy ⊙ (1 − y²). */
export function tanhGrad(dy: usize, y: usize, out: usize, len: i32): void {
  const one = f32x4.splat(1);
  let k = 0;
  for (; k + 4 <= len; k += 4) {
    const o = <usize>k << 2;
    const v = v128.load(y + o);
    v128.store(out + o, f32x4.mul(v128.load(dy + o), f32x4.sub(one, f32x4.mul(v, v))));
  }
  for (; k < len; k++) {
    const o = <usize>k << 2;
    const v = load<f32>(y + o);
    store<f32>(out + o, load<f32>(dy + o) * (1 - v * v));
  }
}

/**
 * out[j] = Σᵣ x[r, j] for n columns of x, whose rows are `stride` values apart: a bias gradient. Summed in
 * float64 (f64x2, 16 columns at a time; the last n mod 16 one by one), rows in order, and rounded once to
 * float32: a float32 running sum over a batch of 65,536 rows drifts by ~1e-5 of the result, a float64 one
 * stays within one float32 rounding of the exact sum.
 */
export function sumRows(x: usize, out: usize, rows: i32, n: i32, stride: i32): void {
  let j = 0;
  const rowBytes = <usize>stride << 2;
  for (; j + 16 <= n; j += 16) {
    let s0 = f64x2.splat(0), s1 = f64x2.splat(0), s2 = f64x2.splat(0), s3 = f64x2.splat(0);
    let s4 = f64x2.splat(0), s5 = f64x2.splat(0), s6 = f64x2.splat(0), s7 = f64x2.splat(0);
    let p = x + (<usize>j << 2);
    for (let r = 0; r < rows; r++) {
      // Two floats at a time, each pair loaded into the low half of a vector and widened to float64.
      s0 = f64x2.add(s0, f64x2.promote_low_f32x4(v128.load64_zero(p)));
      s1 = f64x2.add(s1, f64x2.promote_low_f32x4(v128.load64_zero(p, 8)));
      s2 = f64x2.add(s2, f64x2.promote_low_f32x4(v128.load64_zero(p, 16)));
      s3 = f64x2.add(s3, f64x2.promote_low_f32x4(v128.load64_zero(p, 24)));
      s4 = f64x2.add(s4, f64x2.promote_low_f32x4(v128.load64_zero(p, 32)));
      s5 = f64x2.add(s5, f64x2.promote_low_f32x4(v128.load64_zero(p, 40)));
      s6 = f64x2.add(s6, f64x2.promote_low_f32x4(v128.load64_zero(p, 48)));
      s7 = f64x2.add(s7, f64x2.promote_low_f32x4(v128.load64_zero(p, 56)));
      p += rowBytes;
    }
    const o = out + (<usize>j << 2);
    v128.store(o, demotePair(s0, s1));
    v128.store(o, demotePair(s2, s3), 16);
    v128.store(o, demotePair(s4, s5), 32);
    v128.store(o, demotePair(s6, s7), 48);
  }
  for (; j < n; j++) {
    let s: f64 = 0;
    let p = x + (<usize>j << 2);
    for (let r = 0; r < rows; r++) {
      s += <f64>load<f32>(p);
      p += rowBytes;
    }
    store<f32>(out + (<usize>j << 2), <f32>s);
  }
}

/** The four float64 lanes of lo and hi rounded to float32, in order, in one vector. */
@inline function demotePair(lo: v128, hi: v128): v128 {
  return i64x2.shuffle(f32x4.demote_f64x2_zero(lo), f32x4.demote_f64x2_zero(hi), 0, 2);
}

/** out = x. */
export function copy(x: usize, out: usize, len: i32): void {
  memory.copy(out, x, <usize>len << 2);
}

// ───────────────────────── convolutions and pooling (NCHW) ─────────────────────────
//
// A convolution of stride 1 and dilation 1 runs as a product per image: its input unfolded into columns
// (im2col: one row per filter tap (c, p, q), one column per output position) in the caller's scratch
// space, then the blocked `matmul`. Sizes travel two to an argument, (rows << 16) | columns, so that a
// kernel's arguments fit a worker's job (13 at most); the paddings are signed 16-bit halves.

@inline function high16(v: i32): i32 {
  return v >> 16;
}

@inline function low16(v: i32): i32 {
  return (v << 16) >> 16;
}

/**
 * col[(c·kh + p)·kw + q, i·ow + j] = x[c, i + p − pt, j + q − pl], 0 outside x: the columns of one image
 * [c, h, w] for a stride-1 convolution with an output of oh × ow. For each tap, the output rows whose
 * input row lies in x are copied from x, and the positions that fall in the padding set to 0. Where x's
 * rows are as long as the output's ("same" padding) and the tap's shift is small, those rows are one
 * contiguous stretch of x, copied at once; the values it takes from the row before or after at each end
 * (at most 16 floats past x: x lies in the arena, after page 0 and at least the control block before the
 * memory's end) are then set to 0. Otherwise row by row, reading x's row only.
 */
function im2col(x: usize, col: usize, c: i32, h: i32, w: i32, kh: i32, kw: i32, pt: i32, pl: i32, oh: i32, ow: i32): void {
  const rowBytes = <usize>ow << 2;
  let dst = col;
  for (let ch = 0; ch < c; ch++) {
    const plane = x + ((<usize>ch * <usize>h * <usize>w) << 2);
    for (let p = 0; p < kh; p++) {
      // Output rows i with input row i + p − pt inside x: [ilo, ihi).
      const ilo = min(oh, max(0, pt - p));
      const ihi = max(ilo, min(oh, h + pt - p));
      for (let q = 0; q < kw; q++) {
        const jlo = max(0, pl - q);
        const jhi = max(jlo, min(ow, w + pl - q));
        if (jhi == jlo) {
          zeroFloats(dst, oh * ow);
          dst += <usize>oh * rowBytes;
          continue;
        }
        zeroFloats(dst, ilo * ow);
        // x[c, i + p − pt, j + q − pl] for output row i: the row's start, shifted (a signed byte offset).
        const src = plane + <usize>(((ilo + p - pt) * w + q - pl) << 2);
        const first = dst + <usize>ilo * rowBytes;
        if (w == ow && abs(q - pl) <= 16) copyFloats(first, src, (ihi - ilo) * ow);
        else {
          const skip = <usize>jlo << 2;
          for (let i = ilo; i < ihi; i++) copyFloats(first + <usize>(i - ilo) * rowBytes + skip, src + <usize>((i - ilo) * w) * 4 + skip, jhi - jlo);
        }
        if (jlo > 0 || jhi < ow) {
          for (let i = ilo; i < ihi; i++) {
            const row = dst + <usize>i * rowBytes;
            for (let j = 0; j < jlo; j++) store<f32>(row + (<usize>j << 2), 0);
            for (let j = jhi; j < ow; j++) store<f32>(row + (<usize>j << 2), 0);
          }
        }
        zeroFloats(dst + <usize>ihi * rowBytes, (oh - ihi) * ow);
        dst += <usize>oh * rowBytes;
      }
    }
  }
}

/** dst[0, count) = src[0, count), 16 floats at a time, then 4, then one by one. */
@inline function copyFloats(dst: usize, src: usize, count: i32): void {
  let j = 0;
  for (; j + 16 <= count; j += 16) {
    const o = <usize>j << 2;
    const a = v128.load(src + o), b = v128.load(src + o, 16), c = v128.load(src + o, 32), d = v128.load(src + o, 48);
    v128.store(dst + o, a);
    v128.store(dst + o, b, 16);
    v128.store(dst + o, c, 32);
    v128.store(dst + o, d, 48);
  }
  for (; j + 4 <= count; j += 4) v128.store(dst + (<usize>j << 2), v128.load(src + (<usize>j << 2)));
  for (; j < count; j++) store<f32>(dst + (<usize>j << 2), load<f32>(src + (<usize>j << 2)));
}

/** p[0, count) = 0. */
@inline function zeroFloats(p: usize, count: i32): void {
  let j = 0;
  for (; j + 4 <= count; j += 4) v128.store(p + (<usize>j << 2), f32x4.splat(0));
  for (; j < count; j++) store<f32>(p + (<usize>j << 2), 0);
}

/**
 * y = conv2d(x, w) with stride 1 and dilation 1, for `images` images x [c, h, w] → y [f, oh, ow]: per
 * image, its columns into `scratch` (c·kh·kw × oh·ow floats) and y = w · columns (w read as f × c·kh·kw).
 * Each image is computed alone, the same way by either thread. inSize = (h << 16) | w, kernelSize =
 * (kh << 16) | kw, padding = (pt << 16) | pl (signed halves), outSize = (oh << 16) | ow.
 *
 * With a bias (its address ≠ 0: f values), y = conv2d(x, w) + the bias of each filter, and with reluDelta
 * ≠ 0 relu of that stored reluDelta bytes further: a layer's convolution, bias add and activation, each
 * image's output added to and rectified while it is in the cache, by the same operations as addChannelBias
 * and relu (so the same bits).
 */
export function conv2d(x: usize, w: usize, y: usize, images: i32, channels: i32, filters: i32, inSize: i32, kernelSize: i32, padding: i32, outSize: i32, scratch: usize, bias: usize, reluDelta: usize): void {
  const h = high16(inSize), wd = low16(inSize);
  const kh = high16(kernelSize), kw = low16(kernelSize);
  const oh = high16(outSize), ow = low16(outSize);
  const taps = channels * kh * kw;
  const positions = oh * ow;
  const xBytes = (<usize>channels * <usize>h * <usize>wd) << 2;
  const yBytes = (<usize>filters * <usize>positions) << 2;
  for (let n = 0; n < images; n++) {
    im2col(x + <usize>n * xBytes, scratch, channels, h, wd, kh, kw, high16(padding), low16(padding), oh, ow);
    const yn = y + <usize>n * yBytes;
    matmul(w, scratch, yn, filters, taps, positions, taps, 1, 0, 0);
    if (bias != 0) channelEpilogue(yn, bias, filters, positions, reluDelta);
  }
}

/** y[c, s] += bias[c] over `channels` planes of `plane` values, and relu of it stored reluDelta bytes further (≠ 0). */
function channelEpilogue(y: usize, bias: usize, channels: i32, plane: i32, reluDelta: usize): void {
  const plane4 = plane & ~3;
  const zero = f32x4.splat(0);
  let o = y;
  for (let c = 0; c < channels; c++) {
    const b = load<f32>(bias + (<usize>c << 2));
    const bv = f32x4.splat(b);
    let j = 0;
    for (; j < plane4; j += 4) {
      const at = o + (<usize>j << 2);
      const z = f32x4.add(v128.load(at), bv);
      v128.store(at, z);
      if (reluDelta != 0) v128.store(at + reluDelta, v128.andnot(z, f32x4.lt(z, zero)));
    }
    for (; j < plane; j++) {
      const at = o + (<usize>j << 2);
      const z = load<f32>(at) + b;
      store<f32>(at, z);
      if (reluDelta != 0) store<f32>(at + reluDelta, z < 0 ? 0 : z);
    }
    o += <usize>plane << 2;
  }
}

/**
 * dx = conv2d's input gradient for stride 1 and dilation 1: the convolution of δ [f, oh, ow] (`channels`
 * = f of them) with the filters reversed and swapped, `flipped` [c, f·kh·kw] (see flipFilters) and
 * `turned` its transpose [f·kh·kw, c], padded by kh − 1 − the forward padding, into [c, h, w] (`filters`
 * = c). Per image, δ's columns into the scratch space, then dx = flipped · columns; or, where δ's image is
 * mostly zeros (under a max pooling and a relu), dxᵀ = columnsᵀ · turned by `matmulSparseA`, skipping
 * them, and turned back into dx. Both sum the same products in the same order: the same bits. Scratch:
 * the columns, dxᵀ, and the zero-skipping product's list (see inputPartBytes in
 * src/exec/backends/wasm/conv.ts).
 */
export function conv2dGradInput(dy: usize, flipped: usize, turned: usize, dx: usize, images: i32, channels: i32, filters: i32, inSize: i32, kernelSize: i32, padding: i32, outSize: i32, scratch: usize): void {
  const h = high16(inSize), wd = low16(inSize);
  const kh = high16(kernelSize), kw = low16(kernelSize);
  const oh = high16(outSize), ow = low16(outSize);
  const taps = channels * kh * kw;
  const positions = oh * ow;
  const dyBytes = (<usize>channels * <usize>h * <usize>wd) << 2;
  const dxBytes = (<usize>filters * <usize>positions) << 2;
  const col = scratch;
  const dxT = col + align64((<usize>taps * <usize>positions) << 2);
  const list = dxT + align64(dxBytes);
  for (let n = 0; n < images; n++) {
    const dyn = dy + <usize>n * dyBytes;
    const dxn = dx + <usize>n * dxBytes;
    im2col(dyn, col, channels, h, wd, kh, kw, high16(padding), low16(padding), oh, ow);
    const len = channels * h * wd;
    if (2 * countNonzeros(dyn, len) < len) {
      matmulSparseA(col, turned, dxT, positions, taps, filters, 1, positions, list, 0, 0);
      transpose(dxT, dxn, positions, filters);
    } else matmul(flipped, col, dxn, filters, taps, positions, taps, 1, 0, 0);
  }
}

/**
 * out[c, f, kh−1−p, kw−1−q] = w[f, c, p, q]: the filters of the convolution whose output is conv2d's
 * input gradient (a stride-1 convolution's transpose is a convolution with the taps reversed and the
 * channels swapped).
 */
export function flipFilters(w: usize, out: usize, filters: i32, channels: i32, kh: i32, kw: i32): void {
  const taps = kh * kw;
  for (let f = 0; f < filters; f++) {
    for (let c = 0; c < channels; c++) {
      const from = w + (<usize>((f * channels + c) * taps) << 2);
      const to = out + (<usize>((c * filters + f) * taps) << 2);
      for (let t = 0; t < taps; t++) store<f32>(to + (<usize>(taps - 1 - t) << 2), load<f32>(from + (<usize>t << 2)));
    }
  }
}

/**
 * The filter gradient of a stride-1 convolution over one part of the batch (`images` images), summed into
 * acc image by image, each image's product over its output positions in order:
 *   - sparse ≠ 0 (a mostly-zero input image): acc[taps × f] += columns(x) · δᵀ by `matmulSparseA`, which
 *     skips the image's zeros (the columns, δ's image transposed);
 *   - otherwise acc[f × taps] += δ · columns(x)ᵀ (the columns transposed), by `matmulSparseA` where δ's
 *     image is mostly zeros — as it is under a max pooling, which routes one value of each window back,
 *     and a relu — else by `matmul`: the same bits either way (the skipped terms are exact zeros).
 * Scratch: the columns, δᵀ or the columns transposed, the product, and the zero-skipping product's list
 * (see filterPartBytes in src/exec/backends/wasm/conv.ts).
 */
export function conv2dGradFilterPart(x: usize, dy: usize, acc: usize, images: i32, channels: i32, filters: i32, inSize: i32, kernelSize: i32, padding: i32, outSize: i32, scratch: usize, sparse: i32): void {
  const h = high16(inSize), wd = low16(inSize);
  const kh = high16(kernelSize), kw = low16(kernelSize);
  const oh = high16(outSize), ow = low16(outSize);
  const taps = channels * kh * kw;
  const positions = oh * ow;
  const xBytes = (<usize>channels * <usize>h * <usize>wd) << 2;
  const dyBytes = (<usize>filters * <usize>positions) << 2;
  const col = scratch;
  const turned = col + align64((<usize>taps * <usize>positions) << 2);
  const product = turned + align64((<usize>max(taps, filters) * <usize>positions) << 2);
  const list = product + align64((<usize>taps * <usize>filters) << 2);
  memory.fill(acc, 0, (<usize>taps * <usize>filters) << 2);
  for (let n = 0; n < images; n++) {
    im2col(x + <usize>n * xBytes, col, channels, h, wd, kh, kw, high16(padding), low16(padding), oh, ow);
    const dyn = dy + <usize>n * dyBytes;
    if (sparse != 0) {
      transpose(dyn, turned, filters, positions);
      matmulSparseA(col, turned, product, taps, positions, filters, positions, 1, list, 0, 0);
    } else {
      transpose(col, turned, taps, positions);
      if (2 * countNonzeros(dyn, filters * positions) < filters * positions) matmulSparseA(dyn, turned, product, filters, positions, taps, positions, 1, list, 0, 0);
      else matmul(dyn, turned, product, filters, positions, taps, positions, 1, 0, 0);
    }
    addSame(acc, product, acc, taps * filters);
  }
}

/** How many of the len floats at p are not zero. */
function countNonzeros(p: usize, len: i32): i32 {
  let counts = i32x4.splat(0);
  let j = 0;
  // Each nonzero lane's mask is −1: subtracting the masks counts them.
  for (; j + 4 <= len; j += 4) counts = i32x4.sub(counts, f32x4.ne(v128.load(p + (<usize>j << 2)), f32x4.splat(0)));
  let count = i32x4.extract_lane(counts, 0) + i32x4.extract_lane(counts, 1) + i32x4.extract_lane(counts, 2) + i32x4.extract_lane(counts, 3);
  for (; j < len; j++) count += i32(load<f32>(p + (<usize>j << 2)) != 0);
  return count;
}

/**
 * dw = acc0 + acc1: the two parts of conv2dGradFilterPart added, turned from tap by filter to filter by
 * tap when `transposed` ≠ 0 (the parts of a mostly-zero image).
 */
export function conv2dGradFilterSum(acc0: usize, acc1: usize, dw: usize, taps: i32, filters: i32, transposed: i32): void {
  if (transposed == 0) {
    addSame(acc0, acc1, dw, taps * filters);
    return;
  }
  for (let t = 0; t < taps; t++) {
    for (let f = 0; f < filters; f++) {
      const at = <usize>(t * filters + f) << 2;
      store<f32>(dw + (<usize>(f * taps + t) << 2), load<f32>(acc0 + at) + load<f32>(acc1 + at));
    }
  }
}

@inline function align64(bytes: usize): usize {
  return (bytes + 63) & ~(<usize>63);
}

/** out[n, c, s] = x[n, c, s] + bias[c]: a bias [c, 1, 1] added over `images` images of c planes of `plane` values. */
export function addChannelBias(x: usize, bias: usize, out: usize, images: i32, channels: i32, plane: i32): void {
  const plane4 = plane & ~3;
  let o: usize = 0;
  for (let n = 0; n < images; n++) {
    for (let c = 0; c < channels; c++) {
      const b = load<f32>(bias + (<usize>c << 2));
      const bv = f32x4.splat(b);
      let j = 0;
      for (; j < plane4; j += 4) {
        const at = o + (<usize>j << 2);
        v128.store(out + at, f32x4.add(v128.load(x + at), bv));
      }
      for (; j < plane; j++) {
        const at = o + (<usize>j << 2);
        store<f32>(out + at, load<f32>(x + at) + b);
      }
      o += <usize>plane << 2;
    }
  }
}

/**
 * out[c] = Σₙ Σₛ x[n, c, s] for `channels` channels, whose images are `imageChannels` planes of `plane`
 * values apart: a bias [c, 1, 1]'s gradient. Each plane is summed in float32 (four lanes, then the lanes),
 * the planes in float64, image by image, and rounded once.
 */
export function sumChannels(x: usize, out: usize, channels: i32, images: i32, plane: i32, imageChannels: i32): void {
  const plane4 = plane & ~3;
  const imageBytes = (<usize>imageChannels * <usize>plane) << 2;
  for (let c = 0; c < channels; c++) {
    let total: f64 = 0;
    let p = x + ((<usize>c * <usize>plane) << 2);
    for (let n = 0; n < images; n++) {
      let acc = f32x4.splat(0);
      let j = 0;
      for (; j < plane4; j += 4) acc = f32x4.add(acc, v128.load(p + (<usize>j << 2)));
      let s = hsum(acc);
      for (; j < plane; j++) s += load<f32>(p + (<usize>j << 2));
      total += <f64>s;
      p += imageBytes;
    }
    store<f32>(out + (<usize>c << 2), <f32>total);
  }
}

/** Lanes where v beats best as max_pool2d's reference scans a window: strictly greater, or a NaN over a number. */
@inline function beats(v: v128, best: v128): v128 {
  return v128.or(f32x4.gt(v, best), v128.and(f32x4.ne(v, v), f32x4.eq(best, best)));
}

/**
 * out = the maximum of each 2 × 2 window, stride 2, no padding, of `planes` planes of h × w (a trailing
 * odd row or column is in no window); out is ⌊h/2⌋ × ⌊w/2⌋ per plane. Four windows at a time: two rows'
 * eight values split into their even and odd columns; the last 1–3 windows of a row the same way, reading
 * past the row (inside the memory: x lies in the arena) and storing only theirs. The maximum is the
 * reference's (the first of equal values, a NaN winning), so the same bits.
 */
export function maxPool2x2(x: usize, out: usize, planes: i32, h: i32, w: i32): void {
  const oh = h >> 1, ow = w >> 1;
  const rowBytes = <usize>w << 2;
  let o = out;
  for (let pl = 0; pl < planes; pl++) {
    const plane = x + <usize>pl * <usize>h * rowBytes;
    for (let i = 0; i < oh; i++) {
      const r0 = plane + <usize>(2 * i) * rowBytes;
      const r1 = r0 + rowBytes;
      for (let j = 0; j < ow; j += 4) {
        const at = <usize>j << 3;
        const a = v128.load(r0 + at), b = v128.load(r0 + at, 16);
        const c = v128.load(r1 + at), d = v128.load(r1 + at, 16);
        let best = i32x4.shuffle(a, b, 0, 2, 4, 6);
        const e1 = i32x4.shuffle(a, b, 1, 3, 5, 7);
        const e2 = i32x4.shuffle(c, d, 0, 2, 4, 6);
        const e3 = i32x4.shuffle(c, d, 1, 3, 5, 7);
        best = v128.bitselect(e1, best, beats(e1, best));
        best = v128.bitselect(e2, best, beats(e2, best));
        best = v128.bitselect(e3, best, beats(e3, best));
        if (j + 4 <= ow) v128.store(o + (<usize>j << 2), best);
        else storePartial(o + (<usize>j << 2), best, ow - j);
      }
      o += <usize>ow << 2;
    }
  }
}

/** Stores the first `count` (1–8) floats of lo then hi at p. */
@inline function storeEight(p: usize, lo: v128, hi: v128, count: i32): void {
  if (count >= 4) {
    v128.store(p, lo);
    if (count == 8) v128.store(p, hi, 16);
    else if (count > 4) storePartial(p + 16, hi, count - 4);
  } else storePartial(p, lo, count);
}

/**
 * out = max_pool2d_grad for 2 × 2 windows of stride 2 (see maxPool2x2): each window's δ to the element
 * that won it (found again from x, as the reference), 0 elsewhere — written as 0 + δ, so that a −0 comes
 * out as the reference's +0. Every element of out is written.
 */
export function maxPool2x2Grad(dy: usize, x: usize, out: usize, planes: i32, h: i32, w: i32): void {
  const oh = h >> 1, ow = w >> 1;
  const rowBytes = <usize>w << 2;
  const zero = f32x4.splat(0);
  let d = dy;
  for (let pl = 0; pl < planes; pl++) {
    const planeOffset = <usize>pl * <usize>h * rowBytes;
    for (let i = 0; i < oh; i++) {
      const at0 = planeOffset + <usize>(2 * i) * rowBytes;
      const r0 = x + at0, r1 = r0 + rowBytes;
      const o0 = out + at0, o1 = o0 + rowBytes;
      for (let j = 0; j < ow; j += 4) {
        const at = <usize>j << 3;
        const a = v128.load(r0 + at), b = v128.load(r0 + at, 16);
        const c = v128.load(r1 + at), e = v128.load(r1 + at, 16);
        let best = i32x4.shuffle(a, b, 0, 2, 4, 6);
        const e1 = i32x4.shuffle(a, b, 1, 3, 5, 7);
        const e2 = i32x4.shuffle(c, e, 0, 2, 4, 6);
        const e3 = i32x4.shuffle(c, e, 1, 3, 5, 7);
        const m1 = beats(e1, best);
        best = v128.bitselect(e1, best, m1);
        const m2 = beats(e2, best);
        best = v128.bitselect(e2, best, m2);
        const m3 = beats(e3, best);
        // The winner: the last element that beat the best so far.
        const w2 = v128.andnot(m2, m3);
        const w1 = v128.andnot(m1, v128.or(m2, m3));
        const w0 = v128.not(v128.or(m1, v128.or(m2, m3)));
        const g = v128.load(d + (<usize>j << 2));
        const g0 = f32x4.add(zero, v128.and(g, w0));
        const g1 = f32x4.add(zero, v128.and(g, w1));
        const g2 = f32x4.add(zero, v128.and(g, w2));
        const g3 = f32x4.add(zero, v128.and(g, m3));
        const count = 2 * min(4, ow - j);
        storeEight(o0 + at, i32x4.shuffle(g0, g1, 0, 4, 1, 5), i32x4.shuffle(g0, g1, 2, 6, 3, 7), count);
        storeEight(o1 + at, i32x4.shuffle(g2, g3, 0, 4, 1, 5), i32x4.shuffle(g2, g3, 2, 6, 3, 7), count);
      }
      // A trailing odd column is in no window.
      if (w & 1) {
        store<f32>(o0 + rowBytes - 4, 0);
        store<f32>(o1 + rowBytes - 4, 0);
      }
      d += <usize>ow << 2;
    }
    // A trailing odd row is in no window.
    if (h & 1) memory.fill(out + planeOffset + <usize>(h - 1) * rowBytes, 0, rowBytes);
  }
}

// ───────────────────────── softmax and its loss ─────────────────────────
//
// Row by row (a row is one sample's n logits), 4 classes at a time in f32x4; the last 1–3 classes of a row
// go through a vector whose other lanes are masked out. Each row's exponentials are e^(z − max z) ≤ 1, by
// `exp4` (float32, within 2 ulps), so no overflow; the sums are float32 over n terms. The reference kernels
// do the same in float64 and round at the end: the results agree to float32 precision (tested).

/** e^x for x ≤ 0 (larger x are taken as 0), lane by lane: Cephes' expf. Below −87.3 it gives 2⁻¹²⁶ ≈ 1.2e-38 instead of a subnormal or 0; a NaN stays NaN. */
@inline function exp4(x: v128): v128 {
  // pmin/pmax keep a NaN in x (they return the first operand unless the comparison holds).
  x = f32x4.pmax(f32x4.pmin(x, f32x4.splat(0)), f32x4.splat(-87.33654));
  // x = k·ln 2 + r with |r| ≤ ln2 / 2, ln 2 split in two (Cody–Waite) so k·ln 2 is exact enough.
  const k = f32x4.nearest(f32x4.mul(x, f32x4.splat(1.44269504088896341)));
  let r = f32x4.sub(x, f32x4.mul(k, f32x4.splat(0.693359375)));
  r = f32x4.sub(r, f32x4.mul(k, f32x4.splat(-2.12194440e-4)));
  let p = f32x4.add(f32x4.mul(f32x4.splat(1.9875691500e-4), r), f32x4.splat(1.3981999507e-3));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(8.3334519073e-3));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(4.1665795894e-2));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.6666665459e-1));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(5.0000001201e-1));
  const er = f32x4.add(f32x4.add(f32x4.mul(p, f32x4.mul(r, r)), r), f32x4.splat(1));
  // × 2^k, built in the exponent bits (k ≥ −126, so a normal number).
  const twoK = i32x4.shl(i32x4.add(i32x4.trunc_sat_f32x4_s(k), i32x4.splat(127)), 23);
  return f32x4.mul(er, twoK);
}

/**
 * σ(x) = 1 / (1 + e^(−x)), lane by lane, from e = e^(−|x|) only (which cannot overflow): 1 / (1 + e) for
 * x ≥ 0, e / (1 + e) below, as the reference computes it. Within a few float32 ulps of the reference
 * (exp4's error and a division); below x ≈ −87.3 it gives ≈ 1.2e-38 where the reference's value is
 * subnormal or 0. A NaN stays NaN.
 */
@inline function sigmoid4(x: v128): v128 {
  const e = exp4(f32x4.neg(f32x4.abs(x)));
  const s = f32x4.div(f32x4.splat(1), f32x4.add(f32x4.splat(1), e));
  return v128.bitselect(s, f32x4.mul(e, s), f32x4.ge(x, f32x4.splat(0)));
}

export function sigmoid(x: usize, out: usize, len: i32): void {
  let k = 0;
  for (; k + 4 <= len; k += 4) {
    const o = <usize>k << 2;
    v128.store(out + o, sigmoid4(v128.load(x + o)));
  }
  if (k < len) storePartial(out + (<usize>k << 2), sigmoid4(loadPartial(x + (<usize>k << 2), len - k)), len - k);
}

/** out = dy ⊙ y ⊙ (1 − y): sigmoid's gradient from its output y. */
export function sigmoidGrad(dy: usize, y: usize, out: usize, len: i32): void {
  const one = f32x4.splat(1);
  let k = 0;
  for (; k + 4 <= len; k += 4) {
    const o = <usize>k << 2;
    const v = v128.load(y + o);
    v128.store(out + o, f32x4.mul(f32x4.mul(v128.load(dy + o), v), f32x4.sub(one, v)));
  }
  for (; k < len; k++) {
    const o = <usize>k << 2;
    const v = load<f32>(y + o);
    store<f32>(out + o, load<f32>(dy + o) * v * (1 - v));
  }
}

/** Lanes 0 … count−1 set (all ones), the others clear. */
@inline function firstLanes(count: i32): v128 {
  return i32x4.lt_s(i32x4(0, 1, 2, 3), i32x4.splat(count));
}

/** The first `count` (1–3) floats at p in the low lanes, zeros above: no read past them. */
@inline function loadPartial(p: usize, count: i32): v128 {
  let v = f32x4.splat(0);
  v = f32x4.replace_lane(v, 0, load<f32>(p));
  if (count > 1) v = f32x4.replace_lane(v, 1, load<f32>(p, 4));
  if (count > 2) v = f32x4.replace_lane(v, 2, load<f32>(p, 8));
  return v;
}

/** Stores the first `count` (1–3) lanes of v at p. */
@inline function storePartial(p: usize, v: v128, count: i32): void {
  store<f32>(p, f32x4.extract_lane(v, 0));
  if (count > 1) store<f32>(p, f32x4.extract_lane(v, 1), 4);
  if (count > 2) store<f32>(p, f32x4.extract_lane(v, 2), 8);
}

/** max z over a row of n, as a splat; a NaN in the row wins (f32x4.max propagates it), and the row's results are NaN, as the reference's. */
@inline function rowMax(zr: usize, n: i32): v128 {
  let max = f32x4.splat(-Infinity);
  let j = 0;
  for (; j + 4 <= n; j += 4) max = f32x4.max(max, v128.load(zr + (<usize>j << 2)));
  if (j < n) max = f32x4.max(max, v128.bitselect(loadPartial(zr + (<usize>j << 2), n - j), f32x4.splat(-Infinity), firstLanes(n - j)));
  const m = f32x4.max(max, i32x4.shuffle(max, max, 2, 3, 0, 1));
  return f32x4.splat(Mathf.max(f32x4.extract_lane(m, 0), f32x4.extract_lane(m, 1)));
}

/** Writes e^(z[j] − max) over a row of n to out's row; returns their sum. */
@inline function rowExp(zr: usize, or: usize, n: i32, max: v128): f32 {
  let sum = f32x4.splat(0);
  let j = 0;
  for (; j + 4 <= n; j += 4) {
    const e = exp4(f32x4.sub(v128.load(zr + (<usize>j << 2)), max));
    v128.store(or + (<usize>j << 2), e);
    sum = f32x4.add(sum, e);
  }
  if (j < n) {
    const e = v128.and(exp4(f32x4.sub(loadPartial(zr + (<usize>j << 2), n - j), max)), firstLanes(n - j));
    storePartial(or + (<usize>j << 2), e, n - j);
    sum = f32x4.add(sum, e);
  }
  return hsum(sum);
}

/** Σⱼ e^(z[j] − max) over a row of n. */
@inline function rowExpSum(zr: usize, n: i32, max: v128): f32 {
  let sum = f32x4.splat(0);
  let j = 0;
  for (; j + 4 <= n; j += 4) sum = f32x4.add(sum, exp4(f32x4.sub(v128.load(zr + (<usize>j << 2)), max)));
  if (j < n) sum = f32x4.add(sum, v128.and(exp4(f32x4.sub(loadPartial(zr + (<usize>j << 2), n - j), max)), firstLanes(n - j)));
  return hsum(sum);
}

/** out = softmax(z) along rows of n. */
export function softmax(z: usize, out: usize, rows: i32, n: i32): void {
  for (let r = 0; r < rows; r++) {
    const zr = z + (<usize>(r * n) << 2);
    const or = out + (<usize>(r * n) << 2);
    const inv = f32x4.splat(<f32>1 / rowExp(zr, or, n, rowMax(zr, n)));
    let j = 0;
    for (; j + 4 <= n; j += 4) v128.store(or + (<usize>j << 2), f32x4.mul(v128.load(or + (<usize>j << 2)), inv));
    if (j < n) storePartial(or + (<usize>j << 2), f32x4.mul(loadPartial(or + (<usize>j << 2), n - j), inv), n - j);
  }
}

/**
 * Σ over rows of Σⱼ y·(log Σ e^(z − max) − (z − max)), per row of n, stored as a float64 at `sum`:
 * softmax_cross_entropy on logits, before the mean over the batch (taken by the caller, who may add up
 * the sums of several parts of the batch).
 */
export function softmaxCrossEntropySum(z: usize, y: usize, rows: i32, n: i32, sum: usize): void {
  let total: f64 = 0;
  for (let r = 0; r < rows; r++) {
    const zr = z + (<usize>(r * n) << 2);
    const yr = y + (<usize>(r * n) << 2);
    const max = rowMax(zr, n);
    const logSum = f32x4.splat(Mathf.log(rowExpSum(zr, n, max)));
    let acc = f32x4.splat(0);
    let j = 0;
    for (; j + 4 <= n; j += 4) {
      const o = <usize>j << 2;
      acc = f32x4.add(acc, f32x4.mul(v128.load(yr + o), f32x4.sub(logSum, f32x4.sub(v128.load(zr + o), max))));
    }
    if (j < n) {
      const o = <usize>j << 2;
      acc = f32x4.add(acc, f32x4.mul(loadPartial(yr + o, n - j), f32x4.sub(logSum, f32x4.sub(loadPartial(zr + o, n - j), max))));
    }
    total += <f64>hsum(acc);
  }
  store<f64>(sum, total);
}

/** out = dL·(softmax(z)·Σy − y)/m per row of n. */
export function softmaxCrossEntropyGrad(z: usize, y: usize, dL: usize, out: usize, rows: i32, n: i32, m: i32): void {
  const scale = f32x4.splat(<f32>(<f64>load<f32>(dL) / <f64>m));
  for (let r = 0; r < rows; r++) {
    const zr = z + (<usize>(r * n) << 2);
    const yr = y + (<usize>(r * n) << 2);
    const or = out + (<usize>(r * n) << 2);
    let labels: f32 = 0;
    for (let j = 0; j < n; j++) labels += load<f32>(yr + (<usize>j << 2));
    // out holds the exponentials first, then the gradient.
    const w = f32x4.splat(labels / rowExp(zr, or, n, rowMax(zr, n)));
    let j = 0;
    for (; j + 4 <= n; j += 4) {
      const o = <usize>j << 2;
      v128.store(or + o, f32x4.mul(scale, f32x4.sub(f32x4.mul(v128.load(or + o), w), v128.load(yr + o))));
    }
    if (j < n) {
      const o = <usize>j << 2;
      storePartial(or + o, f32x4.mul(scale, f32x4.sub(f32x4.mul(loadPartial(or + o, n - j), w), loadPartial(yr + o, n - j))), n - j);
    }
  }
}

/**
 * softmax, softmax_cross_entropySum and softmaxCrossEntropyGrad of the same logits and labels in one pass
 * over each row, the exponentials computed once: probs = softmax(z), the loss's float64 sum at `sum`,
 * grad = dL·(softmax(z)·Σy − y)/m. Each value is computed by the same operations in the same order as by
 * the three kernels, so the results are theirs bit for bit.
 */
export function softmaxCrossEntropyAll(z: usize, y: usize, dL: usize, probs: usize, grad: usize, rows: i32, n: i32, m: i32, sum: usize): void {
  const scale = f32x4.splat(<f32>(<f64>load<f32>(dL) / <f64>m));
  let total: f64 = 0;
  for (let r = 0; r < rows; r++) {
    const zr = z + (<usize>(r * n) << 2);
    const yr = y + (<usize>(r * n) << 2);
    const pr = probs + (<usize>(r * n) << 2);
    const gr = grad + (<usize>(r * n) << 2);
    const max = rowMax(zr, n);
    // probs holds the exponentials first, then the probabilities.
    const expSum = rowExp(zr, pr, n, max);
    const logSum = f32x4.splat(Mathf.log(expSum));
    const inv = f32x4.splat(<f32>1 / expSum);
    let labels: f32 = 0;
    for (let j = 0; j < n; j++) labels += load<f32>(yr + (<usize>j << 2));
    const w = f32x4.splat(labels / expSum);
    let acc = f32x4.splat(0);
    let j = 0;
    for (; j + 4 <= n; j += 4) {
      const o = <usize>j << 2;
      const e = v128.load(pr + o);
      const yv = v128.load(yr + o);
      acc = f32x4.add(acc, f32x4.mul(yv, f32x4.sub(logSum, f32x4.sub(v128.load(zr + o), max))));
      v128.store(gr + o, f32x4.mul(scale, f32x4.sub(f32x4.mul(e, w), yv)));
      v128.store(pr + o, f32x4.mul(e, inv));
    }
    if (j < n) {
      const o = <usize>j << 2;
      const e = loadPartial(pr + o, n - j);
      const yv = loadPartial(yr + o, n - j);
      acc = f32x4.add(acc, f32x4.mul(yv, f32x4.sub(logSum, f32x4.sub(loadPartial(zr + o, n - j), max))));
      storePartial(gr + o, f32x4.mul(scale, f32x4.sub(f32x4.mul(e, w), yv)), n - j);
      storePartial(pr + o, f32x4.mul(e, inv), n - j);
    }
    total += <f64>hsum(acc);
  }
  store<f64>(sum, total);
}

// ───────────────────────── optimizers, one pass over each parameter ─────────────────────────

/** Decoupled weight decay: w ← decay·w. */
function decayWeights(w: usize, len: i32, decay: f32): void {
  if (decay == 1) return;
  const d = f32x4.splat(decay);
  let k = 0;
  for (; k + 4 <= len; k += 4) v128.store(w + (<usize>k << 2), f32x4.mul(v128.load(w + (<usize>k << 2)), d));
  for (; k < len; k++) store<f32>(w + (<usize>k << 2), load<f32>(w + (<usize>k << 2)) * decay);
}

/** Adam: m ← β₁m + (1−β₁)g; v ← β₂v + (1−β₂)g²; w ← w − stepSize·m/(√(c₂v) + ε). */
// (1 − β) comes from the caller, computed in float64: 1 − 0.999 in float32 is off by 1.3e-5.
//
// Moments below float32's smallest normal (1.2e-38) are flushed to 0. A moment decaying geometrically
// (a pixel no longer seen: m shrinks by β₁ each step) would otherwise spend a hundred steps among the
// subnormal numbers, where every x86 multiply takes a slow microcode path, and the first layer (many
// pixels seen rarely) holds many such moments after a few hundred steps. The step such a moment would have given,
// α·m/(√v + ε) < 1e-30, is nothing next to any weight.
export function adam(w: usize, g: usize, m: usize, v: usize, len: i32, beta1: f32, oneMinusBeta1: f32, beta2: f32, oneMinusBeta2: f32, epsilon: f32, stepSize: f32, c2: f32, decay: f32): void {
  decayWeights(w, len, decay);
  const b1 = f32x4.splat(beta1), nb1 = f32x4.splat(oneMinusBeta1);
  const b2 = f32x4.splat(beta2), nb2 = f32x4.splat(oneMinusBeta2);
  const eps = f32x4.splat(epsilon), lr = f32x4.splat(stepSize), cc = f32x4.splat(c2);
  const tiny = f32x4.splat(1.1754943508222875e-38);
  let k = 0;
  for (; k + 4 <= len; k += 4) {
    const o = <usize>k << 2;
    const gi = v128.load(g + o);
    const m0 = v128.load(m + o);
    const v0 = v128.load(v + o);
    // g, m and v all zero (the weights of a pixel not seen for a while, or never): m and v stay zero and
    // the step α·0/(0 + ε) is zero, so there is nothing to do — and no square root or division to pay.
    if (!v128.any_true(v128.or(v128.or(gi, m0), v0))) continue;
    let mi = f32x4.add(f32x4.mul(b1, m0), f32x4.mul(nb1, gi));
    let vi = f32x4.add(f32x4.mul(b2, v0), f32x4.mul(nb2, f32x4.mul(gi, gi)));
    // Lanes below `tiny` become 0; every other lane, a NaN included (a diverging run must show), stays.
    mi = v128.andnot(mi, f32x4.lt(f32x4.abs(mi), tiny));
    vi = v128.andnot(vi, f32x4.lt(vi, tiny));
    v128.store(m + o, mi);
    v128.store(v + o, vi);
    v128.store(w + o, f32x4.sub(v128.load(w + o), f32x4.div(f32x4.mul(lr, mi), f32x4.add(f32x4.sqrt(f32x4.mul(cc, vi)), eps))));
  }
  for (; k < len; k++) {
    const o = <usize>k << 2;
    const gi = load<f32>(g + o);
    let mi = beta1 * load<f32>(m + o) + oneMinusBeta1 * gi;
    let vi = beta2 * load<f32>(v + o) + oneMinusBeta2 * gi * gi;
    if (Mathf.abs(mi) < 1.1754943508222875e-38) mi = 0;
    if (vi < 1.1754943508222875e-38) vi = 0;
    store<f32>(m + o, mi);
    store<f32>(v + o, vi);
    store<f32>(w + o, load<f32>(w + o) - (stepSize * mi) / (Mathf.sqrt(c2 * vi) + epsilon));
  }
}

/** RMSprop: s ← βs + (1−β)g²; w ← w − lr·g/√(s + ε). */
export function rmsprop(w: usize, g: usize, s: usize, len: i32, beta: f32, oneMinusBeta: f32, epsilon: f32, lr: f32, decay: f32): void {
  decayWeights(w, len, decay);
  const b = f32x4.splat(beta), nb = f32x4.splat(oneMinusBeta), eps = f32x4.splat(epsilon), l = f32x4.splat(lr);
  let k = 0;
  for (; k + 4 <= len; k += 4) {
    const o = <usize>k << 2;
    const gi = v128.load(g + o);
    const si = f32x4.add(f32x4.mul(b, v128.load(s + o)), f32x4.mul(nb, f32x4.mul(gi, gi)));
    v128.store(s + o, si);
    v128.store(w + o, f32x4.sub(v128.load(w + o), f32x4.div(f32x4.mul(l, gi), f32x4.sqrt(f32x4.add(si, eps)))));
  }
  for (; k < len; k++) {
    const o = <usize>k << 2;
    const gi = load<f32>(g + o);
    const si = beta * load<f32>(s + o) + oneMinusBeta * gi * gi;
    store<f32>(s + o, si);
    store<f32>(w + o, load<f32>(w + o) - (lr * gi) / Mathf.sqrt(si + epsilon));
  }
}

/** SGD, with momentum μ when u ≠ 0: u ← μu + g; w ← w − lr·u. Without: w ← w − lr·g. */
export function sgd(w: usize, g: usize, u: usize, len: i32, mu: f32, lr: f32, decay: f32): void {
  decayWeights(w, len, decay);
  const l = f32x4.splat(lr), mv = f32x4.splat(mu);
  let k = 0;
  if (u == 0) {
    for (; k + 4 <= len; k += 4) {
      const o = <usize>k << 2;
      v128.store(w + o, f32x4.sub(v128.load(w + o), f32x4.mul(l, v128.load(g + o))));
    }
    for (; k < len; k++) store<f32>(w + (<usize>k << 2), load<f32>(w + (<usize>k << 2)) - lr * load<f32>(g + (<usize>k << 2)));
    return;
  }
  for (; k + 4 <= len; k += 4) {
    const o = <usize>k << 2;
    const ui = f32x4.add(f32x4.mul(mv, v128.load(u + o)), v128.load(g + o));
    v128.store(u + o, ui);
    v128.store(w + o, f32x4.sub(v128.load(w + o), f32x4.mul(l, ui)));
  }
  for (; k < len; k++) {
    const o = <usize>k << 2;
    const ui = mu * load<f32>(u + o) + load<f32>(g + o);
    store<f32>(u + o, ui);
    store<f32>(w + o, load<f32>(w + o) - lr * ui);
  }
}

// ───────────────────────── batches ─────────────────────────

/**
 * out[k] = bytes[k] / divisor in float32, correctly rounded. For 255 that is, for every byte, exactly the
 * reference's float64 byte·(1/255) rounded once to float32 (the tests check all 256).
 */
export function scaleBytes(bytes: usize, out: usize, len: i32, divisor: f32): void {
  const d = f32x4.splat(divisor);
  const zero = f32x4.splat(0);
  let k = 0;
  for (; k + 16 <= len; k += 16) {
    const v = v128.load(bytes + <usize>k);
    const o = out + (<usize>k << 2);
    if (!v128.any_true(v)) {
      // 16 zero pixels (most of an MNIST image): no divisions.
      v128.store(o, zero);
      v128.store(o, zero, 16);
      v128.store(o, zero, 32);
      v128.store(o, zero, 48);
      continue;
    }
    const lo = i16x8.extend_low_i8x16_u(v);
    const hi = i16x8.extend_high_i8x16_u(v);
    v128.store(o, f32x4.div(f32x4.convert_i32x4_u(i32x4.extend_low_i16x8_u(lo)), d));
    v128.store(o, f32x4.div(f32x4.convert_i32x4_u(i32x4.extend_high_i16x8_u(lo)), d), 16);
    v128.store(o, f32x4.div(f32x4.convert_i32x4_u(i32x4.extend_low_i16x8_u(hi)), d), 32);
    v128.store(o, f32x4.div(f32x4.convert_i32x4_u(i32x4.extend_high_i16x8_u(hi)), d), 48);
  }
  for (; k < len; k++) store<f32>(out + (<usize>k << 2), <f32>load<u8>(bytes + <usize>k) / divisor);
}

/**
 * A batch from a dataset held in this memory: features [first, first + count) of row r of x are those
 * bytes of sample indices[r] (`features` bytes each, from `images`) divided by `divisor`, as scaleBytes;
 * row r of y, when y ≠ 0, the one-hot of its label (a byte of `labels`, below `classes`). Two threads
 * fill a batch by parts of its features, the parts of a first layer's product (see fedBatchProduct in
 * src/exec/backends/wasm/kernels.ts).
 */
export function gatherBatch(images: usize, labels: usize, indices: usize, x: usize, y: usize, rows: i32, features: i32, classes: i32, divisor: f32, first: i32, count: i32): void {
  // The samples are scattered over the dataset (tens of MB), so each one's bytes come from main memory:
  // ≈ 0.3 µs of latency when they are fetched one sample after the other. Touching every cache line of a
  // group of samples first keeps many fetches in flight at once (wasm has no prefetch instruction); the
  // group (12 KB for MNIST) then waits in the cache while it is scaled.
  const from = images + <usize>first;
  for (let r0 = 0; r0 < rows; r0 += PREFETCH_ROWS) {
    const r1 = min(rows, r0 + PREFETCH_ROWS);
    for (let r = r0; r < r1; r++) touchLines(from + <usize>load<u32>(indices + (<usize>r << 2)) * <usize>features, count);
    for (let r = r0; r < r1; r++) {
      const sample = <usize>load<u32>(indices + (<usize>r << 2));
      scaleBytes(from + sample * <usize>features, x + ((<usize>r * <usize>features + <usize>first) << 2), count, divisor);
      if (y != 0) {
        const yr = y + ((<usize>r * <usize>classes) << 2);
        memory.fill(yr, 0, <usize>classes << 2);
        store<f32>(yr + (<usize>load<u8>(labels + sample) << 2), 1);
      }
    }
  }
}

const PREFETCH_ROWS = 16;

/** Where touchLines leaves the bytes it read, so that the reads are not optimised away. */
let touched: u32 = 0;

/** Reads one byte of every 64-byte cache line of [p, p + len), bringing it toward the cache. */
@inline function touchLines(p: usize, len: i32): void {
  if (len <= 0) return;
  let t: u32 = 0;
  for (let o = 0; o < len; o += 64) t |= load<u8>(p + <usize>o);
  t |= load<u8>(p + <usize>(len - 1));
  touched |= t;
}

/**
 * How many of the rows' predictions are right: rows whose largest probability (the first of equal ones)
 * falls on the class where the one-hot labels hold a 1. As in the JavaScript loop it replaces, a NaN loses
 * every comparison: it is never picked over the first class, nor passed over when it is the first.
 */
export function countCorrect(probs: usize, labels: usize, rows: i32, classes: i32): i32 {
  let correct = 0;
  for (let r = 0; r < rows; r++) {
    const pr = probs + (<usize>(r * classes) << 2);
    let best = 0;
    let bestValue = load<f32>(pr);
    for (let j = 1; j < classes; j++) {
      const v = load<f32>(pr + (<usize>j << 2));
      if (v > bestValue) {
        best = j;
        bestValue = v;
      }
    }
    correct += i32(load<f32>(labels + (<usize>(r * classes + best) << 2)) == 1);
  }
  return correct;
}

// ───────────── elementwise maths: |x|, sign, √x, a / b, max, min, leaky relu ─────────────
//
// Each gives exactly the float32 of the reference kernel: |x| and the sign are exact; a quotient or a square
// root of float32s is rounded correctly here, and the reference's (in float64, then to float32) is too —
// rounding twice is harmless when the wider format has at least 2·24 + 2 bits; max and min propagate NaN
// and order −0 below +0, as Math.max and Math.min. Leaky relu multiplies by α in float64 (α is a float64
// attribute) and rounds once to float32, as the reference does.

/** out = |x|. */
export function absolute(x: usize, out: usize, len: i32): void {
  let k = 0;
  for (; k + 4 <= len; k += 4) {
    const o = <usize>k << 2;
    v128.store(out + o, f32x4.abs(v128.load(x + o)));
  }
  for (; k < len; k++) {
    const o = <usize>k << 2;
    store<f32>(out + o, abs<f32>(load<f32>(x + o)));
  }
}

/** out = 1 where x > 0, −1 where x < 0, x itself where it is ±0 or NaN. */
@inline function sign4(v: v128): v128 {
  const zero = f32x4.splat(0);
  const s = v128.bitselect(f32x4.splat(1), v, f32x4.gt(v, zero));
  return v128.bitselect(f32x4.splat(-1), s, f32x4.lt(v, zero));
}

export function signOf(x: usize, out: usize, len: i32): void {
  let k = 0;
  for (; k + 4 <= len; k += 4) {
    const o = <usize>k << 2;
    v128.store(out + o, sign4(v128.load(x + o)));
  }
  if (k < len) storePartial(out + (<usize>k << 2), sign4(loadPartial(x + (<usize>k << 2), len - k)), len - k);
}

/** out = √x (NaN below 0, −0 for −0). */
export function squareRoot(x: usize, out: usize, len: i32): void {
  let k = 0;
  for (; k + 4 <= len; k += 4) {
    const o = <usize>k << 2;
    v128.store(out + o, f32x4.sqrt(v128.load(x + o)));
  }
  for (; k < len; k++) {
    const o = <usize>k << 2;
    store<f32>(out + o, sqrt<f32>(load<f32>(x + o)));
  }
}

/** out = a / b, operands of one shape. */
export function divide(a: usize, b: usize, out: usize, len: i32): void {
  let k = 0;
  for (; k + 4 <= len; k += 4) {
    const o = <usize>k << 2;
    v128.store(out + o, f32x4.div(v128.load(a + o), v128.load(b + o)));
  }
  for (; k < len; k++) {
    const o = <usize>k << 2;
    store<f32>(out + o, load<f32>(a + o) / load<f32>(b + o));
  }
}

/** out = max(a, b), operands of one shape; NaN if either is. */
export function maximum(a: usize, b: usize, out: usize, len: i32): void {
  let k = 0;
  for (; k + 4 <= len; k += 4) {
    const o = <usize>k << 2;
    v128.store(out + o, f32x4.max(v128.load(a + o), v128.load(b + o)));
  }
  for (; k < len; k++) {
    const o = <usize>k << 2;
    store<f32>(out + o, max<f32>(load<f32>(a + o), load<f32>(b + o)));
  }
}

/** out = min(a, b), operands of one shape; NaN if either is. */
export function minimum(a: usize, b: usize, out: usize, len: i32): void {
  let k = 0;
  for (; k + 4 <= len; k += 4) {
    const o = <usize>k << 2;
    v128.store(out + o, f32x4.min(v128.load(a + o), v128.load(b + o)));
  }
  for (; k < len; k++) {
    const o = <usize>k << 2;
    store<f32>(out + o, min<f32>(load<f32>(a + o), load<f32>(b + o)));
  }
}

/** α·v lane by lane, each product taken in float64 and rounded once to float32. */
@inline function scale4(v: v128, alpha: v128): v128 {
  const lo = f64x2.mul(f64x2.promote_low_f32x4(v), alpha);
  const hi = f64x2.mul(f64x2.promote_low_f32x4(i64x2.shuffle(v, v, 1, 0)), alpha);
  return demotePair(lo, hi);
}

/** out = x where x > 0, else α·x (NaN stays NaN). */
export function leakyRelu(x: usize, out: usize, len: i32, alpha: f64): void {
  const a = f64x2.splat(alpha);
  const zero = f32x4.splat(0);
  let k = 0;
  for (; k + 4 <= len; k += 4) {
    const o = <usize>k << 2;
    const v = v128.load(x + o);
    v128.store(out + o, v128.bitselect(v, scale4(v, a), f32x4.gt(v, zero)));
  }
  for (; k < len; k++) {
    const o = <usize>k << 2;
    const v = load<f32>(x + o);
    store<f32>(out + o, v > 0 ? v : <f32>(alpha * <f64>v));
  }
}

/** out = dy where x > 0, else α·dy: leaky relu's gradient. */
export function leakyReluGrad(dy: usize, x: usize, out: usize, len: i32, alpha: f64): void {
  const a = f64x2.splat(alpha);
  const zero = f32x4.splat(0);
  let k = 0;
  for (; k + 4 <= len; k += 4) {
    const o = <usize>k << 2;
    const d = v128.load(dy + o);
    v128.store(out + o, v128.bitselect(d, scale4(d, a), f32x4.gt(v128.load(x + o), zero)));
  }
  for (; k < len; k++) {
    const o = <usize>k << 2;
    const d = load<f32>(dy + o);
    store<f32>(out + o, load<f32>(x + o) > 0 ? d : <f32>(alpha * <f64>d));
  }
}

// ---------------------------------------------------------------------------------------------------
// Batch normalisation, per channel of [images, imageChannels, inner] (inner = 1 for [batch, features]):
// channel c of image n is the `inner` values from ((n·imageChannels + c)·inner). Each channel is computed
// alone, its sums in float64 (four float64 lanes, in a fixed order, and the plane's last 1–3 values in a
// fifth sum), its elementwise values in float64 as the reference kernel computes them, rounded once — so a
// channel's values do not depend on which thread computes it, nor on where the channels are cut.
// ---------------------------------------------------------------------------------------------------

/** Lanes 0–1 and 2–3 of four floats, as float64 pairs. */
@inline function lowPair(v: v128): v128 {
  return f64x2.promote_low_f32x4(v);
}
@inline function highPair(v: v128): v128 {
  return f64x2.promote_low_f32x4(i64x2.shuffle(v, v, 1, 0));
}
@inline function lanesSum(v: v128): f64 {
  return f64x2.extract_lane(v, 0) + f64x2.extract_lane(v, 1);
}

/** Σ x over one channel: `images` planes of `inner` floats, `imageBytes` apart, from p. */
function channelSum(p: usize, images: i32, inner: i32, imageBytes: usize): f64 {
  let a0 = f64x2.splat(0), a1 = a0, a2 = a0, a3 = a0;
  let tail: f64 = 0;
  for (let n = 0; n < images; n++) {
    let j = 0;
    for (; j + 8 <= inner; j += 8) {
      const at = p + (<usize>j << 2);
      const u = v128.load(at), v = v128.load(at, 16);
      a0 = f64x2.add(a0, lowPair(u));
      a1 = f64x2.add(a1, highPair(u));
      a2 = f64x2.add(a2, lowPair(v));
      a3 = f64x2.add(a3, highPair(v));
    }
    if (j + 4 <= inner) {
      const u = v128.load(p + (<usize>j << 2));
      a0 = f64x2.add(a0, lowPair(u));
      a1 = f64x2.add(a1, highPair(u));
      j += 4;
    }
    for (; j < inner; j++) tail += <f64>load<f32>(p + (<usize>j << 2));
    p += imageBytes;
  }
  return lanesSum(f64x2.add(f64x2.add(a0, a2), f64x2.add(a1, a3))) + tail;
}

/** Σ (x − mean)² over one channel (as channelSum). */
function channelSquares(p: usize, mean: f64, images: i32, inner: i32, imageBytes: usize): f64 {
  const m = f64x2.splat(mean);
  let a0 = f64x2.splat(0), a1 = a0, a2 = a0, a3 = a0;
  let tail: f64 = 0;
  for (let n = 0; n < images; n++) {
    let j = 0;
    for (; j + 8 <= inner; j += 8) {
      const at = p + (<usize>j << 2);
      const u = v128.load(at), v = v128.load(at, 16);
      const d0 = f64x2.sub(lowPair(u), m), d1 = f64x2.sub(highPair(u), m);
      const d2 = f64x2.sub(lowPair(v), m), d3 = f64x2.sub(highPair(v), m);
      a0 = f64x2.add(a0, f64x2.mul(d0, d0));
      a1 = f64x2.add(a1, f64x2.mul(d1, d1));
      a2 = f64x2.add(a2, f64x2.mul(d2, d2));
      a3 = f64x2.add(a3, f64x2.mul(d3, d3));
    }
    if (j + 4 <= inner) {
      const u = v128.load(p + (<usize>j << 2));
      const d0 = f64x2.sub(lowPair(u), m), d1 = f64x2.sub(highPair(u), m);
      a0 = f64x2.add(a0, f64x2.mul(d0, d0));
      a1 = f64x2.add(a1, f64x2.mul(d1, d1));
      j += 4;
    }
    for (; j < inner; j++) {
      const d = <f64>load<f32>(p + (<usize>j << 2)) - mean;
      tail += d * d;
    }
    p += imageBytes;
  }
  return lanesSum(f64x2.add(f64x2.add(a0, a2), f64x2.add(a1, a3))) + tail;
}

/** channelGradSums' results beside its return value (each instance of the module has its own). */
let gradDySum: f64 = 0;
let gradDyDot: f64 = 0;

/**
 * Over one channel of dy at d and x at p: returns Σ (x − mean)², and leaves Σ dy in gradDySum (the bits
 * channelSum gives: its lanes, in its order) and Σ dy·(x − mean) in gradDyDot.
 */
function channelGradSums(d: usize, p: usize, mean: f64, images: i32, inner: i32, imageBytes: usize): f64 {
  const m = f64x2.splat(mean);
  let s0 = f64x2.splat(0), s1 = s0, s2 = s0, s3 = s0, t0 = s0, t1 = s0, q0 = s0, q1 = s0;
  let sTail: f64 = 0, tTail: f64 = 0, qTail: f64 = 0;
  for (let n = 0; n < images; n++) {
    let j = 0;
    for (; j + 8 <= inner; j += 8) {
      const at = <usize>j << 2;
      const g = v128.load(d + at), h = v128.load(d + at, 16);
      const u = v128.load(p + at), v = v128.load(p + at, 16);
      const g0 = lowPair(g), g1 = highPair(g), g2 = lowPair(h), g3 = highPair(h);
      const x0 = f64x2.sub(lowPair(u), m), x1 = f64x2.sub(highPair(u), m);
      const x2 = f64x2.sub(lowPair(v), m), x3 = f64x2.sub(highPair(v), m);
      s0 = f64x2.add(s0, g0);
      s1 = f64x2.add(s1, g1);
      s2 = f64x2.add(s2, g2);
      s3 = f64x2.add(s3, g3);
      t0 = f64x2.add(f64x2.add(t0, f64x2.mul(g0, x0)), f64x2.mul(g2, x2));
      t1 = f64x2.add(f64x2.add(t1, f64x2.mul(g1, x1)), f64x2.mul(g3, x3));
      q0 = f64x2.add(f64x2.add(q0, f64x2.mul(x0, x0)), f64x2.mul(x2, x2));
      q1 = f64x2.add(f64x2.add(q1, f64x2.mul(x1, x1)), f64x2.mul(x3, x3));
    }
    if (j + 4 <= inner) {
      const at = <usize>j << 2;
      const g = v128.load(d + at), u = v128.load(p + at);
      const g0 = lowPair(g), g1 = highPair(g);
      const x0 = f64x2.sub(lowPair(u), m), x1 = f64x2.sub(highPair(u), m);
      s0 = f64x2.add(s0, g0);
      s1 = f64x2.add(s1, g1);
      t0 = f64x2.add(t0, f64x2.mul(g0, x0));
      t1 = f64x2.add(t1, f64x2.mul(g1, x1));
      q0 = f64x2.add(q0, f64x2.mul(x0, x0));
      q1 = f64x2.add(q1, f64x2.mul(x1, x1));
      j += 4;
    }
    for (; j < inner; j++) {
      const at = <usize>j << 2;
      const g = <f64>load<f32>(d + at), xc = <f64>load<f32>(p + at) - mean;
      sTail += g;
      tTail += g * xc;
      qTail += xc * xc;
    }
    d += imageBytes;
    p += imageBytes;
  }
  gradDySum = lanesSum(f64x2.add(f64x2.add(s0, s2), f64x2.add(s1, s3))) + sTail;
  gradDyDot = lanesSum(f64x2.add(t0, t1)) + tTail;
  return lanesSum(f64x2.add(q0, q1)) + qTail;
}

/** out = (x − mean)·scale + shift over one channel, in float64, rounded once. */
function channelAffine(p: usize, q: usize, mean: f64, scale: f64, shift: f64, images: i32, inner: i32, imageBytes: usize): void {
  const m = f64x2.splat(mean), s = f64x2.splat(scale), b = f64x2.splat(shift);
  for (let n = 0; n < images; n++) {
    let j = 0;
    for (; j + 4 <= inner; j += 4) {
      const at = <usize>j << 2;
      const u = v128.load(p + at);
      const lo = f64x2.add(f64x2.mul(f64x2.sub(lowPair(u), m), s), b);
      const hi = f64x2.add(f64x2.mul(f64x2.sub(highPair(u), m), s), b);
      v128.store(q + at, demotePair(lo, hi));
    }
    for (; j < inner; j++) {
      const at = <usize>j << 2;
      store<f32>(q + at, <f32>((<f64>load<f32>(p + at) - mean) * scale + shift));
    }
    p += imageBytes;
    q += imageBytes;
  }
}

/** dx = scale·(count·dy − dySum − (x − mean)·slope) over one channel, in float64, rounded once: batch norm's input gradient in training. */
function channelGradX(d: usize, p: usize, q: usize, mean: f64, scale: f64, count: f64, dySum: f64, slope: f64, images: i32, inner: i32, imageBytes: usize): void {
  const m = f64x2.splat(mean), s = f64x2.splat(scale), k = f64x2.splat(count), g = f64x2.splat(dySum), sl = f64x2.splat(slope);
  for (let n = 0; n < images; n++) {
    let j = 0;
    for (; j + 4 <= inner; j += 4) {
      const at = <usize>j << 2;
      const dv = v128.load(d + at), u = v128.load(p + at);
      const lo = f64x2.mul(s, f64x2.sub(f64x2.sub(f64x2.mul(k, lowPair(dv)), g), f64x2.mul(f64x2.sub(lowPair(u), m), sl)));
      const hi = f64x2.mul(s, f64x2.sub(f64x2.sub(f64x2.mul(k, highPair(dv)), g), f64x2.mul(f64x2.sub(highPair(u), m), sl)));
      v128.store(q + at, demotePair(lo, hi));
    }
    for (; j < inner; j++) {
      const at = <usize>j << 2;
      store<f32>(q + at, <f32>(scale * (count * <f64>load<f32>(d + at) - dySum - (<f64>load<f32>(p + at) - mean) * slope)));
    }
    d += imageBytes;
    p += imageBytes;
    q += imageBytes;
  }
}

/**
 * batch_norm over `channels` channels of [images, imageChannels, inner] from x (x, out: the first
 * channel's first value; gamma, beta and the running averages: its value). Training (training ≠ 0): the
 * batch's mean and biased variance (two passes), the running averages updated in place (the running
 * variance with the unbiased variance, left alone for a single value per channel); evaluation: the
 * running averages. Then out = (x − mean)·γ/√(var + ε) + β.
 */
export function batchNorm(x: usize, gamma: usize, beta: usize, runningMean: usize, runningVar: usize, out: usize, channels: i32, images: i32, imageChannels: i32, inner: i32, momentum: f64, epsilon: f64, training: i32): void {
  const imageBytes = (<usize>imageChannels * <usize>inner) << 2;
  const count = <f64>images * <f64>inner;
  for (let c = 0; c < channels; c++) {
    const at = (<usize>c * <usize>inner) << 2;
    const rm = runningMean + (<usize>c << 2), rv = runningVar + (<usize>c << 2);
    let mean: f64, inv: f64;
    if (training) {
      mean = channelSum(x + at, images, inner, imageBytes) / count;
      const variance = channelSquares(x + at, mean, images, inner, imageBytes) / count;
      inv = 1 / Math.sqrt(variance + epsilon);
      store<f32>(rm, <f32>((1 - momentum) * <f64>load<f32>(rm) + momentum * mean));
      if (count > 1) store<f32>(rv, <f32>((1 - momentum) * <f64>load<f32>(rv) + (momentum * variance * count) / (count - 1)));
    } else {
      mean = <f64>load<f32>(rm);
      inv = 1 / Math.sqrt(<f64>load<f32>(rv) + epsilon);
    }
    const scale = <f64>load<f32>(gamma + (<usize>c << 2)) * inv;
    channelAffine(x + at, out + at, mean, scale, <f64>load<f32>(beta + (<usize>c << 2)), images, inner, imageBytes);
  }
}

/**
 * batch_norm_grad with respect to x (wrt 0: out as x), gamma (1) or beta (2: out one value per channel),
 * over `channels` channels as batchNorm. In training the batch's statistics are recomputed from x;
 * in evaluation the running averages are used.
 */
export function batchNormGrad(dy: usize, x: usize, gamma: usize, runningMean: usize, runningVar: usize, out: usize, channels: i32, images: i32, imageChannels: i32, inner: i32, epsilon: f64, training: i32, wrt: i32): void {
  const imageBytes = (<usize>imageChannels * <usize>inner) << 2;
  const count = <f64>images * <f64>inner;
  for (let c = 0; c < channels; c++) {
    const at = (<usize>c * <usize>inner) << 2;
    const d = dy + at, p = x + at;
    if (wrt == 2) {
      store<f32>(out + (<usize>c << 2), <f32>channelSum(d, images, inner, imageBytes));
      continue;
    }
    const mean = training ? channelSum(p, images, inner, imageBytes) / count : <f64>load<f32>(runningMean + (<usize>c << 2));
    const squares = channelGradSums(d, p, mean, images, inner, imageBytes);
    const inv = 1 / Math.sqrt((training ? squares / count : <f64>load<f32>(runningVar + (<usize>c << 2))) + epsilon);
    const g = <f64>load<f32>(gamma + (<usize>c << 2));
    if (wrt == 1) store<f32>(out + (<usize>c << 2), <f32>(gradDyDot * inv));
    else if (!training) channelAffine(d, out + at, 0, g * inv, 0, images, inner, imageBytes);
    else channelGradX(d, p, out + at, mean, (g * inv) / count, count, gradDySum, gradDyDot * inv * inv, images, inner, imageBytes);
  }
}

/**
 * batch_norm_grad in training for x, γ and β at once (`outputs`: 1 dx, 2 dγ, 4 dβ — the ones wanted),
 * over `channels` channels as batchNorm: the statistics and the sums over δ computed once for all three,
 * each output the bits batchNormGrad gives it alone.
 */
export function batchNormGrads(dy: usize, x: usize, gamma: usize, dx: usize, dgamma: usize, dbeta: usize, channels: i32, images: i32, imageChannels: i32, inner: i32, epsilon: f64, outputs: i32): void {
  const imageBytes = (<usize>imageChannels * <usize>inner) << 2;
  const count = <f64>images * <f64>inner;
  for (let c = 0; c < channels; c++) {
    const at = (<usize>c * <usize>inner) << 2;
    const d = dy + at, p = x + at;
    const mean = channelSum(p, images, inner, imageBytes) / count;
    const squares = channelGradSums(d, p, mean, images, inner, imageBytes);
    const inv = 1 / Math.sqrt(squares / count + epsilon);
    if (outputs & 2) store<f32>(dgamma + (<usize>c << 2), <f32>(gradDyDot * inv));
    if (outputs & 4) store<f32>(dbeta + (<usize>c << 2), <f32>gradDySum);
    if (outputs & 1) {
      const scale = (<f64>load<f32>(gamma + (<usize>c << 2)) * inv) / count;
      channelGradX(d, p, dx + at, mean, scale, count, gradDySum, gradDyDot * inv * inv, images, inner, imageBytes);
    }
  }
}
