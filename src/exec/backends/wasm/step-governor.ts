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
/** Steps timed per way before a decision; each way's time is the median of its last WINDOW steps. */
const WINDOW = 16;
/** While the two ways' medians are within this factor, the other way is tried every EXPLORE_OFTEN steps, */
const CLOSE = 1.15;
const EXPLORE_OFTEN = 256;
/** and every EXPLORE_RARELY steps otherwise. */
const EXPLORE_RARELY = 1024;

export type Way = "shared" | "alone";

export class StepGovernor {
  /** The way of the step under way, and since when (by the clock). */
  private way: Way = "shared";
  private since = Number.NaN;
  /** The faster way so far, and the step count at which the other is tried next. */
  private preferred: Way = "shared";
  private nextTry = WARMUP_STEPS + WINDOW;
  /** The step count at which a try of the other way ends (NaN: no try under way). */
  private tryEnds = Number.NaN;
  private steps = 0;
  private readonly times: Record<Way, Float64Array> = {
    shared: new Float64Array(WINDOW).fill(Number.NaN),
    alone: new Float64Array(WINDOW).fill(Number.NaN),
  };
  private readonly counts: Record<Way, number> = { shared: 0, alone: 0 };
  /** Reused by `median`: a step allocates nothing. */
  private readonly sorted = new Float64Array(WINDOW);

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

  /** The way the steps are run now, and each way's median step time (ms; NaN until timed): for tests and the bench. */
  state(): { way: Way; preferred: Way; sharedMs: number; aloneMs: number } {
    return { way: this.way, preferred: this.preferred, sharedMs: this.median("shared"), aloneMs: this.median("alone") };
  }

  private choose(): Way {
    const other: Way = this.preferred === "shared" ? "alone" : "shared";
    if (this.steps === this.nextTry) {
      // A try lasts WINDOW timed steps (plus this one, whose time is not all the try's own: it begins
      // while the previous way's worker may still be spinning down).
      this.tryEnds = this.steps + WINDOW + 1;
      this.counts[other] = 0;
      this.times[other].fill(Number.NaN);
    }
    if (this.steps < this.tryEnds) return other;
    if (this.steps === this.tryEnds) this.decide();
    return this.preferred;
  }

  /** After a try: keep the faster way, and say when to try the other again. */
  private decide(): void {
    this.tryEnds = Number.NaN;
    const shared = this.median("shared");
    const alone = this.median("alone");
    if (alone < shared) this.preferred = "alone";
    else if (shared < alone) this.preferred = "shared";
    const close = shared < CLOSE * alone && alone < CLOSE * shared;
    this.nextTry = this.steps + (close ? EXPLORE_OFTEN : EXPLORE_RARELY);
  }

  private record(way: Way, ms: number): void {
    if (!(ms >= 0)) return;
    this.times[way][this.counts[way]++ % WINDOW] = ms;
  }

  private median(way: Way): number {
    const sorted = this.sorted;
    let n = 0;
    for (const t of this.times[way]) if (!Number.isNaN(t)) sorted[n++] = t;
    if (n === 0) return Number.NaN;
    const part = sorted.subarray(0, n).sort();
    return n % 2 === 1 ? part[(n - 1) / 2]! : (part[n / 2 - 1]! + part[n / 2]!) / 2;
  }
}
