/**
 * SharedCall: a kernel call carried out in two parts, the main thread's and the worker's, from a layout
 * declared once — every unit done exactly once, whoever runs which part, and the same bytes on one
 * thread as shared.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { allocateWasmArena } from "../../src/exec/backends/wasm/arena.js";
import type { WasmKernels } from "../../src/exec/backends/wasm/module.js";
import { JOB, type WasmPool } from "../../src/exec/backends/wasm/pool.js";
import { SharedCall, type PartLayout, type ShareContext } from "../../src/exec/backends/wasm/share.js";
import { Split } from "../../src/exec/backends/wasm/split.js";

/** A call of the fake kernel: who ran it, and its arguments. */
interface Call {
  readonly by: "main" | "worker";
  readonly args: readonly number[];
}

const MAIN_SCRATCH = 7_000;
const WORKER_SCRATCH = 9_000;

/**
 * A context whose "relu" records its calls, and whose pool takes a part or not (`takes`), running it as
 * the worker when finished — or, when `takenBack`, on the main thread with the worker's arguments, as
 * WasmPool does when the worker did not come in time.
 */
function recording(takes: boolean, takenBack = false): { context: ShareContext; calls: Call[]; handedOver: () => number } {
  const calls: Call[] = [];
  let pending: number[] | undefined;
  let handed = 0;
  const pool = {
    alwaysShares: true,
    lastWorkerMs: 0,
    start(fn: number, ...args: number[]) {
      expect(fn).toBe(JOB.relu);
      if (!takes) return false;
      expect(pending, "one job at a time").toBeUndefined();
      pending = args;
      handed++;
      return true;
    },
    finish() {
      calls.push({ by: takenBack ? "main" : "worker", args: pending! });
      pending = undefined;
      return !takenBack;
    },
  } as unknown as WasmPool;
  const kernels = { relu: (...args: number[]) => void calls.push({ by: "main", args }) } as unknown as WasmKernels;
  return { context: { kernels, pool, workerScratch: WORKER_SCRATCH }, calls, handedOver: () => handed };
}

/** The units [first, first + count) each call covered, by its moving argument 0 (4 bytes a unit from `base`) and its count (argument 2). */
function covered(calls: readonly Call[], base: number): number[] {
  const units: number[] = [];
  for (const { args } of calls) {
    const first = (args[0]! - base) / 4;
    for (let u = first; u < first + args[2]!; u++) units.push(u);
  }
  return units.sort((a, b) => a - b);
}

const everyUnitOnce = (n: number) => Array.from({ length: n }, (_, u) => u);

/** A call's 13 argument slots (WasmPool.start's a0 … a12): these, then zeros. */
const slots = (...args: number[]) => [...args, ...new Array<number>(13 - args.length).fill(0)];

describe("a SharedCall", () => {
  // relu(x, out, len), with a made-up argument 3 for the scratch and 4 for a part's own output.
  const layout: PartLayout = { count: 2, perUnit: { 0: 4, 1: 4 }, scratch: 3 };
  const base = 1_024;

  it("covers units [0, n) exactly once at the Split's cut, whether the worker takes its part, is refused, or has it taken back", () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 600 }), fc.constantFrom("worker", "refused", "taken back"), (n, how) => {
        const { context, calls, handedOver } = recording(how !== "refused", how === "taken back");
        const split = new Split(n, 1, false, undefined, true);
        new SharedCall(context, "relu", split, layout).run(base, base + 4 * n, n, MAIN_SCRATCH, 55);
        expect(covered(calls, base)).toEqual(everyUnitOnce(n));
        // Out moves with x; the other arguments are the whole call's, the scratch the running part's.
        for (const { args } of calls) expect(args[1]! - args[0]!).toBe(4 * n);
        if (how === "refused") {
          expect(handedOver()).toBe(0);
          expect(calls).toEqual([{ by: "main", args: slots(base, base + 4 * n, n, MAIN_SCRATCH, 55) }]);
        } else {
          const [main, worker] = calls;
          expect(main).toEqual({ by: "main", args: slots(base, base + 4 * n, split.cut, MAIN_SCRATCH, 55) });
          const h = split.cut;
          expect(worker!.args).toEqual(slots(base + 4 * h, base + 4 * n + 4 * h, n - h, WORKER_SCRATCH, 55));
        }
      }),
    );
  });

  it("runs the whole call on the main thread without a Split (no worker, or a kernel below its threshold)", () => {
    const { context, calls } = recording(true);
    new SharedCall(context, "relu", undefined, layout).run(base, base + 400, 100, MAIN_SCRATCH, 55);
    expect(calls).toEqual([{ by: "main", args: slots(base, base + 400, 100, MAIN_SCRATCH, 55) }]);
  });

  it("with parts fixed by what it computes, runs both parts even alone: each at its fixed cut, the second with its own output", () => {
    const fixed: PartLayout = { ...layout, second: { 4: 66 }, cut: 40, aloneInParts: true };
    for (const [split, takes] of [
      [undefined, true],
      [Split.whether(true), false],
      [Split.whether(true), true],
    ] as const) {
      const { context, calls } = recording(takes);
      new SharedCall(context, "relu", split, fixed).run(base, base + 400, 100, MAIN_SCRATCH, 55);
      expect(covered(calls, base)).toEqual(everyUnitOnce(100));
      const second = { args: slots(base + 160, base + 560, 60, split && takes ? WORKER_SCRATCH : MAIN_SCRATCH, 66) };
      expect(calls).toEqual([
        { by: "main", args: slots(base, base + 400, 40, MAIN_SCRATCH, 55) },
        split && takes ? { by: "worker", ...second } : { by: "main", ...second },
      ]);
    }
    expect(() => new SharedCall(recording(true).context, "relu", undefined, { ...layout, aloneInParts: true })).toThrow(/need a fixed cut/);
    expect(() => new SharedCall(recording(true).context, "relu", undefined, { ...layout, count: 13 })).toThrow(/not an argument index/);
  });

  it("begun, holds the worker's part until finished (a parameter's update, the parameters after it done meanwhile)", () => {
    const { context, calls } = recording(true);
    const call = new SharedCall(context, "relu", new Split(64, 4, true, undefined, true), layout);
    call.begin(base, base + 256, 64, MAIN_SCRATCH);
    expect(calls.map((c) => c.by)).toEqual(["main"]);
    call.finish();
    call.finish(); // finishing again does nothing more
    expect(calls.map((c) => c.by)).toEqual(["main", "worker"]);
    expect(covered(calls, base)).toEqual(everyUnitOnce(64));
  });
});

describe("a SharedCall on WebAssembly memory", () => {
  /**
   * a += b over n floats (addSame in place, so that a unit done twice or never shows), on `threads`
   * threads with sharing "always"; the bytes of a, b and c (a unit done past n would write b).
   */
  const initial = (i: number) => [i / 7, 1 / (i + 1), -i / 3] as const;

  /** a, b and c after a += (b where `fromB`, else c), each value rounded to float32 once, as addSame does. */
  function expectedValues(n: number, fromB: (i: number) => boolean): Float32Array {
    const values = new Float32Array(3 * n);
    for (let i = 0; i < n; i++) {
      const [a, b, c] = initial(i).map(Math.fround) as [number, number, number];
      [values[i], values[n + i], values[2 * n + i]] = [a + (fromB(i) ? b : c), b, c];
    }
    return values;
  }

  async function addInPlace(threads: number, n: number, layout: (arena: ReturnType<typeof allocateWasmArena>) => PartLayout, split: () => Split) {
    const arena = allocateWasmArena(3 * n, 1_024, 0, threads, 1_024, "always");
    const [a, b, c] = [0, 1, 2].map((i) => arena.planValues.subarray(i * n, (i + 1) * n));
    for (let i = 0; i < n; i++) [a![i], b![i], c![i]] = initial(i);
    // addSame(a, b, out, len)
    const call = new SharedCall(arena, "addSame", threads > 1 ? split() : undefined, layout(arena));
    call.run(a!.byteOffset, b!.byteOffset, a!.byteOffset, n);
    const stats = arena.pool?.stats();
    await arena.pool?.close();
    return { bytes: new Uint8Array(arena.planValues.slice().buffer), stats };
  }

  it("gives the same bytes on one thread as shared with the worker, every unit done once", async () => {
    const n = 1_003;
    const layout = () => ({ count: 3, perUnit: { 0: 4, 1: 4, 2: 4 } });
    const split = () => new Split(n, 4, false, undefined, true);
    const one = await addInPlace(1, n, layout, split);
    const two = await addInPlace(2, n, layout, split);
    expect(two.stats).toMatchObject({ handedOver: 1, workerRan: 1, takenBack: 0 });
    expect(two.bytes).toEqual(one.bytes);
    expect(new Float32Array(one.bytes.buffer)).toEqual(expectedValues(n, () => true));
  });

  it("with fixed parts, the same bytes on one thread as shared: the second part takes its own operand", async () => {
    const n = 1_003;
    const cut = 500;
    // The second part adds c (at b + 4n) instead of b.
    const layout = (arena: ReturnType<typeof allocateWasmArena>) => ({
      count: 3,
      perUnit: { 0: 4, 1: 4, 2: 4 },
      second: { 1: arena.planValues.byteOffset + 8 * n + 4 * cut },
      cut,
      aloneInParts: true,
    });
    const one = await addInPlace(1, n, layout, () => Split.whether(true));
    const two = await addInPlace(2, n, layout, () => Split.whether(true));
    expect(two.stats).toMatchObject({ handedOver: 1, workerRan: 1, takenBack: 0 });
    expect(two.bytes).toEqual(one.bytes);
    expect(new Float32Array(one.bytes.buffer)).toEqual(expectedValues(n, (i) => i < cut));
  });
});
