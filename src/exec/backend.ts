/**
 * What runs a plan: a backend. The executor owns the plan's order of steps and the views of its values;
 * a backend owns everything about *how* they run — the memory the values live in, the kernel of each step
 * it can run faster than the op's own, the steps it runs as one, filling batches, counting right answers,
 * an optimizer's updates and any threads. Two implement it:
 *   - "ts"   (src/exec/backends/reference.ts): a plain typed array and every op's own kernel;
 *   - "wasm" (src/exec/backends/wasm/backend.ts): WebAssembly memory and SIMD kernels, with a worker thread.
 * Nothing above src/exec/ asks which one it runs on.
 */
import type { Attrs } from "../graph/ir.js";
import type { FloatArray, Kernel, KernelSpec } from "../ops/op.js";
import type { Batches, Samples } from "./batches.js";
import type { ParameterUpdates } from "./parameter-updates.js";
import type { Plan, PlanStep } from "./plan.js";

/** "ts", the reference; "wasm", WebAssembly SIMD kernels (float32 plans only: a float64 plan runs on "ts"). */
export type BackendName = "ts" | "wasm";

export const BACKENDS: readonly BackendName[] = ["ts", "wasm"];

/** How the big kernels' parts are shared between threads: "auto" — learned from their times; "always" — every time, waited for (tests). */
export type Sharing = "auto" | "always" | "adaptive";

/** What a backend's worker thread has done (one thread: nothing). */
export interface ThreadStats {
  /** Threads the big kernels run on: 1, or 2 with a worker thread. */
  readonly threads: number;
  /** Whether the worker thread is up and taking parts (false once closed, failed, or with one thread). */
  readonly workerUp: boolean;
  /** Parts of kernels handed over to the worker thread, */
  readonly handedOver: number;
  /** of which the worker ran, */
  readonly workerRan: number;
  /** and the main thread took back, the worker not having started them when the main thread was done with its own part. */
  readonly takenBack: number;
  /** Why the worker thread stopped, if it failed: the kernels then run on the main thread alone. */
  readonly failure: string | undefined;
}

export const ONE_THREAD: ThreadStats = { threads: 1, workerUp: false, handedOver: 0, workerRan: 0, takenBack: 0, failure: undefined };

/** What a backend is asked for when it is made for a plan (each backend reads what concerns it). */
export interface BackendOptions {
  /** Threads for the big kernels, 1 or 2. */
  readonly threads: number;
  readonly sharing: Sharing | undefined;
  /** Sharing "adaptive": the clock the step governor times steps by (tests); undefined: performance.now. */
  readonly stepClock?: (() => number) | undefined;
  /** Float32 values to set aside in the backend's memory for an optimizer's state. */
  readonly reserveElements: number;
  /** A dataset to hold in the backend's memory, and the most rows of a batch gathered from it. */
  readonly resident: { readonly data: Samples; readonly maxRows: number } | undefined;
}

/** A step as the executor compiled it: its kernel over its views. */
export interface CompiledStep {
  readonly id: string;
  readonly kernel: Kernel;
  readonly inputs: readonly FloatArray[];
  readonly output: FloatArray;
}

export interface Backend {
  /** The plan's values, one typed array laid out as the plan says (parameters first). */
  readonly values: FloatArray;
  /** The backend's own kernel for a step, over the same views as the op's kernel; undefined where it has none. */
  kernelFor(step: PlanStep, spec: KernelSpec<Attrs>): Kernel | undefined;
  /**
   * The compiled steps with those the backend runs as one replaced (the last of them runs the whole, the
   * others nothing); `fast` names the steps that run the backend's own kernels.
   */
  fuse(steps: readonly CompiledStep[], fast: ReadonlySet<string>): readonly CompiledStep[];
  /** Filling fed views with a dataset's batches and counting right answers. */
  readonly batches: Batches;
  /** How an optimizer's updates run, its state where they read it. One for each optimizer. */
  parameterUpdates(): ParameterUpdates;
  /** Resolved when a worker thread is up (at once without one); rejected if it fails first. */
  readonly ready: Promise<void>;
  /** Told at the start of each training run (a step): where a worker may sit a step out (sharing "adaptive"). */
  stepBegins?(): void;
  /** Told when training steps stop for other work (an evaluation): the time until the next step is not a step's. */
  stepsPause?(): void;
  threadStats(): ThreadStats;
  /** Ends any worker thread; the backend stays usable on the main thread alone. */
  close(): Promise<void>;
}

/**
 * Whether row chains are switched off (GRAPHNET_ROW_CHAINS=off in the environment): the wasm backend then
 * hands each big kernel over on its own, and a Model plans its gradients in their topological place — a
 * step as before the chains, to measure what they change (backends/wasm/chain.ts).
 */
export function rowChainsOff(): boolean {
  return process.env.GRAPHNET_ROW_CHAINS === "off";
}

/** Makes a backend's memory and runtime for one plan. */
export type BackendFactory = (plan: Plan, options: BackendOptions) => Backend;
