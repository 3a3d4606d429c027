/**
 * Split: whether a kernel is shared between two threads, and where it cuts its work, learned from times.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Split } from "../../src/exec/backends/wasm/split.js";
import type { WasmPool } from "../../src/exec/backends/wasm/pool.js";

/** Runs `steps` shared runs where the main thread takes mainPace ms per unit and the worker workerPace. */
function settle(split: Split, units: number, mainPace: number, workerPace: number, steps: number): void {
  for (let s = 0; s < steps; s++) {
    const [main, worker] = [split.cut * mainPace, (units - split.cut) * workerPace];
    split.ranShared(Math.max(main, worker), main, worker);
  }
}

/** A shared run whose parts took these times. */
const record = (split: Split, main: number, worker: number) => split.ranShared(Math.max(main, worker), main, worker);

describe("a Split", () => {
  it("starts at half, in whole blocks; at least one block each", () => {
    expect(() => new Split(7, 4)).toThrow(/at least 2 blocks of 4/);
    expect(new Split(8, 4).cut).toBe(4);
    expect(new Split(256, 4).cut).toBe(128);
    expect(new Split(784, 2).cut).toBe(392);
    expect(new Split(37, 4).cut).toBe(16);
  });

  it("moves the cut to where both halves end together", () => {
    // The worker 10 % slower per unit (the bottom half of a digit has more ink): the main thread should
    // take 0.55 of the units for both to end together.
    const split = new Split(784, 2);
    settle(split, 784, 1, 1.1, 200);
    const h = split.cut;
    expect(Math.abs(h / 784 - 1.1 / 2.1)).toBeLessThan(0.01);
    // And it stays there.
    settle(split, 784, 1, 1.1, 50);
    expect(Math.abs(split.cut - h)).toBeLessThanOrEqual(4);
  });

  it("is moved little by one wild measurement (a preempted thread), and keeps both threads busy", () => {
    const split = new Split(256, 4);
    settle(split, 256, 1, 1, 50);
    const before = split.cut;
    record(split, before * 1, (256 - before) * 1000);
    expect(Math.abs(split.cut - before)).toBeLessThanOrEqual(4);
    // A worker that is always far slower still keeps 30 % of the work.
    settle(split, 256, 1, 1000, 500);
    expect(split.cut).toBeLessThanOrEqual(Math.ceil(0.7 * 256));
    expect(split.cut).toBeGreaterThanOrEqual(Math.floor((0.3 * 256) / 4) * 4);
  });

  it("ignores runs that tell nothing (a half not timed)", () => {
    const split = new Split(100, 1);
    record(split, 0, 5);
    record(split, 5, 0);
    record(split, Number.NaN, 5);
    expect(split.cut).toBe(50);
  });

  it("runs shared while that is faster, tries alone now and then, and runs alone once that is faster", () => {
    let now = 0;
    const split = new Split(256, 4, true, () => now);
    // A worker that is always there, and ends with the main thread's part.
    const pool = { finish: () => true, lastWorkerMs: 0 } as unknown as WasmPool;
    // Run n times, each run shared or alone as the Split says, taking these times (ms); count the shared.
    const run = (n: number, sharedMs: number, aloneMs: number) => {
      let shared = 0;
      for (let i = 0; i < n; i++) {
        const share = split.begin();
        now += share ? sharedMs : aloneMs;
        if (share) shared++;
        split.end(pool, share);
      }
      return shared;
    };
    // Sharing twice as fast: shared nearly always (alone tried rarely).
    expect(run(2000, 0.1, 0.2)).toBeGreaterThan(1990);
    // The cores drift apart: sharing now costs more than it saves. Within some runs, alone nearly always,
    expect(run(200, 0.5, 0.2)).toBeLessThan(50);
    expect(run(2000, 0.5, 0.2)).toBeLessThan(10);
    // and where sharing is only a little slower, it is tried every 16 runs (once its old time has been
    // replaced, in a few tries).
    run(3000, 0.25, 0.2);
    expect(run(2000, 0.25, 0.2)).toBe(2000 / 16);
    // Close again, sharing pays: found again and kept.
    run(3000, 0.1, 0.2);
    expect(run(2000, 0.1, 0.2)).toBeGreaterThan(1990);
    // Close to even: both tried often, the faster one most.
    const close = run(2000, 0.19, 0.2);
    expect(close).toBeGreaterThan(1800);
    expect(close).toBeLessThan(2000);
  });

  it('told to share always (a pool\'s sharing "always"), shares every run, even once alone is known to be faster', () => {
    let now = 0;
    const split = new Split(256, 4, true, () => now, true);
    const pool = { finish: () => true, lastWorkerMs: 0 } as unknown as WasmPool;
    // Runs alone measured at 0.1 ms (as the main thread's runs before the worker was up), shared at 0.5.
    for (let i = 0; i < 64; i++) {
      split.begin();
      now += 0.1;
      split.ranAlone();
    }
    for (let i = 0; i < 2000; i++) {
      expect(split.begin(), `run ${i}`).toBe(true);
      now += 0.5;
      split.end(pool, true);
    }
    expect(Split.whether(true).begin()).toBe(true);
  });

  it("counts a part the main thread took back as a shared run that cost both parts, and leaves the cut alone", () => {
    let now = 0;
    const split = new Split(256, 4, true, () => now);
    const absent = { finish: () => false, lastWorkerMs: 0 } as unknown as WasmPool;
    // The worker never comes: every shared run costs alone's time and a little more. Alone wins, and
    // sharing is still tried (every 16 runs, the two being close), so a worker that comes back is found.
    let shared = 0;
    for (let i = 0; i < 2000; i++) {
      const share = split.begin();
      now += share ? 0.21 : 0.2;
      if (share) shared++;
      split.end(absent, share);
    }
    expect(shared).toBeGreaterThan(2000 / 16 - 5);
    expect(shared).toBeLessThan(2000 / 16 + 20);
    expect(split.cut).toBe(128);
  });

  it("always cuts at a multiple of its block, within the units", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 8, max: 5000 }), // at least 2 blocks
        fc.constantFrom(1, 2, 4),
        // At least one run, so that every case checks a cut the split moved itself.
        fc.array(fc.tuple(fc.double({ min: 0, max: 10, noNaN: true }), fc.double({ min: 0, max: 10, noNaN: true })), { minLength: 1, maxLength: 100 }),
        (units, block, runs) => {
          const split = new Split(units, block);
          const expectWholeBlocks = () => {
            expect(split.cut % block).toBe(0);
            expect(split.cut).toBeGreaterThan(0);
            expect(split.cut).toBeLessThan(units);
            expect(units - split.cut).toBeGreaterThanOrEqual(block);
          };
          expectWholeBlocks();
          for (const [main, worker] of runs) {
            record(split, main, worker);
            expectWholeBlocks();
          }
        },
      ),
    );
  });
});
