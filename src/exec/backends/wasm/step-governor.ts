/**
 * Whether the worker thread takes part in a training step at all — decided for the step as a whole, from
 * the steps' own times.
 *
 * Each kernel's Split learns whether sharing that kernel pays (split.ts), but it sees one kernel at a time:
 * while another process keeps the second core busy, every hand-over of a step can wait for a descheduled
 * worker, and a step makes many of them. Then a step on the main thread alone is faster than any mix of
 * shared kernels, and only the step's whole time shows it. So the governor times whole steps (from one
 * step's start to the next's: the step, the optimizer's update and the next batch's fill) both ways:
 * with the worker allowed ("shared"), and with the main thread alone.
 *
 * It compares the two in a *try*: blocks of steps taking turns — the other way, the preferred way, the
 * other, the preferred (the first try only the first two when they are far apart: FAR) — each block some
 * steps and some milliseconds long, so that both ways meet the same spell of the machine (a busy core
 * comes and goes by the second; two ways timed one after the other would mostly measure that). Sharing is
 * kept unless alone is faster by more than SIT_OUT_MARGIN (sharing is the way of a quiet machine, and a
 * noisy spell measures close ways about alike), and the other way is tried again after a rest four times
 * the try's length (twenty when one way was far ahead): the other way's blocks are then a small share of
 * the time, whatever a step costs. A rest ends early when the kept way's steps slow down by a third against
 * its last judgement — the machine changed — so a core taken or freed is noticed within a fraction of a
 * second.
 *
 * The results do not depend on it: every kernel computes each output element the same way whoever runs
 * it (see pool.ts), so a step alone is bit for bit a step shared.
 */

/**
 * Steps not timed at the start, all shared: at least WARMUP_STEPS steps and WARMUP_MS milliseconds. The
 * first steps pay for warming caches and the worker's start-up, and for about the first second V8 compiles
 * the step's JavaScript on background threads, which take turns with the two compute threads on two cores:
 * steps timed then run two or three times slower than later, sharing the most, and a judgement made of
 * them is wrong.
 */
const WARMUP_STEPS = 8;
const WARMUP_MS = 1000;
/**
 * A block of a try: at least BLOCK_STEPS steps and BLOCK_MS milliseconds of one way. A busy core is shared
 * in scheduler slices of a few milliseconds: a block spans several, and is judged by its mean — the long
 * waits for a descheduled worker are what sharing costs on a busy machine.
 */
const BLOCK_STEPS = 4;
const BLOCK_MS = 30;
/** A try's blocks, taking turns: the other way first. */
const TRY_BLOCKS = 4;
/**
 * Two ways whose means are within this factor are close: the other is tried again after REST_CLOSE tries'
 * time (its blocks are then a tenth of the time, at a cost of 1.5 % at most), and after REST_FAR tries'
 * time otherwise (a fortieth of the time). The first judgement, made while the JIT still compiles the
 * step on background threads, is followed by the short rest whatever it found.
 */
const CLOSE = 1.15;
const REST_CLOSE = 4;
const REST_FAR = 20;
/**
 * The first try ends after its first two blocks (one each way) when their means are this far apart: the
 * verdict is plain, and each block of the slower way costs steps half again as long or more — in the
 * first epoch, which a short run may be much of. The long rest (REST_FAR) follows, as after any try that
 * found the ways far apart; a rest still ends early if the kept way slows down (DRIFT).
 */
const FAR = 1.5;
/** The worker sits out only while a step alone takes less than the shared one by this factor. */
const SIT_OUT_MARGIN = 1.15;
/** A rest ends early when a block's worth of the kept way's steps is this much slower than its last mean. */
const DRIFT = 1.33;

export type Way = "shared" | "alone";

const otherThan = (way: Way): Way => (way === "shared" ? "alone" : "shared");

/** Time and steps added up. */
class Tally {
  ms = 0;
  steps = 0;
  add(ms: number): void {
    this.ms += ms;
    this.steps++;
  }
  /** Whether it is a block's worth. */
  get full(): boolean {
    return this.steps >= BLOCK_STEPS && this.ms >= BLOCK_MS;
  }
  get mean(): number {
    return this.ms / this.steps;
  }
  clear(): void {
    this.ms = 0;
    this.steps = 0;
  }
}

export class StepGovernor {
  /** The way of the step under way, and since when (by the clock; NaN after a pause). */
  private way: Way = "shared";
  private since = Number.NaN;
  private steps = 0;
  private aloneSteps = 0;
  /** When the first step began (by the clock), and whether the warm-up is over. */
  private began = 0;
  private warm = false;
  /** The faster way at the last judgement, and each way's mean step time then (ms; NaN until judged). */
  private preferred: Way = "shared";
  private readonly means: Record<Way, number> = { shared: Number.NaN, alone: Number.NaN };
  /** During a try: which block is under way (0 … TRY_BLOCKS − 1), when the try began, and its tallies. */
  private block = 0;
  private trying = false;
  private tryBegan = Number.NaN;
  private readonly current = new Tally();
  private readonly tried: Record<Way, Tally> = { shared: new Tally(), alone: new Tally() };
  /** During a rest: when it ends (by the clock), and the kept way's latest block, watched for drift. */
  private restUntil = Number.NaN;
  private judgements = 0;

  constructor(private readonly clock: () => number = () => performance.now()) {}

  /** Whether the worker may take parts in the step that begins now. */
  stepBegins(): boolean {
    const now = this.clock();
    if (this.steps === 0) this.began = now;
    if (this.warm) this.record(now - this.since, now);
    else if (this.steps >= WARMUP_STEPS && now - this.began >= WARMUP_MS) {
      this.warm = true; // the first try begins with this step
      this.beginTry();
    }
    this.steps++;
    this.since = now;
    this.way = this.trying ? this.tryWay() : this.preferred;
    if (this.way === "alone") this.aloneSteps++;
    return this.way === "shared";
  }

  /**
   * The steps stop for other work (an evaluation, checkpoints): the time until the next step begins is not
   * a step's, and is not counted.
   */
  pause(): void {
    this.since = Number.NaN;
  }

  /**
   * The way the steps are run now, each way's mean step time when last judged (ms; NaN until then), and
   * how many steps have begun, alone among them: for tests and the bench.
   */
  state(): { way: Way; preferred: Way; sharedMs: number; aloneMs: number; steps: number; aloneSteps: number } {
    return { way: this.way, preferred: this.preferred, sharedMs: this.means.shared, aloneMs: this.means.alone, steps: this.steps, aloneSteps: this.aloneSteps };
  }

  /** The way of a try's current block: the other way in blocks 0, 2, …; the preferred in 1, 3, …. */
  private tryWay(): Way {
    return this.block % 2 === 0 ? otherThan(this.preferred) : this.preferred;
  }

  private record(ms: number, now: number): void {
    if (!(ms >= 0)) return; // the first step after a pause: its start is unknown
    if (Number.isNaN(this.tryBegan) && this.trying) this.tryBegan = now - ms;
    this.current.add(ms);
    if (!this.current.full) return;
    if (this.trying) {
      const tally = this.tried[this.way];
      tally.ms += this.current.ms;
      tally.steps += this.current.steps;
      this.current.clear();
      if (++this.block === TRY_BLOCKS || (this.judgements === 0 && this.block === 2 && this.farApart())) this.decide(now);
    } else {
      const drifted = this.current.mean > DRIFT * this.means[this.preferred];
      this.current.clear();
      if (drifted || now >= this.restUntil) this.beginTry();
    }
  }

  private beginTry(): void {
    this.trying = true;
    this.block = 0;
    this.tryBegan = Number.NaN;
    this.tried.shared.clear();
    this.tried.alone.clear();
  }

  /** Whether the ways tried so far are FAR apart, either way round. */
  private farApart(): boolean {
    const [shared, alone] = [this.tried.shared.mean, this.tried.alone.mean];
    return shared > FAR * alone || alone > FAR * shared;
  }

  /** At a try's end (its blocks all run, or the first try's two when far apart): keep the faster way, and rest for a while before the next try. */
  private decide(now: number): void {
    this.trying = false;
    this.means.shared = this.tried.shared.mean;
    this.means.alone = this.tried.alone.mean;
    const [shared, alone] = [this.means.shared, this.means.alone];
    // Sharing is the way of a quiet machine: the worker sits out only while alone is clearly faster, so
    // that two ways a noisy spell measures about alike leave the steps shared.
    this.preferred = alone * SIT_OUT_MARGIN < shared ? "alone" : "shared";
    const close = shared < CLOSE * alone && alone < CLOSE * shared;
    this.judgements++;
    // A first judgement of a whole try rests briefly whatever it found; one ended early found the ways far apart.
    const brief = close || (this.judgements === 1 && this.block === TRY_BLOCKS);
    this.restUntil = now + (brief ? REST_CLOSE : REST_FAR) * (now - this.tryBegan);
  }
}
