/**
 * The reference kernels' numerics against float64 references, where float32 (or float64) arithmetic done
 * naively would lose digits: long sums (sum_to), and a softmax followed by a separate cross_entropy at
 * large logit gaps.
 */
import { describe, expect, it } from "vitest";
import { differentiate } from "../../src/autodiff/differentiate.js";
import { Executor, type BackendName } from "../../src/exec/executor.js";
import { compilePlan, type DType } from "../../src/exec/plan.js";
import type { Graph } from "../../src/graph/ir.js";
import { exactSum } from "../support/exact-sum.js";
import { inputNode, node } from "../support/run.js";

/** A small deterministic generator of numbers in [0, 1). */
function lcg(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => (state = (Math.imul(state, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

/** |actual − expected| / |expected|. */
const relativeError = (actual: number, expected: number) => Math.abs(actual - expected) / Math.abs(expected);

/** Plans the graph for `outputs` in `dtype` on the reference kernels, feeds the inputs, runs once. */
function runTs(
  graph: Graph,
  outputs: string[],
  feeds: Record<string, ArrayLike<number>>,
  dtype: DType,
  backend: BackendName = "ts",
): Record<string, Float64Array> {
  const executor = new Executor(compilePlan(graph, { outputs, dtype }), { backend });
  for (const [id, data] of Object.entries(feeds)) executor.view(id).set(data);
  executor.run({ training: false });
  return Object.fromEntries(outputs.map((id) => [id, Float64Array.from(executor.view(id))]));
}

describe("sum_to accumulates in float64, whatever the plan's dtype", () => {
  // Within one float32 rounding of the exact sum (2⁻²⁴ ≈ 6e-8), with room for the float64 accumulation.
  const FLOAT32_BOUND = 1e-7;

  it("sum_to(P ⊙ P, []) over 10⁶ float32 terms is within one rounding of the exact sum", () => {
    const n = 1_000_000;
    const rng = lcg(1);
    const p = Float32Array.from({ length: n }, () => rng() * 2 - 1);
    const graph: Graph = { name: "squares", nodes: [inputNode("P", [n]), node("PP", "mul", ["P", "P"]), node("s", "sum_to", ["PP"], { shape: [] })] };
    const { PP, s } = runTs(graph, ["PP", "s"], { P: p }, "float32");
    expect(relativeError(s![0]!, exactSum(PP!))).toBeLessThan(FLOAT32_BOUND);
  });

  it("a bias gradient over a batch of 65,536 rows, each column within one rounding", () => {
    const [rows, n] = [65_536, 20];
    const rng = lcg(2);
    const x = Float32Array.from({ length: rows * n }, () => rng() * 1.25 - 0.25);
    const graph: Graph = { name: "bias", nodes: [inputNode("x", [rows, n]), node("db", "sum_to", ["x"], { shape: [n] })] };
    const { db } = runTs(graph, ["db"], { x }, "float32");
    for (let j = 0; j < n; j++) {
      const exact = exactSum(Array.from({ length: rows }, (_, r) => x[r * n + j]!));
      expect(relativeError(db![j]!, exact), `column ${j}`).toBeLessThan(FLOAT32_BOUND);
    }
  });

  it("sums over an inner axis (the general broadcast case) as exactly", () => {
    const [a, b] = [4, 250_000];
    const rng = lcg(3);
    const x = Float32Array.from({ length: a * b }, () => rng() * 1.25 - 0.25);
    const graph: Graph = { name: "rows", nodes: [inputNode("x", [a, b]), node("r", "sum_to", ["x"], { shape: [a, 1] })] };
    const { r } = runTs(graph, ["r"], { x }, "float32");
    for (let i = 0; i < a; i++) expect(relativeError(r![i]!, exactSum(x.subarray(i * b, (i + 1) * b))), `row ${i}`).toBeLessThan(FLOAT32_BOUND);
  });

  it("in a float64 plan, 10⁶ terms are summed to within a rounding of the exact sum (compensated)", () => {
    const n = 1_000_000;
    const rng = lcg(4);
    const x = Float64Array.from({ length: n }, () => rng() + rng() * 1e-9);
    const graph: Graph = { name: "f64", nodes: [inputNode("x", [n]), node("s", "sum_to", ["x"], { shape: [] })] };
    const { s } = runTs(graph, ["s"], { x }, "float64");
    // Summed term by term in float64, the error grows with the count (≈ 1e-13 here).
    expect(relativeError(s![0]!, exactSum(x))).toBeLessThanOrEqual(2 ** -52);
  });
});

describe("softmax then a separate cross_entropy is exact while the probabilities are normal numbers", () => {
  // Two samples of three classes: the first labelled with a class whose logit is `gap` below the largest.
  const labels = [0, 1, 0, 1, 0, 0];
  const logitsAt = (gap: number) => [gap, 0, 1, 0.5, -0.2, 0.1];
  const [m, classes] = [2, 3];
  const graph = differentiate(
    {
      name: "separate",
      nodes: [inputNode("z", [m, classes]), inputNode("y", [m, classes]), node("p", "softmax", ["z"]), node("loss", "cross_entropy", ["p", "y"])],
      loss: "loss",
    },
    { wrt: ["z"] },
  );
  const dz = graph.gradients!.z!;

  /** The float64 reference on the logits as the plan holds them: L = (1/m) Σᵢ (lseᵢ − zᵢ,label), dL/dz = (softmax(z) − y)/m. */
  function reference(z: ArrayLike<number>): { loss: number; grad: number[] } {
    let loss = 0;
    const grad: number[] = [];
    for (let r = 0; r < m; r++) {
      const row = Array.from({ length: classes }, (_, j) => z[r * classes + j]!);
      const max = Math.max(...row);
      const sum = row.reduce((a, v) => a + Math.exp(v - max), 0);
      const lse = max + Math.log(sum);
      row.forEach((v, j) => {
        const y = labels[r * classes + j]!;
        loss += (y * (lse - v)) / m;
        grad.push((Math.exp(v - max) / sum - y) / m);
      });
    }
    return { loss, grad };
  }

  const cases: [string, DType, BackendName, number][] = [
    ["float32, reference kernels", "float32", "ts", 1e-6],
    ["float32, WebAssembly kernels", "float32", "wasm", 1e-6],
    ["float64", "float64", "ts", 1e-13],
  ];
  describe.each(cases)("%s", (_, dtype, backend, tolerance) => {
    it.each([30, 80])("at a logit gap of %i: the loss and the logits' gradient match float64", (gap) => {
      const z = dtype === "float32" ? Float32Array.from(logitsAt(gap)) : Float64Array.from(logitsAt(gap));
      const out = runTs(graph, ["loss", dz], { z, y: labels }, dtype, backend);
      const expected = reference(z);
      expect(relativeError(out.loss![0]!, expected.loss)).toBeLessThan(tolerance);
      // Every element of the gradient, the ones of e^(−80) ≈ 1.8e-35 included, to the plan's precision.
      expected.grad.forEach((g, k) => expect(relativeError(out[dz]![k]!, g), `element ${k}: ${out[dz]![k]} against ${g}`).toBeLessThan(tolerance * 10));
    });
  });

  it.each([
    ["float32", 100, 2 ** -126],
    ["float64", 720, 2 ** -1022],
  ] as const)("past the limit (%s, a gap of %i), the loss stops at −ln of the smallest normal and nothing is ∞ or NaN", (dtype, gap, smallestNormal) => {
    const z = dtype === "float32" ? Float32Array.from(logitsAt(gap)) : Float64Array.from(logitsAt(gap));
    const out = runTs(graph, ["loss", dz], { z, y: labels }, dtype);
    const expected = reference(z);
    const secondRow = expected.loss - (Math.log(Math.exp(0) + Math.exp(-gap) + Math.exp(1 - gap)) + gap) / m;
    expect(out.loss![0]).toBeCloseTo(-Math.log(smallestNormal) / m + secondRow, 4);
    for (const g of out[dz]!) expect(Number.isFinite(g)).toBe(true);
    // The true class's gradient, −(1 − p)/m ≈ −0.5 exactly computed, is between −1/m and 0 here: fading with p/ε.
    expect(out[dz]![1]).toBeGreaterThan(-1 / m - 1e-6);
    expect(out[dz]![1]).toBeLessThanOrEqual(0);
  });
});
