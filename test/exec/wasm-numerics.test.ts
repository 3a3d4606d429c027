/**
 * The WebAssembly kernels' numerics against float64 references: the bias gradient's long column sums
 * (sumRows) and tanh over a dense sweep of float32 inputs.
 */
import { describe, expect, it } from "vitest";
import { Executor } from "../../src/exec/executor.js";
import { compilePlan } from "../../src/exec/plan.js";
import type { Graph } from "../../src/graph/ir.js";
import { exactSum } from "../support/exact-sum.js";
import { inputNode, node } from "../support/run.js";

/** A small deterministic generator of numbers in [0, 1). */
function lcg(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => (state = (Math.imul(state, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

/** Runs a one-op graph's "out" on the wasm backend (one thread), checking that the fast kernel ran. */
function runWasm(graph: Graph, feeds: Record<string, ArrayLike<number>>): Float32Array {
  const executor = new Executor(compilePlan(graph, { outputs: ["out"], dtype: "float32" }), { backend: "wasm" });
  expect(executor.fastNodes).toContain("out");
  for (const [id, data] of Object.entries(feeds)) executor.view(id).set(data);
  executor.run({ training: false });
  return Float32Array.from(executor.view("out") as Float32Array);
}

describe("the bias gradient's column sums (sumRows)", () => {
  it("over 131,072 rows, 16 columns in SIMD and 4 after them, each within one float32 rounding of the exact sum", () => {
    const [rows, n] = [131_072, 20];
    const rng = lcg(5);
    const x = Float32Array.from({ length: rows * n }, () => rng() * 1.25 - 0.25);
    const graph: Graph = { name: "bias", nodes: [inputNode("x", [rows, n]), node("out", "sum_to", ["x"], { shape: [n] })] };
    const sums = runWasm(graph, { x });
    for (let j = 0; j < n; j++) {
      const exact = exactSum(Array.from({ length: rows }, (_, r) => x[r * n + j]!));
      // One rounding to float32 is 2⁻²⁴ ≈ 6e-8 relative; a float32 running sum was off by ~1e-5 here.
      expect(Math.abs(sums[j]! - exact) / exact, `column ${j}`).toBeLessThan(1e-7);
    }
  });
});

/** The float32 inputs of the sweep: dense over ±12, log-spaced small magnitudes, and the special values. */
function sweep(): Float32Array {
  const points: number[] = [];
  for (let i = -120_000; i <= 120_000; i++) points.push(i / 10_000); // every 1e-4 over [−12, 12]
  for (let e = -45; e < 0; e += 0.002) points.push(10 ** e, -(10 ** e)); // 1e-45 … 1: 45,000 magnitudes a sign
  // The specials, making the count odd so that the kernel's last partial vector is exercised too.
  points.push(0, -0, Infinity, -Infinity, NaN, 3.4e38, -3.4e38, 1e-45, -1e-45, 2 ** -126, -(2 ** -126), 9.01);
  return Float32Array.from(points);
}

/** Distance in float32 steps (ulps) between two finite float32 values, ±0 being one value. */
function ulps(a: number, b: number): number {
  const bits = new Int32Array(Float32Array.of(a, b).buffer);
  const ordered = (i: number) => (bits[i]! < 0 ? -(bits[i]! & 0x7fffffff) : bits[i]!);
  return Math.abs(ordered(0) - ordered(1));
}

describe("tanh", () => {
  const x = sweep();
  const graph: Graph = { name: "tanh", nodes: [inputNode("x", [x.length]), node("out", "tanh", ["x"])] };
  const y = runWasm(graph, { x });
  /** tanh rounded once to float32 (Math.tanh is float64, within an ulp of it: rounding it to float32 almost never differs from rounding the exact value). */
  const expected = (i: number) => Math.fround(Math.tanh(x[i]!));

  it(`is within 1 float32 ulp of the correctly rounded value at each of ${x.length.toLocaleString("en-US")} points, and correctly rounded at all but a few`, () => {
    let worst = 0;
    let at = 0;
    let rounded = 0;
    for (let i = 0; i < x.length; i++) {
      if (Number.isNaN(x[i]!)) continue;
      const d = ulps(y[i]!, expected(i));
      if (d === 0) rounded++;
      if (d > worst) [worst, at] = [d, i];
    }
    expect(worst, `tanh(${x[at]}) = ${y[at]}, correctly rounded ${expected(at)}`).toBeLessThanOrEqual(1);
    expect(rounded / (x.length - 1)).toBeGreaterThanOrEqual(0.9999);
  });

  it("is never ±1 where the rounded value is not, so the gradient 1 − tanh² vanishes only where float32's does", () => {
    for (let i = 0; i < x.length; i++) {
      if (Math.abs(expected(i)) === 1) continue;
      if (Math.abs(y[i]!) === 1) expect.fail(`tanh(${x[i]}) is ${y[i]}, where the correctly rounded value is ${expected(i)}`);
    }
    // Float32 tanh reaches 1 only past ≈ 9.01; the sweep covers both sides of that.
    expect(Math.abs(expected(x.indexOf(Math.fround(9))))).toBeLessThan(1);
  });

  it("keeps the sign of zero, saturates at ±∞ and passes NaN through", () => {
    const at = (v: number) => y[x.findIndex((xi) => Object.is(xi, v))]!;
    expect(Object.is(at(0), 0)).toBe(true);
    expect(Object.is(at(-0), -0)).toBe(true);
    expect(at(Infinity)).toBe(1);
    expect(at(-Infinity)).toBe(-1);
    expect(at(NaN)).toBeNaN();
  });
});
