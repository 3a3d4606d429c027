/**
 * Balance: where a kernel split between two threads cuts its work, learned from the halves' times.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Balance } from "../../src/exec/backends/wasm/balance.js";

/** Runs `steps` splits where the main thread takes mainPace ms per unit and the worker workerPace. */
function settle(balance: Balance, units: number, mainPace: number, workerPace: number, steps: number): void {
  for (let s = 0; s < steps; s++) {
    const h = balance.h;
    balance.record(h * mainPace, (units - h) * workerPace);
  }
}

describe("a Balance", () => {
  it("starts at half, in whole blocks; at least one block each", () => {
    expect(() => new Balance(7, 4)).toThrow(/at least 2 blocks of 4/);
    expect(new Balance(8, 4).h).toBe(4);
    expect(new Balance(256, 4).h).toBe(128);
    expect(new Balance(784, 2).h).toBe(392);
    expect(new Balance(37, 4).h).toBe(16);
  });

  it("moves the cut to where both halves end together", () => {
    // The worker 10 % slower per unit (the bottom half of a digit has more ink): the main thread should
    // take 0.55 of the units for both to end together.
    const balance = new Balance(784, 2);
    settle(balance, 784, 1, 1.1, 200);
    const h = balance.h;
    expect(Math.abs(h / 784 - 1.1 / 2.1)).toBeLessThan(0.01);
    // And it stays there.
    settle(balance, 784, 1, 1.1, 50);
    expect(Math.abs(balance.h - h)).toBeLessThanOrEqual(4);
  });

  it("is moved little by one wild measurement (a preempted thread), and keeps both threads busy", () => {
    const balance = new Balance(256, 4);
    settle(balance, 256, 1, 1, 50);
    const before = balance.h;
    balance.record(before * 1, (256 - before) * 1000);
    expect(Math.abs(balance.h - before)).toBeLessThanOrEqual(4);
    // A worker that is always far slower still keeps 30 % of the work.
    settle(balance, 256, 1, 1000, 500);
    expect(balance.h).toBeLessThanOrEqual(Math.ceil(0.7 * 256));
    expect(balance.h).toBeGreaterThanOrEqual(Math.floor((0.3 * 256) / 4) * 4);
  });

  it("ignores runs that tell nothing (a half not timed)", () => {
    const balance = new Balance(100, 1);
    balance.record(0, 5);
    balance.record(5, 0);
    balance.record(Number.NaN, 5);
    expect(balance.h).toBe(50);
  });

  it("always cuts at a multiple of its block, within the units", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 8, max: 5000 }), // at least 2 blocks
        fc.constantFrom(1, 2, 4),
        fc.array(fc.tuple(fc.double({ min: 0, max: 10, noNaN: true }), fc.double({ min: 0, max: 10, noNaN: true })), { maxLength: 100 }),
        (units, block, runs) => {
          const balance = new Balance(units, block);
          for (const [main, worker] of runs) {
            balance.record(main, worker);
            expect(balance.h % block).toBe(0);
            expect(balance.h).toBeGreaterThan(0);
            expect(balance.h).toBeLessThan(units);
            expect(units - balance.h).toBeGreaterThanOrEqual(block);
          }
        },
      ),
    );
  });
});
