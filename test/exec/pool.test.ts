/**
 * WasmPool's job lists (a row chain's part, a call group: chain.ts, call-group.ts) when the worker is late.
 * The main thread takes back what the worker has not begun and goes on, handing the next job over; the
 * worker, back, must not run anything of that next job but as that job. The interleavings a busy machine
 * makes now and then are forced here with the pool's hold: the worker stops at a job it has claimed, as if
 * descheduled there, until let go. Nothing is timed: each wait is for a state of the shared memory.
 */
import { describe, expect, it } from "vitest";
import { allocateWasmArena } from "../../src/exec/backends/wasm/arena.js";
import { JOB } from "../../src/exec/backends/wasm/pool.js";

/** Waits for the worker thread (another thread: it moves on its own) to bring about `reached`. */
async function until(reached: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 30_000 && !reached(); i++) await new Promise((resolve) => setTimeout(resolve, 1));
  if (!reached()) throw new Error(`the worker never ${what}`);
}

describe("a job list the main thread takes back from a worker that has claimed it", () => {
  it("is run once, by the main thread; the worker, let go, runs none of the next list's entries in its place", async () => {
    const n = 1_024;
    const arena = allocateWasmArena(4 * n, 1_024, 0, 2, 1_024, "auto");
    const pool = arena.pool!;
    await pool.ready;
    const [a, b, c, d] = [0, 1, 2, 3].map((i) => arena.planValues.subarray(i * n, (i + 1) * n)) as [Float32Array, Float32Array, Float32Array, Float32Array];
    for (let i = 0; i < n; i++) [a[i], b[i], c[i], d[i]] = [i, 1, 10 * i, 2];
    // Each list one entry adding in place — addSame(x, y, out, len), x += y — so that a run too many shows.
    const addInPlace = (x: Float32Array, y: Float32Array) => ({ job: JOB.addSame, args: Float64Array.of(x.byteOffset, y.byteOffset, x.byteOffset, n) });
    const first = pool.writeList([addInPlace(a, b)])!;
    const second = pool.writeList([addInPlace(c, d)])!;
    try {
      pool.holdWorker();
      expect(pool.startList(first)).toBe(true);
      const firstJob = pool.lastJobHandedOver;
      await until(() => pool.workerHeldAt === firstJob, "claimed the first list");
      // The worker holds the first list's claim and has begun none of its entries: the main thread runs them.
      expect(pool.finish()).toBe(false);
      expect(Array.from(a.subarray(0, 3))).toEqual([1, 2, 3]);
      // The next list handed over while the worker still holds the first: its arguments are in the slots now.
      expect(pool.startList(second)).toBe(true);
      pool.letWorkerGo(firstJob);
      await until(() => pool.lastJobDone === firstJob, "finished the first list");
      // The worker ended the first list's job without running the second list's entry in its place (it
      // stops at the second's claim now, the hold still on): c is as it was.
      expect(Array.from(c.subarray(0, 3))).toEqual([0, 10, 20]);
      pool.releaseWorker();
      pool.finish();
      // Each list ran exactly once.
      for (let i = 0; i < n; i++) {
        expect(a[i]).toBe(i + 1);
        expect(c[i]).toBe(10 * i + 2);
      }
      expect(pool.stats()).toMatchObject({ handedOver: 2, failure: undefined });
    } finally {
      pool.releaseWorker();
      await pool.close();
    }
  });
});
