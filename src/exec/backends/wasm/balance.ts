/**
 * Where a kernel split between the two threads cuts its work, learned from how long each half took.
 *
 * Halves of equal size are not always equal work: the bottom half of an MNIST digit has ~10 % more
 * nonzero pixels than the top half, so the worker's half of the first layer's weight gradient (pixel
 * rows [h, 784)) took ~12 µs longer than the main thread's at batch 256, and the main thread waited.
 * The two cores may also differ (what each has in its cache, a neighbour on the host). A Balance keeps
 * the main thread's fraction of the units and moves it, a little each time, toward the cut that would
 * have made the last two halves end together; a half slowed down by the machine (a preempted thread)
 * moves it only a little.
 *
 * Only kernels whose every output element is computed by one thread, the same way wherever the cut
 * falls, use a Balance: the results do not depend on it.
 */

/** How far one measurement moves the fraction toward the cut it suggests. */
const RATE = 0.1;
/** The most one measurement moves the fraction: a preempted half suggests a wild cut. */
const MAX_MOVE = 0.01;
/** The fraction stays within these: neither thread is ever left with almost nothing. */
const LOWEST = 0.3;
const HIGHEST = 0.7;

export class Balance {
  private fraction = 0.5;
  private cut: number;

  /**
   * @param units what is split (rows, elements): at least 2 blocks
   * @param block the cut is a multiple of this (a kernel's row block, a SIMD loop's step), and each
   *   thread gets one block at least
   */
  constructor(
    private readonly units: number,
    private readonly block: number,
  ) {
    if (!(units >= 2 * block && block >= 1)) throw new Error(`a Balance splits at least 2 blocks of ${block}, not ${units} units`);
    this.cut = this.cutAt(0.5);
  }

  /** The main thread takes units [0, h), the worker [h, units). */
  get h(): number {
    return this.cut;
  }

  /**
   * After a split run: the main thread's part took `mainMs` and the worker's `workerMs` (see
   * WasmPool.finishBalanced for how each is timed). A run whose parts one thread did both of tells
   * nothing: leave it out.
   */
  record(mainMs: number, workerMs: number): void {
    const h = this.cut;
    if (!(mainMs > 0 && workerMs > 0) || h <= 0 || h >= this.units) return;
    // Per unit, each thread's pace; the cut where both halves end together.
    const mainPace = mainMs / h;
    const workerPace = workerMs / (this.units - h);
    const even = workerPace / (mainPace + workerPace);
    if (!(even >= 0 && even <= 1)) return; // an infinite or NaN pace: nothing to learn
    const move = Math.max(-MAX_MOVE, Math.min(MAX_MOVE, RATE * (even - this.fraction)));
    this.fraction = Math.max(LOWEST, Math.min(HIGHEST, this.fraction + move));
    this.cut = this.cutAt(this.fraction);
  }

  private cutAt(fraction: number): number {
    const cut = Math.floor((this.units * fraction) / this.block) * this.block;
    const highest = Math.floor((this.units - this.block) / this.block) * this.block;
    return Math.max(this.block, Math.min(highest, cut));
  }
}
