/**
 * Whether, and where, a kernel is split between the main thread and the worker — learned from how long
 * its runs take.
 *
 * Where: halves of equal size are not always equal work. A zero-skipping kernel's work follows the data
 * (the bottom half of an MNIST digit has more nonzero pixels than the top half, so the worker's half of
 * the first layer's weight gradient, pixel rows [cut, 784), is the longer one), and the two cores may
 * differ (what each has in its cache, a neighbour on a shared host). A balanced Split keeps the main
 * thread's fraction of the units and moves it, a little each time, toward the cut that would have made
 * the last two parts end together; a part slowed down by the machine (a preempted thread) moves it only a
 * little.
 *
 * Whether: a hand-over costs a few cache-line trips between the cores, and on a shared host (a virtual
 * machine) two cores can be far apart for seconds to minutes at a time, which makes each trip several
 * times longer. Then a small kernel's part saves less than its hand-over costs, and a step of a small batch
 * runs slower shared than on one thread; which way wins depends on the machine and changes while it runs.
 * So a Split times its runs both ways — shared, and alone on the main thread — and runs the faster way,
 * trying the other now and then: often while the two are close, rarely once one is far ahead.
 *
 * Only kernels whose every output element is computed by one thread, the same way wherever the cut falls
 * and whoever runs it, use a Split: the results depend on neither. (A kernel whose parts must stay fixed,
 * the loss summed in two halves, uses an unbalanced Split: whether, never where.)
 */

import type { WasmPool } from "./pool.js";

/** How far one measurement moves the fraction toward the cut it suggests. */
const RATE = 0.1;
/** The most one measurement moves the fraction: a preempted part suggests a wild cut. */
const MAX_MOVE = 0.01;
/** The fraction stays within these: neither thread is ever left with almost nothing. */
const LOWEST = 0.3;
const HIGHEST = 0.7;
/**
 * Each way's time is the shortest of its last RECENT runs: a machine that preempts a thread only ever adds
 * time, so the shortest is what the way costs (an average would keep a rare try's spike for a long time).
 */
const RECENT = 8;
/** The other way is tried every this many runs while the two ways' times are within CLOSE of each other, */
const EXPLORE_OFTEN = 16;
const CLOSE = 1.5;
/** and every this many otherwise (a kernel twice as fast shared keeps being shared, at little cost). */
const EXPLORE_RARELY = 512;
/** Runs are timed one in this many (and every try of the other way): a clock read costs ~30 ns. */
const TIME_EVERY = 4;
/** A wait for the worker longer than this (1 µs: more than a hand-over's cache-line round trips) means it was still at work. */
const WAITED_MS = 0.001;

export class Split {
  private fraction = 0.5;
  private mainUnits: number;
  /** The last RECENT runs' times, shared and alone (ms, NaN until measured), and each way's shortest. */
  private readonly sharedRuns = new Float64Array(RECENT).fill(Number.NaN);
  private readonly aloneRuns = new Float64Array(RECENT).fill(Number.NaN);
  private sharedMs = Number.NaN;
  private aloneMs = Number.NaN;
  private sharedCount = 0;
  private aloneCount = 0;
  private runs = 0;
  /** Whether the run under way is timed, and since when (by the clock). */
  private timed = false;
  private since = 0;

  /**
   * @param units what is split (rows, elements): at least 2 blocks
   * @param block the cut is a multiple of this (a kernel's row block, a SIMD loop's step), and each
   *   thread gets one block at least
   * @param balanced whether the cut moves (false: it stays at the middle)
   * @param clock milliseconds, for timing runs (a test's own clock)
   * @param always share every run (a pool's sharing "always", for tests), still timing and balancing them
   */
  constructor(
    private readonly units: number,
    private readonly block: number,
    private readonly balanced = true,
    private readonly clock: () => number = () => performance.now(),
    private readonly always = false,
  ) {
    if (!(units >= 2 * block && block >= 1)) throw new Error(`a Split cuts at least 2 blocks of ${block}, not ${units} units`);
    this.mainUnits = this.cutAt(0.5);
  }

  /**
   * A Split that only decides whether to share, for a kernel whose parts are fixed by what it computes
   * (a fed batch's two partial sums, the loss summed in two halves, a fill cut where the product cuts
   * its batch): its `cut` is not used.
   */
  static whether(always = false): Split {
    return new Split(2, 1, false, undefined, always);
  }

  /** The main thread takes units [0, cut), the worker [cut, units). */
  get cut(): number {
    return this.mainUnits;
  }

  /**
   * Begins a run: whether it should be shared — the faster way so far, or the other one, now and then.
   * The caller hands the worker its part (WasmPool.start) when this says so, does its own, then `end`s.
   */
  begin(): boolean {
    const sharing = !(this.sharedMs > this.aloneMs); // shared until alone is known to be faster
    const every = this.sharedMs < CLOSE * this.aloneMs && this.aloneMs < CLOSE * this.sharedMs ? EXPLORE_OFTEN : EXPLORE_RARELY;
    // Alone is tried first after EXPLORE_OFTEN runs (its time is unknown until then).
    this.runs++;
    const trying = !this.always && this.runs % (Number.isNaN(this.aloneMs) ? EXPLORE_OFTEN : every) === 0;
    this.timed = trying || this.runs % TIME_EVERY === 0;
    if (this.timed) this.since = this.clock();
    return this.always || (trying ? !sharing : sharing);
  }

  /**
   * Ends the run begun (`started`: the worker was handed its part): waits for the worker's part, and
   * learns from the run's times when it is timed. The worker's part is as this thread saw it, start-up
   * latency included, when this thread had to wait for it; otherwise as the worker measured it (it ended
   * earlier, but when is not known here). A part this thread took back (the worker did not come in time:
   * asleep, or busy on a shared machine) makes a shared run that cost both parts and a hand-over, which
   * is what sharing costs then; it does not move the cut.
   */
  end(pool: WasmPool | undefined, started: boolean): void {
    if (!started) return this.ranAlone();
    if (!this.timed) {
      pool!.finish();
      return;
    }
    const mainEnd = this.clock();
    const workerRan = pool!.finish();
    const end = this.clock();
    const workerMs = !workerRan ? Number.NaN : end - mainEnd > WAITED_MS ? end - this.since : pool!.lastWorkerMs;
    this.ranShared(end - this.since, mainEnd - this.since, workerMs);
  }

  /** The run begun was done by the main thread alone (for `end`, and tests). */
  ranAlone(): void {
    if (!this.timed) return;
    const ms = this.clock() - this.since;
    if (!(ms > 0)) return;
    this.aloneRuns[this.aloneCount++ % RECENT] = ms;
    this.aloneMs = shortest(this.aloneRuns);
  }

  /**
   * A shared run took `ms` in all, of which the main thread's part `mainMs` and the worker's `workerMs`
   * (NaN: not known; see `end` for how each is timed). For `end`, and tests.
   */
  ranShared(ms: number, mainMs: number, workerMs: number): void {
    if (ms > 0) {
      this.sharedRuns[this.sharedCount++ % RECENT] = ms;
      this.sharedMs = shortest(this.sharedRuns);
    }
    if (this.balanced) this.rebalance(mainMs, workerMs);
  }

  /**
   * A run's two parts took the main thread `mainMs` and the worker `workerMs`, the run itself timed by
   * whoever decided whether to share it (a call group: call-group.ts): the cut moves, if it is learned.
   */
  ranParts(mainMs: number, workerMs: number): void {
    if (this.balanced) this.rebalance(mainMs, workerMs);
  }

  private rebalance(mainMs: number, workerMs: number): void {
    const cut = this.mainUnits;
    if (!(mainMs > 0 && workerMs > 0)) return;
    // Per unit, each thread's pace; the cut where both parts end together.
    const mainPace = mainMs / cut;
    const workerPace = workerMs / (this.units - cut);
    const even = workerPace / (mainPace + workerPace);
    if (!(even >= 0 && even <= 1)) return; // an infinite or NaN pace: nothing to learn
    const move = Math.max(-MAX_MOVE, Math.min(MAX_MOVE, RATE * (even - this.fraction)));
    this.fraction = Math.max(LOWEST, Math.min(HIGHEST, this.fraction + move));
    this.mainUnits = this.cutAt(this.fraction);
  }

  private cutAt(fraction: number): number {
    const cut = Math.floor((this.units * fraction) / this.block) * this.block;
    const highest = Math.floor((this.units - this.block) / this.block) * this.block;
    return Math.max(this.block, Math.min(highest, cut));
  }
}

/** The smallest of the times measured (NaN if none). */
function shortest(times: Float64Array): number {
  let least = Number.NaN;
  for (let i = 0; i < times.length; i++) {
    const t = times[i]!;
    if (!Number.isNaN(t) && !(t >= least)) least = t;
  }
  return least;
}
