/**
 * Whether the worker thread takes part in a training step at all — decided for the step as a whole, from
 * the steps' own times.
 *
 * Each kernel's Split learns whether sharing that kernel pays (split.ts), but it sees one kernel at a time:
 * while another process keeps the second core busy, every hand-over of a step can wait for a descheduled
 * worker, and a step makes many of them. Then a step on the main thread alone is faster than any mix of
 * shared kernels, and only the step's whole time shows it. So the governor times whole steps (from one
 * step's start to the next's: the step, the optimizer's update and the next batch's fill) both ways:
 * with the worker allowed, and with the main thread alone. It keeps the faster way, and tries the other
 * for a few steps now and then — often while the two are close, rarely when one is far ahead — so that a
 * core freed (or taken) later is noticed.
 *
 * The results do not depend on it: every kernel computes each output element the same way whoever runs
 * it (see pool.ts), so a step alone is bit for bit a step shared.
 */

/** Steps not timed at the start: the first ones pay for warming caches, the worker's start-up and the JIT. */
const WARMUP_STEPS = 8;
/**
 * A way is judged by its mean step time over at least TRY_STEPS steps and TRY_MS milliseconds: a busy
 * core is shared in scheduler slices of a few milliseconds, so a few steps can all fall where the worker
 * had its core, and look fast; the mean over many slices includes the waits.
 */
const TRY_STEPS = 16;
const TRY_MS = 100;
/** While the two ways' means are within this factor, the other way is tried again after EXPLORE_OFTEN steps, */
const CLOSE = 1.15;
const EXPLORE_OFTEN = 256;
/** and after EXPLORE_RARELY steps otherwise. */
const EXPLORE_RARELY = 1024;

export type Way = "shared" | "alone";

export class StepGovernor {
  /** The way of the step under way, and since when (by the clock). */
  private way: Way = "shared";
  private since = Number.NaN;
  /** The faster way so far, and the step count from which the other is tried next. */
  private preferred: Way = "shared";
  private nextTry = WARMUP_STEPS + TRY_STEPS;
  private trying = false;
  private steps = 0;
  /** Each way's time and steps since it was last judged, and its mean then (ms; NaN until judged). */
  private readonly sums: Record<Way, number> = { shared: 0, alone: 0 };
  private readonly counts: Record<Way, number> = { shared: 0, alone: 0 };
  private readonly means: Record<Way, number> = { shared: Number.NaN, alone: Number.NaN };

  constructor(private readonly clock: () => number = () => performance.now()) {}

  /** Whether the worker may take parts in the step that begins now. */
  stepBegins(): boolean {
    const now = this.clock();
    if (this.steps > WARMUP_STEPS) this.record(this.way, now - this.since);
    this.steps++;
    this.since = now;
    this.way = this.choose();
    return this.way === "shared";
  }

  /**
   * The steps stop for other work (an evaluation, checkpoints): the time until the next step begins is not
   * a step's, and is not counted.
   */
  pause(): void {
    this.since = Number.NaN;
  }

  /** The way the steps are run now, and each way's mean step time when last judged (ms; NaN until then): for tests and the bench. */
  state(): { way: Way; preferred: Way; sharedMs: number; aloneMs: number } {
    return { way: this.way, preferred: this.preferred, sharedMs: this.means.shared, aloneMs: this.means.alone };
  }

  private choose(): Way {
    const other: Way = this.preferred === "shared" ? "alone" : "shared";
    if (this.trying) {
      if (this.counts[other] >= TRY_STEPS && this.sums[other] >= TRY_MS) this.decide(other);
    } else if (this.steps >= this.nextTry && this.counts[this.preferred] >= TRY_STEPS && this.sums[this.preferred] >= TRY_MS) {
      this.trying = true;
      this.sums[other] = 0;
      this.counts[other] = 0;
    }
    return this.trying ? other : this.preferred;
  }

  /** After a try of `other`: keep the faster way, and say when to try the other again. */
  private decide(other: Way): void {
    this.trying = false;
    this.means[other] = this.sums[other] / this.counts[other];
    this.means[this.preferred] = this.sums[this.preferred] / this.counts[this.preferred];
    const [shared, alone] = [this.means.shared, this.means.alone];
    if (alone < shared) this.preferred = "alone";
    else if (shared < alone) this.preferred = "shared";
    this.sums[this.preferred] = 0;
    this.counts[this.preferred] = 0;
    const close = shared < CLOSE * alone && alone < CLOSE * shared;
    this.nextTry = this.steps + (close ? EXPLORE_OFTEN : EXPLORE_RARELY);
  }

  private record(way: Way, ms: number): void {
    // Every step counts, the slowest too: a wait for a descheduled worker is what sharing costs then.
    if (!(ms >= 0)) return;
    this.sums[way] += ms;
    this.counts[way]++;
  }
}
