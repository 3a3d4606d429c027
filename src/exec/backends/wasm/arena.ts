/**
 * The arena of the WebAssembly backend: one shared WebAssembly.Memory, sized once from the plan and never
 * grown (memory.grow would detach every view), laid out as
 *
 *   [ page 0: the module's statics ][ the plan's arena ][ scratch ][ worker's scratch ][ control ][ reserved ]
 *
 * so the kernels work in place on the executor's views, a worker thread can run kernels on the same
 * memory (src/exec/backends/wasm/pool.ts), and the optimizer's moments sit beside the parameters.
 */
import { instantiateKernels, type WasmKernels } from "./module.js";
import type { Sharing } from "../../backend.js";
import { CONTROL_BYTES, WasmPool, type PoolMemory } from "./pool.js";

const PAGE_BYTES = 65536;
const ALIGN_BYTES = 64;

export interface WasmArena extends PoolMemory {
  readonly kernels: WasmKernels;
  /** The plan's values (the executor's arena), float32, starting at a page boundary. */
  readonly planValues: Float32Array;
  /** The whole memory as bytes. */
  readonly bytes: Uint8Array;
  /**
   * Byte offset of the kernels' scratch space: the nonzero lists of the zero-skipping product, a batch's
   * bytes, the transposed weight of a product A·Bᵀ, the loss's two partial sums (16 bytes, the second
   * written by the worker), and after the lists the second partial sum of a fed batch's product (written
   * by the worker when it computes it). One kernel at a time uses it.
   */
  readonly scratch: number;
  /** The worker thread's own scratch space, for its part of a zero-skipping product (0 bytes without a worker). */
  readonly workerScratch: number;
  /** A worker thread for a part of the big kernels, when more than one thread was asked for. */
  readonly pool: WasmPool | undefined;
  /** Hands out `elements` float32 values of the reserved region (zeroed, 64-byte aligned); throws when it is used up. */
  reserve(elements: number): Float32Array;
  /**
   * Where the next reservation would start: give it to `releaseFrom` to hand back everything reserved
   * since. The region is a stack: only the latest reservations can be handed back.
   */
  readonly reservedMark: number;
  /** Hands back every reservation made since `mark`, a reservedMark not past the latest reservation. */
  releaseFrom(mark: number): void;
  /** Reserved elements not yet handed out. */
  readonly reservedLeft: number;
}

const alignUp = (bytes: number) => Math.ceil(bytes / ALIGN_BYTES) * ALIGN_BYTES;

export function allocateWasmArena(
  arenaElements: number,
  scratchBytes: number,
  reservedElements: number,
  threads = 1,
  workerScratchBytes = scratchBytes,
  sharing: Sharing = "auto",
  stepClock?: () => number,
): WasmArena {
  const arenaByte = PAGE_BYTES;
  const scratch = alignUp(arenaByte + arenaElements * 4);
  const workerScratch = alignUp(scratch + scratchBytes);
  const control = alignUp(workerScratch + workerScratchBytes);
  const reservedByte = alignUp(control + CONTROL_BYTES);
  const end = reservedByte + alignUp(reservedElements * 4 + ALIGN_BYTES * 8);
  const pages = Math.ceil(end / PAGE_BYTES);
  const memory = new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true });
  const kernels = instantiateKernels(memory);
  let next = reservedByte;
  /** Where no reservation has reached yet: the memory from there on is still as WebAssembly made it, zeros. */
  let untouched = reservedByte;
  const pool = threads > 1 ? new WasmPool({ memory, control }, kernels, sharing, stepClock) : undefined;
  return {
    pool,
    memory,
    kernels,
    planValues: new Float32Array(memory.buffer, arenaByte, arenaElements),
    bytes: new Uint8Array(memory.buffer),
    scratch,
    workerScratch,
    control,
    reserve(elements: number): Float32Array {
      const bytes = alignUp(elements * 4);
      if (next + bytes > memory.buffer.byteLength) throw new Error(`the WebAssembly arena has no room left for ${elements} reserved values`);
      // Zeroed: memory handed back by releaseFrom still holds what its last user wrote. Only that part is
      // filled: writing zeros over fresh memory (a dataset's tens of megabytes) would touch every page twice.
      const view = new Float32Array(memory.buffer, next, elements);
      if (next < untouched) view.subarray(0, Math.min(elements, (untouched - next) / 4)).fill(0);
      next += bytes;
      untouched = Math.max(untouched, next);
      return view;
    },
    get reservedMark() {
      return next;
    },
    releaseFrom(mark: number): void {
      if (!(mark >= reservedByte && mark <= next)) throw new Error(`cannot hand back the reserved region from byte ${mark}: reservations end at ${next}`);
      next = mark;
    },
    get reservedLeft() {
      return Math.floor((memory.buffer.byteLength - next) / 4);
    },
  };
}
