/**
 * A second core for the big kernels: one worker thread that instantiates the same WebAssembly module over
 * the same shared memory and runs one part of a kernel (rows of a product, elements of an update) while
 * the main thread runs the other (where, and whether at all, each kernel's Split learns). Each output element is computed
 * exactly as by one thread, so the results do not depend on the split.
 *
 * Hand-over, through the arena's control block (Int32 slots): the main thread writes the job's function
 * and arguments, bumps SEQ and notifies; the worker, spinning on SEQ for 5 ms after each job (so the
 * many small hand-overs of a training step cost well under a microsecond) and sleeping in Atomics.wait
 * after that, claims the job (CLAIM from SEQ − 1 to SEQ), runs it and stores SEQ into DONE. The main
 * thread, its own part done, claims the job itself the same way if the worker has not yet — on a busy machine the
 * worker may not be running — and otherwise spins until DONE catches up. So a step never waits for a
 * worker that is not there; until the worker has said READY, the main thread runs whole jobs itself.
 *
 * A job may also be a list of kernel calls written once into the control block (writeList): the worker
 * runs them one after the other, so a training step's row chain or group of gradients (chain.ts,
 * call-group.ts) is one hand-over. The main thread takes a whole list back the same way as one call; and
 * from a list the worker has begun, the entries it has not (each entry is claimed before it runs), after
 * waiting for the one it is at — so a worker descheduled in the middle of a list costs one kernel's wait,
 * not the rest of the list.
 *
 * With `sharing: "always"` (for tests: what they check then does not depend on the machine's scheduling)
 * the main thread never takes a part back: it waits for the worker to come up and to run every part
 * handed to it, and each kernel's Split always shares. With `sharing: "adaptive"` a StepGovernor also
 * decides, step by step from the steps' times, whether the worker takes part at all (step-governor.ts).
 */
import { Worker } from "node:worker_threads";
import type { Sharing, ThreadStats } from "../../backend.js";
import { JOB_KERNELS } from "./kernels.exports.js";
import { kernelsModule, type WasmKernels } from "./module.js";
import { StepGovernor } from "./step-governor.js";

/** The kernels a worker can run a part of, by their index (JOB.tanh, …): generated from the module's exports. */
export type JobKernel = (typeof JOB_KERNELS)[number];

/** Whether `name` is a kernel a worker can run a part of (a WasmCall's export must be). */
export function isJobKernel(name: string): name is JobKernel {
  return (JOB_KERNELS as readonly string[]).includes(name);
}

export const JOB = Object.fromEntries(JOB_KERNELS.map((name, i) => [name, i])) as { readonly [K in JobKernel]: number };

/** What the pool needs of an arena: its memory, and where in it the block through which jobs are handed over lies. */
export interface PoolMemory {
  readonly memory: WebAssembly.Memory;
  /** Byte offset of the control block (CONTROL_BYTES: the hand-over slots, then the room for job lists). */
  readonly control: number;
}

/**
 * Float64 slots of one entry of a job list: the kernel's index (JOB), its 13 arguments, and how long the
 * worker took to run it (ms, its own clock; for a Split that learns where to cut the call).
 */
export const LIST_ENTRY_SLOTS = 15;
/** The slot of an entry where the worker puts its time. */
export const LIST_ENTRY_MS = 14;
/** Bytes of the hand-over slots at the start of the control block; the room for job lists follows. */
const SLOT_BYTES = 256;
/** Entries of job lists the control block has room for (a row chain takes one per kernel call). */
const LIST_ENTRIES = 128;
/** Bytes of the control block: the hand-over slots and the room for job lists. */
export const CONTROL_BYTES = SLOT_BYTES + 8 * LIST_ENTRY_SLOTS * LIST_ENTRIES;
/**
 * The job that runs a list of kernel calls one after the other (a row chain's part: chain.ts): its
 * arguments are the list's byte offset and its number of entries.
 */
const LIST = JOB_KERNELS.length;

/** A kernel called with the 13 argument slots; WebAssembly ignores the arguments it does not take. */
type JobFunction = (...args: number[]) => void;

// Int32 slots of the control block; the arguments are Float64 slots from byte 64 on.
const SEQ = 0;
const DONE = 1;
const READY = 2;
const FN = 3;
const FAILED = 4;
const CLAIM = 5;
const WORKER_JOBS = 6;
/** Set by the worker when it cannot start (its WebAssembly instance failed): nothing will ever be READY. */
const START_FAILED = 7;
/** A job list's next entry to claim, and the entries the worker has run (each s·256 + entries, for job s). */
const NEXT = 8;
const LIST_DONE = 9;
/** A test's hold on the worker (holdWorker): while HOLD is 1, the worker stops at each job list it claims (HELD: that job) until PASS is that job. */
const HOLD = 10;
const HELD = 11;
const PASS = 12;
const ARGS_BYTE = 64;
const MAX_ARGS = 14;
/** Float64 slot after the arguments (byte 176 of the control block's 256): how long the worker's last job took (ms, its own clock). */
const WORKER_MS_BYTE = ARGS_BYTE + 8 * MAX_ARGS;
/** How long the worker spins for the next job before it sleeps. */
const SPIN_MS = 5;
/**
 * With sharing "always", how long the main thread waits for the worker to come up or to finish a part
 * before it gives up with an error: far beyond any start-up or part on a loaded machine, short of a hang.
 */
const FORCED_WAIT_MS = 60_000;

const WORKER_SOURCE = `
const { workerData, parentPort } = require("node:worker_threads");
const { module, memory, control } = workerData;
const i32 = new Int32Array(memory.buffer, control, 16);
let k;
try {
  k = new WebAssembly.Instance(module, { env: { memory } }).exports;
} catch (err) {
  // Said in the shared memory too: a main thread waiting for READY (sharing "always") sees no events.
  Atomics.store(i32, ${START_FAILED}, 1);
  Atomics.notify(i32, ${READY});
  throw err;
}
const a = new Float64Array(memory.buffer, control + ${ARGS_BYTE}, ${MAX_ARGS});
const took = new Float64Array(memory.buffer, control + ${WORKER_MS_BYTE}, 1);
const jobs = ${JSON.stringify(JOB_KERNELS)}.map((name) => k[name]);
const f64 = new Float64Array(memory.buffer);
// A list of kernel calls (job s: a row chain's part, a group's), entry by entry — the kernel's index, then
// its arguments — each claimed first (NEXT moves from s·256 + e to s·256 + e + 1): the main thread may
// take the rest of the list, entries the worker has not begun, and waits only for those it has.
jobs.push((at, count, tag) => {
  for (;;) {
    const next = Atomics.load(i32, ${NEXT});
    const e = next & 255;
    if ((next & ~255) !== tag || e >= count) return;
    if (Atomics.compareExchange(i32, ${NEXT}, next, next + 1) !== next) continue;
    const b = at / 8 + e * ${LIST_ENTRY_SLOTS};
    const begin = performance.now();
    try {
      jobs[f64[b]](f64[b + 1], f64[b + 2], f64[b + 3], f64[b + 4], f64[b + 5], f64[b + 6], f64[b + 7], f64[b + 8], f64[b + 9], f64[b + 10], f64[b + 11], f64[b + 12], f64[b + 13]);
    } finally {
      f64[b + ${LIST_ENTRY_MS}] = performance.now() - begin;
      Atomics.store(i32, ${LIST_DONE}, next + 1);
    }
  }
});
let seen = Atomics.load(i32, ${SEQ});
Atomics.store(i32, ${READY}, 1);
Atomics.notify(i32, ${READY});
parentPort.postMessage("ready");
for (;;) {
  let s;
  let spins = 0;
  const idleSince = performance.now();
  while ((s = Atomics.load(i32, ${SEQ})) === seen) {
    // Spin ${SPIN_MS} ms before sleeping: waking a sleeping thread goes through the kernel (on a VM,
    // through the hypervisor), tens of microseconds or more, and a training step's jobs come closer.
    if ((++spins & 4095) === 0 && performance.now() - idleSince > ${SPIN_MS}) {
      Atomics.wait(i32, ${SEQ}, seen);
      spins = 0;
    }
  }
  seen = s;
  const fn = Atomics.load(i32, ${FN});
  if (fn < 0) break;
  // The job's function and arguments are read BEFORE it is claimed. After the claim they may already be the
  // next job's: from a list the worker has claimed, the main thread takes back the entries not begun and
  // hands the next job over without waiting for the worker to notice. Read before, they are job s's: the
  // main thread writes the next job's only once job s is done, and job s is done before the claim below
  // only if the main thread took it — then the claim fails.
  const a0 = a[0], a1 = a[1], a2 = a[2], a3 = a[3], a4 = a[4], a5 = a[5], a6 = a[6];
  const a7 = a[7], a8 = a[8], a9 = a[9], a10 = a[10], a11 = a[11], a12 = a[12];
  // Claim job s: CLAIM moves from s − 1 to s, by the worker or by the main thread, never both. A stale s
  // (a job the main thread already took, seen late) fails here.
  if (Atomics.compareExchange(i32, ${CLAIM}, (s - 1) | 0, s) !== ((s - 1) | 0)) continue;
  // A test's hold (WasmPool.holdWorker): stop here, a list claimed, as a descheduled worker would.
  if (fn === ${LIST} && Atomics.load(i32, ${HOLD}) !== 0) {
    Atomics.store(i32, ${HELD}, s);
    while (Atomics.load(i32, ${HOLD}) !== 0 && Atomics.load(i32, ${PASS}) !== s) Atomics.wait(i32, ${HOLD}, 1, 10);
  }
  const begin = performance.now();
  try {
    jobs[fn](a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12);
  } catch (err) {
    Atomics.store(i32, ${FAILED}, 1);
  }
  took[0] = performance.now() - begin;
  Atomics.add(i32, ${WORKER_JOBS}, 1);
  Atomics.store(i32, ${DONE}, s);
}
`;

export class WasmPool {
  private readonly i32: Int32Array;
  private readonly args: Float64Array;
  private readonly workerMs: Float64Array;
  private readonly worker: Worker;
  private readonly jobs: readonly JobFunction[];
  private readonly runList: (at: number, count: number, from: number) => void;
  /** The room for job lists in the control block: the next free byte, and its end. */
  private listsAt: number;
  private readonly listsEnd: number;
  private readonly memory: WebAssembly.Memory;
  private seq = 0;
  private failed = false;
  private closed = false;
  /** Why the worker thread stopped, if it did: the kernels then run on the main thread alone. */
  failure: string | undefined;
  private outstanding = false;
  /** While true (the governor's choice for the step under way), no part is handed over. */
  private sittingOut = false;
  private readonly governor: StepGovernor | undefined;
  private handedOver = 0;
  private takenBack = 0;
  private readonly up: Promise<void>;
  private settled = false;
  private readonly exited: Promise<void>;

  /**
   * @param sharing "always": never take a part back from the worker, wait for it instead (and for the
   *   worker to come up); the kernels' Splits then always share (see `alwaysShares`). "adaptive": a
   *   governor decides for each training step whether the worker takes part (see `stepBegins`).
   * @param clock milliseconds, for the governor's step times (a test's own clock)
   */
  constructor(
    arena: PoolMemory,
    kernels: WasmKernels,
    readonly sharing: Sharing = "auto",
    clock?: () => number,
  ) {
    this.governor = sharing === "adaptive" ? new StepGovernor(clock) : undefined;
    const kernelJobs = JOB_KERNELS.map((name) => {
      const kernel = kernels[name] as JobFunction;
      // A job hands over at most MAX_ARGS − 1 arguments (start's a0 … a12).
      if (typeof kernel !== "function" || kernel.length > MAX_ARGS - 1) throw new Error(`"${name}" cannot run as a worker job`);
      return kernel;
    });
    const buffer = arena.memory.buffer;
    const f64 = new Float64Array(buffer);
    // The LIST job's entries [from, count), run here (a list, or its rest, the main thread took back).
    const runList = (at: number, count: number, from = 0) => {
      for (let e = from, b = at / 8 + from * LIST_ENTRY_SLOTS; e < count; e++, b += LIST_ENTRY_SLOTS) {
        kernelJobs[f64[b]!]!(f64[b + 1]!, f64[b + 2]!, f64[b + 3]!, f64[b + 4]!, f64[b + 5]!, f64[b + 6]!, f64[b + 7]!, f64[b + 8]!, f64[b + 9]!, f64[b + 10]!, f64[b + 11]!, f64[b + 12]!, f64[b + 13]!);
        f64[b + LIST_ENTRY_MS] = Number.NaN; // not the worker's time
      }
    };
    this.runList = runList;
    this.jobs = [...kernelJobs, (at: number, count: number) => runList(at, count, 0)];
    this.listsAt = arena.control + SLOT_BYTES;
    this.listsEnd = arena.control + CONTROL_BYTES;
    this.memory = arena.memory;
    this.i32 = new Int32Array(buffer, arena.control, 16);
    this.args = new Float64Array(buffer, arena.control + ARGS_BYTE, MAX_ARGS);
    this.workerMs = new Float64Array(buffer, arena.control + WORKER_MS_BYTE, 1);
    this.i32.fill(0);
    // execArgv: [] — the worker's source is CommonJS whatever the parent process was told (a parent run
    // with --input-type=module would otherwise make it an ES module, where `require` does not exist).
    this.worker = new Worker(WORKER_SOURCE, {
      eval: true,
      execArgv: [],
      workerData: { module: kernelsModule(), memory: arena.memory, control: arena.control },
    });
    let settle!: { resolve: () => void; reject: (err: Error) => void };
    this.up = new Promise<void>((resolve, reject) => (settle = { resolve, reject }));
    // Awaiting `ready` is optional: a failure is also kept in `failure`, and the kernels go on alone.
    this.up.catch(() => {});
    const settleWith = (err?: Error) => {
      if (this.settled) return;
      this.settled = true;
      if (err) settle.reject(err);
      else settle.resolve();
      // Held only while someone waits for it (see `ready`): a worker never keeps a process alive.
      this.worker.unref();
    };
    this.worker.on("message", (message) => {
      if (message === "ready") settleWith();
    });
    this.worker.on("error", (err) => {
      this.failed = true;
      this.failure = err.message;
      settleWith(new Error(`the worker thread failed: ${err.message}`));
    });
    this.exited = new Promise((resolve) => this.worker.once("exit", () => resolve()));
    void this.exited.then(() =>
      settleWith(new Error(this.closed ? "the worker thread was closed before it was up" : "the worker thread ended before it was up")),
    );
    this.worker.unref();
  }

  /** Whether each kernel's Split must share every run (sharing "always"). */
  get alwaysShares(): boolean {
    return this.sharing === "always";
  }

  /**
   * Resolved when the worker thread is up and takes parts; rejected, with the reason, if it fails or is
   * closed first. Until then (and without awaiting it) the main thread runs whole kernels itself.
   */
  get ready(): Promise<void> {
    // While someone waits for it, the worker keeps the process alive (a script's top-level await).
    if (!this.settled) this.worker.ref();
    return this.up;
  }

  /** What the worker thread has done so far. */
  stats(): ThreadStats {
    const running = !this.failed && !this.closed;
    return {
      threads: 2,
      workerUp: running && Atomics.load(this.i32, READY) === 1,
      handedOver: this.handedOver,
      workerRan: Atomics.load(this.i32, WORKER_JOBS),
      takenBack: this.takenBack,
      failure: this.failure,
    };
  }

  /**
   * Hands a job to the worker; false (and nothing handed over) when the worker is not ready, and the caller
   * runs the job itself. After true, the caller does its own part and then calls `finish`. Also false
   * while another job is outstanding (started, not yet finished): one job at a time. With sharing
   * "always", waits for the worker to come up first.
   */
  start(fn: number, a0: number, a1 = 0, a2 = 0, a3 = 0, a4 = 0, a5 = 0, a6 = 0, a7 = 0, a8 = 0, a9 = 0, a10 = 0, a11 = 0, a12 = 0): boolean {
    if (this.outstanding || this.sittingOut || this.failed || this.closed) return false;
    if (Atomics.load(this.i32, READY) !== 1 && !(this.alwaysShares && this.waitUntilUp())) return false;
    this.outstanding = true;
    this.handedOver++;
    const a = this.args;
    a[0] = a0;
    a[1] = a1;
    a[2] = a2;
    a[3] = a3;
    a[4] = a4;
    a[5] = a5;
    a[6] = a6;
    a[7] = a7;
    a[8] = a8;
    a[9] = a9;
    a[10] = a10;
    a[11] = a11;
    a[12] = a12;
    Atomics.store(this.i32, FN, fn);
    this.seq = (this.seq + 1) | 0;
    Atomics.store(this.i32, SEQ, this.seq);
    Atomics.notify(this.i32, SEQ, 1);
    return true;
  }

  /**
   * Writes a list of kernel calls (a row chain's part for the worker) into the control block's room for
   * lists: `startList` then hands it over, as often as wanted, and the caller may rewrite an entry's
   * arguments between runs (through the view returned, LIST_ENTRY_SLOTS per entry). Each call is a
   * kernel's index (JOB) and its arguments (at most 13). Undefined when the room is used up (then the
   * caller hands its calls over one by one, as before).
   */
  writeList(calls: readonly { readonly job: number; readonly args: Float64Array }[]): Float64Array | undefined {
    const bytes = 8 * LIST_ENTRY_SLOTS * calls.length;
    if (this.listsAt + bytes > this.listsEnd) return undefined;
    const at = this.listsAt;
    const list = new Float64Array(this.memory.buffer, at, LIST_ENTRY_SLOTS * calls.length);
    calls.forEach(({ job, args }, e) => {
      if (args.length > LIST_ENTRY_MS - 1) throw new Error(`a job list's call takes at most ${LIST_ENTRY_MS - 1} arguments, not ${args.length}`);
      list[e * LIST_ENTRY_SLOTS] = job;
      list.set(args, e * LIST_ENTRY_SLOTS + 1);
    });
    this.listsAt += bytes;
    return list;
  }

  /** `start` for a list written by `writeList`: the worker runs its calls one after the other. */
  startList(list: Float64Array): boolean {
    // Entry 0 of the job about to be handed over (seq + 1) is the next to claim.
    const tag = ((this.seq + 1) << 8) | 0;
    if (!this.outstanding) {
      Atomics.store(this.i32, NEXT, tag);
      Atomics.store(this.i32, LIST_DONE, tag);
    }
    return this.start(LIST, list.byteOffset, list.length / LIST_ENTRY_SLOTS, tag);
  }

  /**
   * After `start` and the caller's own part: runs the handed-over part here if the worker has not taken
   * it yet, or waits (spinning) until the worker has finished it. True when the worker ran it.
   */
  finish(): boolean {
    this.outstanding = false;
    const previous = (this.seq - 1) | 0;
    if (this.alwaysShares) this.waitUntilDone();
    else if (Atomics.compareExchange(this.i32, CLAIM, previous, this.seq) === previous) {
      this.takenBack++;
      this.runHere();
      return false;
    } else if (Atomics.load(this.i32, FN) === LIST && this.takeRestOfList()) {
      this.takenBack++;
      return false;
    }
    while (Atomics.load(this.i32, DONE) !== this.seq) {
      // spin: the worker's part takes microseconds
    }
    this.failedInWorker();
    return true;
  }

  /**
   * Sharing "always": blocks until the worker is READY; false if it failed to start. Throws after
   * FORCED_WAIT_MS (the main thread sees no events while it waits, so a hang would be silent).
   */
  private waitUntilUp(): boolean {
    const deadline = performance.now() + FORCED_WAIT_MS;
    while (Atomics.load(this.i32, READY) !== 1) {
      if (Atomics.load(this.i32, START_FAILED) !== 0) {
        this.failed = true;
        this.failure ??= "the worker thread could not start its WebAssembly instance";
        return false;
      }
      if (performance.now() > deadline) throw new Error(`the worker thread did not come up within ${FORCED_WAIT_MS / 1000} s (sharing "always")`);
      Atomics.wait(this.i32, READY, 0, 10);
    }
    return true;
  }

  /** Sharing "always": blocks until the worker has run the part handed over (spinning a little, then sleeping 1 ms at a time). */
  private waitUntilDone(): void {
    for (let spins = 0; spins < 100_000; spins++) if (Atomics.load(this.i32, DONE) === this.seq) return;
    const deadline = performance.now() + FORCED_WAIT_MS;
    for (let done = Atomics.load(this.i32, DONE); done !== this.seq; done = Atomics.load(this.i32, DONE)) {
      if (performance.now() > deadline) throw new Error(`the worker thread did not run its part within ${FORCED_WAIT_MS / 1000} s (sharing "always")`);
      Atomics.wait(this.i32, DONE, done, 1);
    }
  }

  /** A training step begins: with sharing "adaptive", the governor says whether the worker takes part in it. */
  stepBegins(): void {
    if (this.governor) this.sittingOut = !this.governor.stepBegins();
  }

  /** The training steps stop for other work: see StepGovernor.pause. */
  stepsPause(): void {
    this.governor?.pause();
  }

  /** The governor's state (sharing "adaptive"), for tests and the bench. */
  governorState(): ReturnType<StepGovernor["state"]> | undefined {
    return this.governor?.state();
  }

  /**
   * For tests, the interleavings a busy machine makes now and then, forced: until `releaseWorker`, the
   * worker stops at each job list it claims (writeList) — as if descheduled there, the list claimed and
   * none of its entries begun — until `letWorkerGo(job)`. `workerHeldAt` is the job it stopped at last
   * (its sequence number, 0 before any). The main thread meanwhile goes on as it would: it takes the list
   * back. (Lists only: a single kernel's part, once claimed, is waited for, which a hold would make forever.)
   */
  holdWorker(): void {
    Atomics.store(this.i32, HOLD, 1);
  }

  get workerHeldAt(): number {
    return Atomics.load(this.i32, HELD);
  }

  letWorkerGo(job: number): void {
    Atomics.store(this.i32, PASS, job);
    Atomics.notify(this.i32, HOLD);
  }

  releaseWorker(): void {
    Atomics.store(this.i32, HOLD, 0);
    Atomics.notify(this.i32, HOLD);
  }

  /** For tests: the last job the worker has finished, and the last handed over (their sequence numbers). */
  get lastJobDone(): number {
    return Atomics.load(this.i32, DONE);
  }

  get lastJobHandedOver(): number {
    return this.seq;
  }

  /** How long the worker's last part took, by its own clock (ms). */
  get lastWorkerMs(): number {
    return this.workerMs[0]!;
  }

  /** How many parts the worker has run so far. */
  get workerJobs(): number {
    return Atomics.load(this.i32, WORKER_JOBS);
  }

  /**
   * A list the worker has claimed: takes the entries it has not begun (NEXT moves to the list's end), waits
   * for those it has, and runs the rest here. False when the worker had claimed every entry.
   */
  private takeRestOfList(): boolean {
    const a = this.args;
    const [at, count, tag] = [a[0]!, a[1]!, a[2]!];
    let next = Atomics.load(this.i32, NEXT);
    for (;;) {
      if ((next & 255) >= count) return false;
      const seen = Atomics.compareExchange(this.i32, NEXT, next, tag + count);
      if (seen === next) break;
      next = seen;
    }
    while (Atomics.load(this.i32, LIST_DONE) !== next) {
      // spin: the worker is at most one entry away
    }
    this.failedInWorker();
    this.runList(at, count, next & 255);
    return true;
  }

  /** Throws if a kernel failed in the worker (the kernels then run on the main thread alone). */
  private failedInWorker(): void {
    if (Atomics.load(this.i32, FAILED) === 0) return;
    this.failed = true;
    this.failure ??= "a WebAssembly kernel failed in the worker thread";
    throw new Error(this.failure);
  }

  private runHere(): void {
    const a = this.args;
    this.jobs[Atomics.load(this.i32, FN)]!(a[0]!, a[1]!, a[2]!, a[3]!, a[4]!, a[5]!, a[6]!, a[7]!, a[8]!, a[9]!, a[10]!, a[11]!, a[12]!);
  }

  /** Ends the worker thread (the kernels then run on the main thread alone); resolved when it has ended. Closing again does nothing more. */
  close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      Atomics.store(this.i32, FN, -1);
      Atomics.store(this.i32, SEQ, (this.seq + 1) | 0);
      Atomics.notify(this.i32, SEQ, 1);
      void this.worker.terminate();
    }
    return this.exited;
  }
}
