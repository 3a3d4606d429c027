/**
 * A kernel call shared between the main thread and the worker thread: the one place where the protocol
 * is carried out — the Split begins a run; if it says share and the pool takes the worker's part, the
 * main thread runs its own part and then waits for the worker's (or takes it back); otherwise the main
 * thread does both. Whether to share (and where to cut) is the Split's business (split.ts, built by the
 * rules of split-policy.ts); how the two parts' arguments derive from the whole call is declared once,
 * when the kernel is built (a PartLayout), instead of being computed by hand at every call site.
 *
 * A run allocates nothing: the arguments of each part are written into typed arrays made with the
 * SharedCall.
 */
import type { Kernel } from "../../../ops/op.js";
import type { WasmKernels } from "./module.js";
import { JOB, type JobKernel, type WasmPool } from "./pool.js";
import type { Split } from "./split.js";

/** A job hands its kernel at most this many arguments (WasmPool.start's a0 … a12). */
export const MAX_ARGS = 13;

/**
 * How the call that does all `n` units (rows, elements, columns, features) of a kernel becomes its two
 * parts, units [0, cut) — always the main thread's — and [cut, n): argument indices, as the kernel
 * takes its arguments.
 */
export interface PartLayout {
  /** The argument that counts the units: n in the whole call, cut and n − cut in the parts. */
  readonly count: number;
  /**
   * Arguments that move with a part's first unit, by how much per unit: a byte offset of a row-major
   * array (bytes per unit), or a first index (1). The part [cut, n) takes value + cut × this.
   */
  readonly perUnit: Readonly<Record<number, number>>;
  /** The argument that gives the kernel its scratch space: the worker thread has its own (workerScratch). */
  readonly scratch?: number;
  /** Arguments that the part [cut, n) takes instead of the whole call's, whoever runs it (its own output). */
  readonly second?: Readonly<Record<number, number>>;
  /**
   * A cut fixed by what the kernel computes (a sum taken in two halves, a batch cut where another kernel
   * cuts it); without one, the Split's cut.
   */
  readonly cut?: number;
  /**
   * Whether the main thread, alone, still runs the two parts one after the other (their results depend
   * on the parts: two partial sums) rather than the whole call. Needs a fixed `cut`.
   */
  readonly aloneInParts?: boolean;
  /**
   * Whether the units are rows of a batch, every moving argument the same rows: the part [cut, n) reads
   * and writes only those rows of them (a product by the rows of A, an elementwise kernel, a kernel over
   * the rows of its last axis). Such a call can be one link of a row chain (chain.ts).
   */
  readonly rowLocal?: boolean;
}

/**
 * Where the kernels of a row chain are being recorded (chain.ts): while `recording`, a SharedCall's run
 * does not compute, it hands its whole call to `record`; a kernel's work after its parts (the loss's two
 * halves added) goes to `later`.
 */
export interface CallRecorder {
  readonly recording: boolean;
  record(call: SharedCall, args: Float64Array): void;
  later(finish: () => void): void;
}

/** What a SharedCall needs of the backend: the module's kernels, the worker (if any) and its scratch space. */
export interface ShareContext {
  readonly kernels: WasmKernels;
  readonly pool: WasmPool | undefined;
  readonly workerScratch: number;
  /** The recorder of the backend's row chains (chain.ts), if it makes any. */
  readonly chain?: CallRecorder;
}

/** Kernels whose only work is their SharedCalls' runs and `afterParts` (a row chain may record them). */
const SHARED_ONLY = new WeakSet<Kernel>();

/** Marks `kernel` as one whose only work is its SharedCalls' runs and `afterParts`: a row chain may record it (chain.ts). */
export function sharedOnly(kernel: Kernel): Kernel {
  SHARED_ONLY.add(kernel);
  return kernel;
}

export function isSharedOnly(kernel: Kernel): boolean {
  return SHARED_ONLY.has(kernel);
}

/**
 * Runs `finish` — what a kernel does with the results of its parts, such as adding up the loss's two
 * halves — now, or, while a row chain is being recorded, after the chain's parts are all done.
 */
export function afterParts(context: ShareContext, finish: () => void): void {
  if (context.chain?.recording) context.chain.later(finish);
  else finish();
}

type KernelFunction = (...args: number[]) => void;

/**
 * One kernel, shared as its PartLayout and its Split say: `run` takes the arguments of the whole call
 * (missing ones are 0, which WebAssembly ignores past the kernel's own). Without a Split (no worker, or
 * a kernel below its threshold), the main thread runs the whole call, or the two parts if the layout
 * says so.
 */
export class SharedCall {
  private readonly kernel: KernelFunction;
  private readonly job: number;
  private readonly count: number;
  private readonly moving: Int32Array;
  private readonly movingPerUnit: Float64Array;
  private readonly replaced: Int32Array;
  private readonly replacedValues: Float64Array;
  private readonly scratch: number;
  private readonly workerScratch: number;
  /** The fixed cut, or −1: the Split's. */
  private readonly fixedCut: number;
  private readonly aloneInParts: boolean;
  /** Whether the units are a batch's rows (PartLayout.rowLocal). */
  readonly rowLocal: boolean;
  /** The whole call's arguments (then the first part's), and the second part's, as the run under way has them. */
  private readonly whole = new Float64Array(MAX_ARGS);
  private readonly partArgs = new Float64Array(MAX_ARGS);
  /** Whether a run was begun (and is not yet finished), and whether the worker took its part. */
  private begun = false;
  private started = false;

  constructor(
    private readonly context: ShareContext,
    job: JobKernel,
    private readonly split: Split | undefined,
    layout: PartLayout,
  ) {
    this.kernel = context.kernels[job] as KernelFunction;
    this.job = JOB[job];
    const index = (i: number | string, what: string) => {
      const n = Number(i);
      if (!(Number.isInteger(n) && n >= 0 && n < MAX_ARGS)) throw new Error(`${job}: ${what} ${i} is not an argument index (0 … ${MAX_ARGS - 1})`);
      return n;
    };
    this.count = index(layout.count, "count");
    const moving = Object.entries(layout.perUnit);
    this.moving = Int32Array.from(moving, ([i]) => index(i, "moving argument"));
    this.movingPerUnit = Float64Array.from(moving, ([, perUnit]) => perUnit);
    const replaced = Object.entries(layout.second ?? {});
    this.replaced = Int32Array.from(replaced, ([i]) => index(i, "second part's argument"));
    this.replacedValues = Float64Array.from(replaced, ([, value]) => value);
    this.scratch = layout.scratch === undefined ? -1 : index(layout.scratch, "scratch");
    this.workerScratch = context.workerScratch;
    this.fixedCut = layout.cut ?? -1;
    this.aloneInParts = layout.aloneInParts === true;
    this.rowLocal = layout.rowLocal === true;
    if (this.aloneInParts && layout.cut === undefined) throw new Error(`${job}: parts run alone need a fixed cut`);
  }

  /** Whether a run may be shared (it has a Split): false, and the main thread runs every call alone. */
  get mayShare(): boolean {
    return this.split !== undefined;
  }

  /** Runs the kernel over all its units, shared or not; returns when both parts are done. */
  run(a0 = 0, a1 = 0, a2 = 0, a3 = 0, a4 = 0, a5 = 0, a6 = 0, a7 = 0, a8 = 0, a9 = 0, a10 = 0, a11 = 0, a12 = 0): void {
    if (this.context.chain?.recording) {
      this.context.chain.record(this, Float64Array.of(a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12));
      return;
    }
    if (this.split === undefined && !this.aloneInParts) {
      this.kernel(a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12);
      return;
    }
    this.begin(a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12);
    this.finish();
  }

  /**
   * `run` without the wait: hands the worker its part if the Split and the pool say so, and runs the main
   * thread's part (or both parts); `finish` then waits for the worker's. For a kernel whose main thread
   * has more to do before it needs the worker's part (a parameter's update, followed by the parameters
   * after it). Nothing else may be handed to the worker in between (WasmPool takes one job at a time).
   */
  begin(a0 = 0, a1 = 0, a2 = 0, a3 = 0, a4 = 0, a5 = 0, a6 = 0, a7 = 0, a8 = 0, a9 = 0, a10 = 0, a11 = 0, a12 = 0): void {
    const whole = this.whole;
    whole[0] = a0;
    whole[1] = a1;
    whole[2] = a2;
    whole[3] = a3;
    whole[4] = a4;
    whole[5] = a5;
    whole[6] = a6;
    whole[7] = a7;
    whole[8] = a8;
    whole[9] = a9;
    whole[10] = a10;
    whole[11] = a11;
    whole[12] = a12;
    const split = this.split;
    const n = whole[this.count]!;
    const cut = this.fixedCut >= 0 ? this.fixedCut : split === undefined ? n : split.cut;
    this.begun = split !== undefined;
    this.started = split !== undefined && split.begin() && this.handOver(cut, n);
    if (this.started || this.aloneInParts) {
      // Units [0, cut): the whole call's arguments but the count (the part [cut, n) was made already).
      whole[this.count] = cut;
      this.call(whole);
    } else this.kernel(a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12);
    if (!this.started && this.aloneInParts) this.call(this.secondPart(cut, n, false));
  }

  /** After `begin`: waits for the worker's part (or takes it back), and lets the Split learn from the run. */
  finish(): void {
    if (!this.begun) return;
    this.begun = false;
    this.split!.end(this.context.pool, this.started);
  }

  /** The units of the whole call with these arguments. */
  units(whole: Float64Array): number {
    return whole[this.count]!;
  }

  /** The fixed cut (PartLayout.cut), or −1: none. */
  get fixedCutAt(): number {
    return this.fixedCut;
  }

  /**
   * The arguments of the part over units [0, cut) of the whole call `whole`, and of the part over [cut, n)
   * as the worker runs it (its own scratch space): for a row chain, made once.
   */
  parts(whole: Float64Array, cut: number): { first: Float64Array; second: Float64Array } {
    const [first, second] = [new Float64Array(MAX_ARGS), new Float64Array(MAX_ARGS)];
    this.writeParts(whole, cut, first, second, 0);
    return { first, second };
  }

  /** `parts` without allocating: into `first`, and into `second` from index `at` (MAX_ARGS slots). */
  writeParts(whole: Float64Array, cut: number, first: Float64Array, second: Float64Array, at: number): void {
    this.whole.set(whole);
    second.set(this.secondPart(cut, this.units(whole), true), at);
    first.set(whole);
    first[this.count] = cut;
  }

  /** Where the whole call `whole` is cut now: its fixed cut, or its Split's (all its units without one). */
  cutOf(whole: Float64Array): number {
    return this.fixedCut >= 0 ? this.fixedCut : this.split ? this.split.cut : this.units(whole);
  }

  /** A run of the two parts took the main thread `mainMs` and the worker `workerMs`: the Split moves its cut (if it learns one). */
  learn(mainMs: number, workerMs: number): void {
    this.split?.ranParts(mainMs, workerMs);
  }

  /** This kernel's index among the worker's jobs (JOB). */
  get jobIndex(): number {
    return this.job;
  }

  /** Runs the kernel on the main thread with these arguments (a part made by `parts`). */
  callWith(a: Float64Array): void {
    this.call(a);
  }

  /** Runs the whole call on the main thread alone, as `run` does without a worker (in two parts if the layout says so). */
  runAlone(whole: Float64Array): void {
    if (!this.aloneInParts) return this.call(whole);
    this.whole.set(whole);
    const n = whole[this.count]!;
    const first = this.whole;
    first[this.count] = this.fixedCut;
    this.call(first);
    first[this.count] = n;
    this.call(this.secondPart(this.fixedCut, n, false));
  }

  /** Hands units [cut, n) to the worker: false if the pool does not take them (then nothing was handed over). */
  private handOver(cut: number, n: number): boolean {
    const a = this.secondPart(cut, n, true);
    return this.context.pool!.start(this.job, a[0]!, a[1]!, a[2]!, a[3]!, a[4]!, a[5]!, a[6]!, a[7]!, a[8]!, a[9]!, a[10]!, a[11]!, a[12]!);
  }

  /** Calls the kernel on the main thread with these arguments. */
  private call(a: Float64Array): void {
    this.kernel(a[0]!, a[1]!, a[2]!, a[3]!, a[4]!, a[5]!, a[6]!, a[7]!, a[8]!, a[9]!, a[10]!, a[11]!, a[12]!);
  }

  /** The arguments of the part over units [cut, n), run by the worker or by the main thread (then with its own scratch). */
  private secondPart(cut: number, n: number, onWorker: boolean): Float64Array {
    const whole = this.whole;
    const a = this.partArgs;
    // Slot by slot: cheaper than a.set(whole), a builtin's call, at this size.
    a[0] = whole[0]!;
    a[1] = whole[1]!;
    a[2] = whole[2]!;
    a[3] = whole[3]!;
    a[4] = whole[4]!;
    a[5] = whole[5]!;
    a[6] = whole[6]!;
    a[7] = whole[7]!;
    a[8] = whole[8]!;
    a[9] = whole[9]!;
    a[10] = whole[10]!;
    a[11] = whole[11]!;
    a[12] = whole[12]!;
    a[this.count] = n - cut;
    const { moving, movingPerUnit, replaced, replacedValues } = this;
    for (let i = 0; i < moving.length; i++) {
      const slot = moving[i]!;
      a[slot] = whole[slot]! + cut * movingPerUnit[i]!;
    }
    for (let i = 0; i < replaced.length; i++) a[replaced[i]!] = replacedValues[i]!;
    if (onWorker && this.scratch >= 0) a[this.scratch] = this.workerScratch;
    return a;
  }
}
