/**
 * The WebAssembly backend: the plan's values in one shared WebAssembly memory (arena.ts), the SIMD
 * kernels of the ops it covers (kernels.ts) and of the step patterns it fuses (fusion.ts), batches
 * gathered by kernels (batch.ts), an optimizer's updates by kernels (updates.ts), and a worker thread
 * for a part of the big kernels (pool.ts). Steps it has no kernel for run the op's own on the same views.
 */
import type { Attrs } from "../../../graph/ir.js";
import { BUILTIN_OPS } from "../../../ops/builtin.js";
import type { Kernel, KernelSpec, WasmCall } from "../../../ops/op.js";
import { requireOp } from "../../../ops/registry.js";
import { ONE_THREAD, rowChainsOff, type Backend, type BackendFactory, type BackendOptions, type CompiledStep, type ThreadStats } from "../../backend.js";
import type { Batches } from "../../batches.js";
import type { ParameterUpdates } from "../../parameter-updates.js";
import type { Plan, PlanStep } from "../../plan.js";
import { allocateWasmArena, type WasmArena } from "./arena.js";
import { RESIDENT_DATASET_MAX_BYTES, ResidentDataset, wasmBatches } from "./batch.js";
import { imageScratchBytes } from "./conv.js";
import { groupCalls } from "./call-group.js";
import { ChainRecorder, chainRows } from "./chain.js";
import { fuseSteps } from "./fusion.js";
import { callKernel, isFedBatchProduct, OWN_KERNELS, SPARSE_SCRATCH_BYTES_PER_ELEMENT, type FastKernelContext } from "./kernels.js";
import type { WasmPool } from "./pool.js";
import { wasmParameterUpdates } from "./updates.js";

export class WasmBackend implements Backend {
  readonly values: Float32Array;
  readonly batches: Batches;
  private readonly arena: WasmArena;
  /** What every fast kernel of this plan shares: the memory, scratch spaces, the worker. */
  private readonly context: Omit<FastKernelContext, "inputs">;
  /** Records kernels' calls for the row chains (chain.ts). */
  private readonly recorder = new ChainRecorder();

  constructor(
    private readonly plan: Plan,
    options: BackendOptions,
  ) {
    const scratch = wasmScratchBytes(plan);
    const { threads } = options;
    const allocate = (residentElements: number) =>
      allocateWasmArena(
        plan.arenaElements,
        scratch.main,
        options.reserveElements + residentElements,
        threads,
        threads > 1 ? scratch.worker : 0,
        options.sharing,
        options.stepClock,
      );
    // Pictures' bytes only: the resident gather scales bytes (numbers as given are copied by fillBatch).
    let resident =
      options.resident && !options.resident.data.values && options.resident.data.count * options.resident.data.features <= RESIDENT_DATASET_MAX_BYTES ? options.resident : undefined;
    let arena: WasmArena;
    try {
      arena = allocate(resident ? ResidentDataset.reservedElements(resident.data, resident.maxRows) : 0);
    } catch (err) {
      // WebAssembly memory ends at 4 GiB: a big plan may leave no room for the dataset, which then stays
      // in JavaScript memory.
      if (!resident || !(err instanceof RangeError)) throw err;
      resident = undefined;
      arena = allocate(0);
    }
    this.arena = arena;
    this.values = arena.planValues;
    this.batches = wasmBatches(arena, resident && new ResidentDataset(arena, resident.data, resident.maxRows));
    this.context = {
      kernels: arena.kernels,
      memory: arena.memory,
      scratch: arena.scratch,
      workerScratch: arena.workerScratch,
      partials: arena.scratch + scratch.partialsAt,
      sums: arena.scratch + scratch.sumsAt,
      pool: arena.pool,
      chain: this.recorder,
    };
  }

  stepBegins(): void {
    this.arena.pool?.stepBegins();
  }

  stepsPause(): void {
    this.arena.pool?.stepsPause();
  }

  /** The worker thread, if there is one (for tests that make it fail). */
  get pool(): WasmPool | undefined {
    return this.arena.pool;
  }

  /**
   * The op's own fast kernel for this backend (its `fast.wasm`: a Kernel, or a WasmCall made into one),
   * else (the call not covering the case: a bias added over rows) the backend's own kernel for a built-in op.
   */
  kernelFor(step: PlanStep, spec: KernelSpec<Attrs>): Kernel | undefined {
    const op = requireOp(step.node.op);
    const context: FastKernelContext = { ...this.context, inputs: step.inputs };
    // An op's fast kernel takes the context of the backend it is for (BackendKernel): this one's.
    const fast = op.fast?.wasm as ((spec: KernelSpec<Attrs>, context: FastKernelContext) => Kernel | WasmCall | undefined) | undefined;
    const declared = fast?.(spec, context);
    if (typeof declared === "function") return declared;
    const called = declared && callKernel(declared, spec, context);
    if (called) return called;
    return BUILT_IN.has(op) ? OWN_KERNELS.get(op.name)?.(spec, context) : undefined;
  }

  /**
   * Fused only where every step runs a built-in op's fast kernel, whose bits the fused kernels reproduce;
   * then, with a worker, the steps that go row by row over the batch chained into one job each (chain.ts),
   * and consecutive independent kernels (the weight gradients after a chain) grouped likewise (call-group.ts).
   */
  fuse(steps: readonly CompiledStep[], fast: ReadonlySet<string>): readonly CompiledStep[] {
    const builtInFast = new Set(this.plan.steps.filter((s) => fast.has(s.node.id) && BUILT_IN.has(requireOp(s.node.op))).map((s) => s.node.id));
    const fused = fuseSteps(this.plan, steps, builtInFast, { ...this.context, inputs: [] });
    if (rowChainsOff()) return fused;
    const chained = chainRows(this.plan, fused, builtInFast, this.arena.pool, this.recorder);
    return groupCalls(this.plan, chained, builtInFast, this.arena.pool, this.recorder);
  }

  parameterUpdates(): ParameterUpdates {
    return wasmParameterUpdates(this.arena);
  }

  get ready(): Promise<void> {
    return this.arena.pool?.ready ?? Promise.resolve();
  }

  threadStats(): ThreadStats {
    return this.arena.pool?.stats() ?? ONE_THREAD;
  }

  close(): Promise<void> {
    return this.arena.pool?.close() ?? Promise.resolve();
  }
}

/** The built-in op definitions: the backend's own kernels are for these, not for an op registered in the place of one. */
const BUILT_IN: ReadonlySet<unknown> = new Set(BUILTIN_OPS);

export const wasmBackend: BackendFactory = (plan, options) => new WasmBackend(plan, options);

/**
 * The wasm kernels' scratch space: the zero-skipping product's lists (at most 12 bytes per element of the
 * longest side) or the transposed right operand of a product A·Bᵀ (made by the main thread before a
 * product starts), followed by room for the second partial sum of a fed batch's product (`partials` bytes
 * from `partialsAt`) and the loss's two partial sums (16 bytes at `sumsAt`); or a batch's bytes (one per
 * element of the largest input), or an image kernel's room (conv.ts imageScratchBytes). The partial sums
 * lie past what the main thread's next kernels use, so the worker can still be writing its part of them
 * while the main thread goes on (a row chain: chain.ts). The worker needs the lists, its own transposed
 * operand of a product A·Bᵀ, or its part of an image kernel's room.
 */
function wasmScratchBytes(plan: Plan): { main: number; worker: number; partialsAt: number; sumsAt: number } {
  const longest = Math.max(1, ...plan.steps.flatMap((s) => s.inputs.flatMap((v) => v.shape)));
  const largestInput = Math.max(0, ...[...plan.values.values()].filter((v) => v.storage === "input").map((v) => v.elements));
  const transposed = plan.steps.filter((s) => s.node.op === "matmul" && s.node.attrs.transpose_b === true).map((s) => 4 * s.inputs[1]!.elements);
  const partials = plan.steps.filter((s) => s.node.op === "matmul" && isFedBatchProduct(s.node.attrs, s.inputs)).map((s) => 4 * s.output.elements);
  const lists = SPARSE_SCRATCH_BYTES_PER_ELEMENT * longest;
  const partialsAt = Math.ceil(Math.max(lists, ...transposed) / 64) * 64;
  const sumsAt = partialsAt + Math.ceil(Math.max(0, ...partials) / 64) * 64;
  const images = imageScratchBytes(plan.steps);
  return {
    main: Math.max(sumsAt + 16, largestInput, images.main),
    worker: Math.max(lists, images.worker, ...transposed),
    partialsAt,
    sumsAt,
  };
}
