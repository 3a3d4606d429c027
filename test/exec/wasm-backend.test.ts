/**
 * The WebAssembly backend against the reference: every fast kernel equal to the op's own kernel within
 * float32 tolerance, on random shapes and random sparsity; a whole training step of the report's network;
 * the optimizers' one-pass updates; and the arena living in WebAssembly memory.
 */
import fc from "fast-check";
import { describe, expect, it, vi } from "vitest";
import { Executor, compilePlan, differentiate, initializeParameters, loadGraphFile, type Graph, type GraphNode, type ThreadStats } from "../../src/index.js";
import { featureCut, OWN_KERNELS, SPLIT_ELEMENTS, SPLIT_MACS, SPLIT_SOFTMAX_ELEMENTS } from "../../src/exec/backends/wasm/kernels.js";
import { getOp } from "../../src/ops/registry.js";
import { Split } from "../../src/exec/backends/wasm/split.js";
import { createOptimizer, type OptimizerSettings } from "../../src/train/optimizers.js";
import { allocateWasmArena } from "../../src/exec/backends/wasm/arena.js";
import { JOB, type WasmPool } from "../../src/exec/backends/wasm/pool.js";
import { WasmBackend } from "../../src/exec/backends/wasm/backend.js";
import { wasmParameterUpdates } from "../../src/exec/backends/wasm/updates.js";
import { REPORT_ADAM } from "../support/optimizer-settings.js";
import { mnist } from "../support/small-mnist.js";
import type { Dataset } from "../../src/data/mnist.js";

type Fill = (rng: () => number) => number;

/** A graph of one op over fed inputs (or parameters), planned at fixed shapes. */
function oneOp(op: string, inputs: { shape: number[]; role?: "input" | "parameter" }[], attrs: Record<string, unknown> = {}): Graph {
  const nodes: GraphNode[] = inputs.map((input, i): GraphNode =>
    input.role === "parameter"
      ? { id: `in${i}`, op: "parameter", inputs: [], attrs: { shape: input.shape, init: "zeros" } }
      : { id: `in${i}`, op: "input", inputs: [], attrs: { shape: input.shape } },
  );
  nodes.push({ id: "out", op, inputs: inputs.map((_, i) => `in${i}`), attrs: attrs as GraphNode["attrs"] });
  return { name: `one-${op}`, nodes };
}

/** The ids of a graph's fed inputs (to plan them as mostly zeros). */
function fedInputs(graph: Graph): string[] {
  return graph.nodes.filter((node) => node.op === "input").map((node) => node.id);
}

/** The worker pool of an executor on the wasm backend, for tests that make its worker fail. */
function workerPool(executor: Executor): WasmPool | undefined {
  return executor.runtime instanceof WasmBackend ? executor.runtime.pool : undefined;
}

/** A small deterministic generator of numbers in [0, 1). */
function lcg(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => (state = (Math.imul(state, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

/**
 * A graph's plan for the given outputs on the wasm backend, fed the given values (those the plan has) and
 * run; on 2 threads with every big kernel shared with the worker (sharing "always"), which must have run
 * parts of them when `big` (its kernels are above the sizes at which they are shared), and none
 * otherwise. Returns the outputs.
 */
async function runWasm(graph: Graph, outputs: string[], values: Record<string, ArrayLike<number>>, threads: number, big: boolean, training = false) {
  const e = new Executor(compilePlan(graph, { outputs, dtype: "float32" }), { backend: "wasm", threads, sharing: "always" });
  for (const [id, v] of Object.entries(values)) if (e.has(id)) e.view(id).set(v);
  e.run({ training });
  const result = Object.fromEntries(outputs.map((id) => [id, Array.from(e.view(id))]));
  const what = `${graph.name} → ${outputs.join(", ")}`;
  if (threads === 2 && big) expectWorkerTookPart(e, what);
  else expect(e.threadStats().handedOver, `${what}: parts handed over`).toBe(0);
  await e.close();
  return result;
}

/** The worker ran every part handed to it (sharing "always"), and at least one. */
function expectWorkerTookPart(e: { threadStats(): ThreadStats }, what: string) {
  const stats = e.threadStats();
  expect(stats.workerRan, `${what}: parts the worker ran`).toBeGreaterThan(0);
  expect(stats, what).toMatchObject({ threads: 2, takenBack: 0, workerRan: stats.handedOver, failure: undefined });
}

/** The same graph's outputs on the TypeScript reference backend. */
function runReference(graph: Graph, outputs: string[], values: Record<string, ArrayLike<number>>, training = false) {
  const e = new Executor(compilePlan(graph, { outputs, dtype: "float32" }));
  for (const [id, v] of Object.entries(values)) if (e.has(id)) e.feed(id, v);
  e.run({ training });
  return Object.fromEntries(outputs.map((id) => [id, Array.from(e.view(id))]));
}

/** Runs the graph on both backends with the same inputs; returns both outputs and which kernel ran. */
function runBoth(graph: Graph, fills: Fill[], seed: number, zeroSkip = true) {
  const plan = compilePlan(graph, { outputs: ["out"], dtype: "float32", mostlyZeros: zeroSkip ? fedInputs(graph) : [] });
  const ts = new Executor(plan);
  const wasm = new Executor(plan, { backend: "wasm" });
  const rng = lcg(seed);
  fills.forEach((fill, i) => {
    const data = Float32Array.from({ length: ts.view(`in${i}`).length }, () => fill(rng));
    ts.view(`in${i}`).set(data);
    wasm.view(`in${i}`).set(data);
  });
  ts.run({ training: true });
  wasm.run({ training: true });
  return { ts: ts.view("out"), wasm: wasm.view("out"), fast: wasm.fastNodes.includes("out") };
}

/** |a − b| ≤ atol + rtol·|a| elementwise, reporting the first difference. */
function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, atol: number, rtol = 1e-5) {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    if (Number.isNaN(e)) {
      expect(a, `element ${i}`).toBeNaN();
      continue;
    }
    if (!(Math.abs(a - e) <= atol + rtol * Math.abs(e))) expect.fail(`element ${i}: ${a} (wasm) against ${e} (reference)`);
  }
}

const uniform: Fill = (rng) => rng() * 2 - 1;
const sparse =
  (zeros: number): Fill =>
  (rng) =>
    rng() < zeros ? 0 : rng();

describe("the wasm backend's kernels equal the reference kernels", () => {
  it("matmul, in every variant the backward graph uses, dense and zero-skipping, on random shapes and sparsity", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 37 }),
        fc.integer({ min: 1, max: 70 }),
        fc.integer({ min: 1, max: 45 }),
        fc.constantFrom("nn", "tn", "nt"),
        fc.constantFrom("input", "parameter") as fc.Arbitrary<"input" | "parameter">,
        fc.boolean(),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.integer(),
        (m, k, n, variant, leftRole, zeroSkip, zeros, seed) => {
          const ta = variant === "tn";
          const tb = variant === "nt";
          const graph = oneOp(
            "matmul",
            [
              { shape: ta ? [k, m] : [m, k], role: leftRole },
              { shape: tb ? [n, k] : [k, n], role: "parameter" },
            ],
            { transpose_a: ta, transpose_b: tb },
          );
          const { ts, wasm, fast } = runBoth(graph, [sparse(zeros), uniform], seed, zeroSkip);
          expect(fast).toBe(true);
          expectClose(wasm, ts, 1e-6 * k, 1e-5);
        },
      ),
      { numRuns: 150 },
    );
  });

  it("matmul on fixed shapes around every block size: columns 1–49, rows 1–7, both transposes, dense and zero-skipping", () => {
    for (const n of [1, 3, 4, 5, 8, 15, 16, 17, 23, 24, 25, 31, 32, 33, 47, 48, 49]) {
      for (const m of [1, 2, 3, 5, 7]) {
        for (const ta of [false, true]) {
          const k = 35;
          const graph = oneOp("matmul", [{ shape: ta ? [k, m] : [m, k] }, { shape: [k, n], role: "parameter" }], { transpose_a: ta });
          const on = runBoth(graph, [sparse(0.7), uniform], m * 100 + n, true);
          const off = runBoth(graph, [sparse(0.7), uniform], m * 100 + n, false);
          expect(on.fast && off.fast).toBe(true);
          expectClose(on.wasm, on.ts, 1e-6 * k, 1e-5);
          expect(Array.from(on.wasm), `m ${m}, n ${n}, transpose_a ${ta}`).toEqual(Array.from(off.wasm));
        }
      }
    }
  });

  it("zero-skipping finds the nonzeros after 16 zeros, and takes a −0 or a NaN in a block of 16 as the dense kernel does", () => {
    const k = 35;
    const rows = [
      Array.from({ length: k }, (_, p) => (p === 16 ? 0.75 : 0)), // 16 zeros, then a nonzero
      Array.from({ length: k }, (_, p) => (p === 3 ? -0 : p === 20 ? 0.5 : 0)), // a signed zero among zeros
      Array.from({ length: k }, (_, p) => (p === 7 ? NaN : p === 34 ? 2 : 0)), // a NaN, and the last pixel
    ];
    const graph = oneOp("matmul", [{ shape: [3, k] }, { shape: [k, 29], role: "parameter" }]);
    const results = [true, false].map((zeroSkip) => {
      const e = new Executor(compilePlan(graph, { outputs: ["out"], dtype: "float32", mostlyZeros: zeroSkip ? ["in0"] : [] }), { backend: "wasm" });
      e.view("in0").set(rows.flat());
      e.view("in1").set(Float32Array.from({ length: k * 29 }, (_, i) => Math.sin(i)));
      e.run();
      return Array.from(e.view("out"));
    });
    expect(results[0]).toEqual(results[1]);
    expect(results[0]!.slice(58).every(Number.isNaN)).toBe(true);
    expect(results[0]![0]).toBeCloseTo(0.75 * Math.sin(16 * 29), 6);
  });

  it("Xᵀ·δ takes a −0 or a NaN alone in a pair blank in every other sample as the dense kernel does", () => {
    // 32 pixels (two blocks of 8 pairs), 5 samples: pixel 3 holds −0 in sample 2, pixel 20 a NaN in
    // sample 4, pixel 31 a 1.5 in sample 0; everything else is zero. A pair is blank only if all its bits are.
    const [samples, pixels, n] = [5, 32, 11];
    const x = new Float32Array(samples * pixels);
    x[2 * pixels + 3] = -0;
    x[4 * pixels + 20] = Number.NaN;
    x[0 * pixels + 31] = 1.5;
    const graph = oneOp("matmul", [{ shape: [samples, pixels] }, { shape: [samples, n], role: "parameter" }], { transpose_a: true });
    const results = [true, false].map((zeroSkip) => {
      const e = new Executor(compilePlan(graph, { outputs: ["out"], dtype: "float32", mostlyZeros: zeroSkip ? ["in0"] : [] }), { backend: "wasm" });
      e.view("in0").set(x);
      e.view("in1").set(Float32Array.from({ length: samples * n }, (_, i) => Math.sin(i) - 0.5));
      e.run();
      return Array.from(e.view("out")).map((v) => (Object.is(v, -0) ? "-0" : v));
    });
    expect(results[0]).toEqual(results[1]);
    expect(results[0]!.slice(20 * n, 21 * n).every((v) => Number.isNaN(v))).toBe(true);
    expect(results[0]![31 * n]).toBeCloseTo(1.5 * (Math.sin(0) - 0.5), 6);
  });

  it("the zero-skipping product is the dense wasm product bit for bit", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 20 }),
        fc.integer({ min: 1, max: 90 }),
        fc.integer({ min: 1, max: 70 }),
        fc.boolean(),
        fc.integer(),
        (m, k, n, ta, seed) => {
          const graph = oneOp("matmul", [{ shape: ta ? [k, m] : [m, k] }, { shape: [k, n], role: "parameter" }], { transpose_a: ta });
          const on = runBoth(graph, [sparse(0.8), uniform], seed, true);
          const off = runBoth(graph, [sparse(0.8), uniform], seed, false);
          expect(Array.from(on.wasm)).toEqual(Array.from(off.wasm));
        },
      ),
      { numRuns: 60 },
    );
  });

  it("the zero-skipping product is the dense wasm product bit for bit where pixels are zero in every sample (an image's border)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 1, max: 70 }),
        fc.boolean(),
        fc.integer(),
        fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        (m, k, n, ta, seed, mask) => {
          // The stored input's columns are the pixels: some dead in every row (runs, as MNIST's border), some
          // signed zeros among them, the others 60 % zeros.
          const pixels = ta ? m : k;
          const dead = Array.from({ length: pixels }, (_, j) => j % 8 < 3 || ((mask >>> (j % 31)) & 1) === 1);
          const image = (): Fill => {
            let t = 0;
            return (rng) => {
              const j = t++ % pixels;
              if (dead[j]) return rng() < 0.1 ? -0 : 0;
              return rng() < 0.6 ? 0 : rng();
            };
          };
          const graph = oneOp("matmul", [{ shape: ta ? [k, m] : [m, k] }, { shape: [k, n], role: "parameter" }], { transpose_a: ta });
          const on = runBoth(graph, [image(), uniform], seed, true);
          const off = runBoth(graph, [image(), uniform], seed, false);
          expect(on.fast).toBe(true);
          expect(Array.from(on.wasm).map((v) => (Object.is(v, -0) ? "-0" : v))).toEqual(Array.from(off.wasm).map((v) => (Object.is(v, -0) ? "-0" : v)));
        },
      ),
      { numRuns: 80 },
    );
  });

  const shape2 = fc.tuple(fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 70 }));

  it.each([
    ["relu", 1e-7],
    ["tanh", 4e-7],
    ["sigmoid", 1e-7],
  ])("%s, on random shapes (near zero and far out)", (op, atol) => {
    fc.assert(
      fc.property(shape2, fc.integer(), ([r, c], seed) => {
        const { ts, wasm, fast } = runBoth(oneOp(op, [{ shape: [r, c] }]), [(rng) => (rng() - 0.5) * (rng() < 0.3 ? 0.001 : 20)], seed);
        expect(fast).toBe(true);
        expectClose(wasm, ts, atol);
      }),
      { numRuns: 40 },
    );
  });

  it.each(["relu_grad", "tanh_grad", "sigmoid_grad"])("%s", (op) => {
    fc.assert(
      fc.property(shape2, fc.integer(), ([r, c], seed) => {
        const { ts, wasm, fast } = runBoth(oneOp(op, [{ shape: [r, c] }, { shape: [r, c] }]), [uniform, uniform], seed);
        expect(fast).toBe(true);
        expectClose(wasm, ts, 1e-7);
      }),
      { numRuns: 30 },
    );
  });

  // The elementwise maths: the same float32 bits as the reference kernels (−0 and NaN included), with ±∞,
  // NaN, ±0 and ties among the values.
  const special: Fill = (rng) => {
    const r = rng();
    return r < 0.05 ? NaN : r < 0.1 ? Infinity : r < 0.15 ? -Infinity : r < 0.2 ? 0 : r < 0.25 ? -0 : r < 0.3 ? 0.5 : (rng() - 0.5) * 20;
  };
  const bits = (values: ArrayLike<number>) => Array.from(values, (v) => (Number.isNaN(v) ? "NaN" : Object.is(v, -0) ? "-0" : v));
  it.each([
    ["abs", 1, {}],
    ["sign", 1, {}],
    ["sqrt", 1, {}],
    ["leaky_relu", 1, {}],
    ["leaky_relu", 1, { alpha: 0.3 }],
    ["div", 2, {}],
    ["maximum", 2, {}],
    ["minimum", 2, {}],
    ["leaky_relu_grad", 2, { alpha: 0.2 }],
  ] as const)("%s (%i operands, %j): the reference's bits, on random shapes and special values", (op, operands, attrs) => {
    fc.assert(
      fc.property(shape2, fc.integer(), ([r, c], seed) => {
        const inputs = Array.from({ length: operands }, () => ({ shape: [r, c] }));
        const { ts, wasm, fast } = runBoth(
          oneOp(op, inputs, attrs),
          inputs.map(() => special),
          seed,
        );
        expect(fast).toBe(true);
        expect(bits(wasm)).toEqual(bits(ts));
      }),
      { numRuns: 30 },
    );
  });

  it("add: a bias over rows (either side) and equal shapes; other broadcasts fall back to the reference", () => {
    fc.assert(
      fc.property(shape2, fc.constantFrom("bias", "bias-left", "same", "column"), fc.integer(), ([r, c], kind, seed) => {
        const shapes =
          kind === "bias"
            ? [[r, c], [c]]
            : kind === "bias-left"
              ? [
                  [1, c],
                  [r, c],
                ]
              : kind === "same"
                ? [
                    [r, c],
                    [r, c],
                  ]
                : [
                    [r, c],
                    [r, 1],
                  ];
        const { ts, wasm, fast } = runBoth(
          oneOp(
            "add",
            shapes.map((shape) => ({ shape })),
          ),
          [uniform, uniform],
          seed,
        );
        expect(fast).toBe(kind !== "column" || c === 1);
        expectClose(wasm, ts, 1e-7);
      }),
      { numRuns: 40 },
    );
  });

  it("sum_to: a bias gradient (the sum over rows)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 300 }), fc.integer({ min: 1, max: 70 }), fc.integer(), (r, c, seed) => {
        const { ts, wasm, fast } = runBoth(oneOp("sum_to", [{ shape: [r, c] }], { shape: [c] }), [uniform], seed);
        expect(fast).toBe(true);
        expectClose(wasm, ts, 1e-6 * Math.sqrt(r));
      }),
      { numRuns: 30 },
    );
  });

  it("softmax, softmax_cross_entropy and its gradient, with logits near and far apart (exponentials that underflow)", () => {
    fc.assert(
      fc.property(shape2, fc.integer(), fc.constantFrom(30, 300), ([r, c], seed, spread) => {
        const logits: Fill = (rng) => (rng() - 0.5) * spread;
        const labels: Fill = (rng) => (rng() < 0.3 ? rng() : 0);
        const sm = runBoth(oneOp("softmax", [{ shape: [r, c] }]), [logits], seed);
        expectClose(sm.wasm, sm.ts, 1e-7);
        const loss = runBoth(oneOp("softmax_cross_entropy", [{ shape: [r, c] }, { shape: [r, c] }]), [logits, labels], seed);
        expectClose(loss.wasm, loss.ts, 1e-6, 1e-6);
        const grad = runBoth(oneOp("softmax_cross_entropy_grad", [{ shape: [r, c] }, { shape: [r, c] }, { shape: [] }]), [logits, labels, () => 0.7], seed);
        expectClose(grad.wasm, grad.ts, 1e-7);
        expect(sm.fast && loss.fast && grad.fast).toBe(true);
      }),
      { numRuns: 30 },
    );
  });

  it("dropout is a copy at rate 0; with a rate the reference kernel draws the masks", () => {
    const copy = runBoth(oneOp("dropout", [{ shape: [3, 7] }]), [uniform], 5);
    expect(copy.fast).toBe(true);
    expect(Array.from(copy.wasm)).toEqual(Array.from(copy.ts));
    const masked = runBoth(oneOp("dropout", [{ shape: [3, 7] }], { rate: 0.4 }), [uniform], 5);
    expect(masked.fast).toBe(false);
    expect(Array.from(masked.wasm)).toEqual(Array.from(masked.ts));
  });

  it("covers every op of the report's training step", () => {
    const graph = differentiate(loadGraphFile("graphs/mnist.graph.json"));
    const ops = new Set(graph.nodes.map((n) => n.op).filter((op) => !["input", "parameter", "constant"].includes(op)));
    // Declared by the op (its fast.wasm) or the backend's own.
    for (const op of ops) expect(getOp(op)?.fast?.wasm !== undefined || OWN_KERNELS.has(op), op).toBe(true);
  });
});

describe("the wasm backend runs the report's network as the reference does", () => {
  const graph = differentiate(loadGraphFile("graphs/mnist.graph.json"));
  const outputs = ["loss", "probs", ...Object.values(graph.gradients!)];
  const plan = compilePlan(graph, { outputs, sizes: { batch: 7 } });

  it("one training step: the loss, the probabilities and every gradient, with MNIST-like sparse inputs", () => {
    const ts = new Executor(plan);
    const wasm = new Executor(plan, { backend: "wasm" });
    expect(wasm.backend).toBe("wasm");
    expect(wasm.arena.buffer).toBeInstanceOf(SharedArrayBuffer); // WebAssembly memory, shared with a worker thread
    expect(wasm.fastNodes.length).toBe(plan.steps.filter((s) => s.node.op !== "constant").length);
    const rng = lcg(7);
    const x = Float32Array.from({ length: 7 * 784 }, () => (rng() < 0.81 ? 0 : rng()));
    const y = new Float32Array(70);
    for (let r = 0; r < 7; r++) y[r * 10 + (r % 10)] = 1;
    for (const e of [ts, wasm]) {
      initializeParameters(e, graph, 3);
      e.feed("x", x);
      e.feed("y", y);
      e.run({ training: true });
    }
    for (const id of outputs) expectClose(wasm.view(id), ts.view(id), 1e-6, 1e-4);
  });

  it.each([16, 64, 256])(
    "a training step at batch %i on two threads (the worker taking part, fusion on), as the reference computes it — blank images (pre-activations exactly 0), a NaN and an ∞ pixel",
    async (batch) => {
      // δ1 too (dL/dz1, whose rows Xᵀ·δ1 sums into dW1): which samples carry a NaN into dW1.
      const delta = "grad/z1";
      const plan = compilePlan(graph, { outputs: [...outputs, delta], sizes: { batch } });
      const ts = new Executor(plan);
      const wasm = new Executor(plan, { backend: "wasm", threads: 2, sharing: "always" });
      const rng = lcg(batch);
      const x = Float32Array.from({ length: batch * 784 }, () => (rng() < 0.81 ? 0 : rng()));
      x.fill(0, 0, 3 * 784); // three blank images: with zero biases, their first pre-activations are exactly 0
      const y = Float32Array.from({ length: batch * 10 }, (_, i) => (i % 10 === Math.floor(i / 10) % 10 ? 1 : 0));
      for (const special of [false, true]) {
        if (special) {
          x[5 * 784 + 300] = Number.NaN;
          x[7 * 784 + 400] = Number.POSITIVE_INFINITY;
        }
        for (const e of [ts, wasm]) {
          initializeParameters(e, graph, 3);
          e.feed("x", x);
          e.feed("y", y);
          e.run({ training: true });
        }
        const dW1 = graph.gradients!.W1!;
        for (const id of [...outputs, delta]) if (!special || id !== dW1) expectClose(wasm.view(id), ts.view(id), 1e-6, 1e-4);
        if (!special) expectClose(wasm.view(dW1), ts.view(dW1), 1e-6, 1e-4);
        else {
          // The one documented difference (src/ops/matmul.ts): the reference skips a zero pixel of Xᵀ·δ1,
          // where the wasm kernel may compute 0·NaN = NaN as IEEE does (the dense kernel always, the
          // zero-skipping one for the other pixel of a pair). So dW1 is NaN wherever the reference's is,
          // and NaN alone only at a pixel that is 0 in every sample whose δ1 holds a NaN: the ∞ sample's
          // (the NaN sample's pre-activations are NaN, where relu′ is 0, so its δ1 is 0).
          const [a, e] = [wasm.view(dW1), ts.view(dW1)];
          const d1 = ts.view(delta);
          const nanSamples = Array.from({ length: batch }, (_, i) => i).filter((i) => d1.subarray(i * 128, (i + 1) * 128).some(Number.isNaN));
          expect(nanSamples).toEqual([7]);
          for (let k = 0; k < e.length; k++) {
            const pixel = Math.floor(k / 128);
            if (Number.isNaN(e[k]!) || (Number.isNaN(a[k]!) && nanSamples.every((i) => x[i * 784 + pixel] === 0))) {
              if (!Number.isNaN(a[k]!)) expect.fail(`grad/W1 element ${k}: ${a[k]} (wasm) against NaN (reference)`);
            } else if (!(Math.abs(a[k]! - e[k]!) <= 1e-6 + 1e-4 * Math.abs(e[k]!)))
              expect.fail(`grad/W1 element ${k}: ${a[k]} (wasm) against ${e[k]} (reference)`);
          }
        }
      }
      expect(ts.view(graph.gradients!.W1!).some(Number.isNaN)).toBe(true); // the NaN reached the gradients
      expect(wasm.fastNodes.length).toBeGreaterThan(0);
      expectWorkerTookPart(wasm, `batch ${batch}`);
      await wasm.close();
    },
  );

  it("with a worker thread taking part of every big kernel, bit for bit what one thread computes", async () => {
    // At batch 256 every kernel that can be split is: products, bias, activations, softmax, loss, bias gradients.
    const big = compilePlan(graph, { outputs, sizes: { batch: 256 } });
    const one = new Executor(big, { backend: "wasm" });
    const two = new Executor(big, { backend: "wasm", threads: 2, sharing: "always" });
    const rng = lcg(9);
    const x = Float32Array.from({ length: 256 * 784 }, () => (rng() < 0.81 ? 0 : rng()));
    const y = Float32Array.from({ length: 2560 }, (_, i) => (i % 11 === 0 ? 1 : 0));
    for (const e of [one, two]) {
      initializeParameters(e, graph, 5);
      e.feed("x", x);
      e.feed("y", y);
    }
    one.run({ training: true });
    // The kernels' Splits learn from the runs' and both parts' times: with every part run by the worker,
    // all are known (finite, positive).
    const record = vi.spyOn(Split.prototype, "ranShared");
    for (let again = 0; again < 8; again++) {
      two.run({ training: true });
      for (const id of outputs) expect(Array.from(two.view(id)), `${id}, run ${again}`).toEqual(Array.from(one.view(id)));
    }
    expectWorkerTookPart(two, "a training step at batch 256");
    // Each of the 8 runs shared every kernel that is split at this size — the three products of the
    // forward pass, their backward products, the activations, the loss, the gradients — in 7 jobs: row
    // chains and groups of independent kernels (chain.ts, call-group.ts), cut where the planner lets a
    // value reuse the memory of one before it.
    expect(two.threadStats().handedOver).toBe(8 * 7);
    expect(record).toHaveBeenCalled();
    for (const times of record.mock.calls) expect(times.every((ms) => Number.isFinite(ms) && ms > 0)).toBe(true);
    record.mockRestore();
    await two.close();
  });

  it("with a worker thread, bit for bit one thread on awkward shapes: odd rows, columns off every block size", async () => {
    const cases: { graph: Graph; fills: Fill[] }[] = [];
    // Each case is big enough to be shared (SPLIT_MACS multiply-adds, SPLIT_ELEMENTS or
    // SPLIT_SOFTMAX_ELEMENTS values): the worker must take part in every one.
    for (const [m, k, n] of [
      [37, 145, 23],
      [39, 130, 45],
      [9, 1001, 17],
      [131, 37, 23],
    ] as const) {
      // Xᵀ·δ (pairs of rows of C, an odd one left), X·W (rows, or a fed batch's two partial sums), A·Bᵀ (transposed weight).
      cases.push({ graph: oneOp("matmul", [{ shape: [k, m] }, { shape: [k, n], role: "parameter" }], { transpose_a: true }), fills: [sparse(0.8), uniform] });
      cases.push({ graph: oneOp("matmul", [{ shape: [m, k] }, { shape: [k, n], role: "parameter" }]), fills: [sparse(0.8), uniform] });
      cases.push({
        graph: oneOp(
          "matmul",
          [
            { shape: [m, k], role: "parameter" },
            { shape: [n, k], role: "parameter" },
          ],
          { transpose_b: true },
        ),
        fills: [uniform, uniform],
      });
    }
    // A batch times weights with rows of many features (the nonzero gather's blocks of 16 and of 4, and
    // the values left after them), sparse and dense; its weight gradient (blocks of 8 pairs, the last cut).
    for (const [m, k, n] of [
      [37, 333, 13],
      [131, 70, 23],
      [5, 1001, 31],
    ] as const) {
      cases.push({ graph: oneOp("matmul", [{ shape: [m, k] }, { shape: [k, n], role: "parameter" }]), fills: [sparse(0.8), uniform] });
      cases.push({ graph: oneOp("matmul", [{ shape: [m, k] }, { shape: [k, n], role: "parameter" }]), fills: [uniform, uniform] });
      cases.push({ graph: oneOp("matmul", [{ shape: [m, k] }, { shape: [m, n], role: "parameter" }], { transpose_a: true }), fills: [sparse(0.9), uniform] });
    }
    const logits: Fill = (rng) => (rng() - 0.5) * 20;
    for (const [rows, n] of [
      [1001, 7],
      [8, 263],
      [9, 257],
      [12, 181],
      [259, 11],
    ] as const) {
      cases.push({ graph: oneOp("softmax", [{ shape: [rows, n] }]), fills: [logits] });
      cases.push({ graph: oneOp("softmax_cross_entropy", [{ shape: [rows, n] }, { shape: [rows, n] }]), fills: [logits, sparse(0.7)] });
      cases.push({
        graph: oneOp("softmax_cross_entropy_grad", [{ shape: [rows, n] }, { shape: [rows, n] }, { shape: [] }]),
        fills: [logits, sparse(0.7), () => 0.5],
      });
    }
    cases.push({ graph: oneOp("sum_to", [{ shape: [513, 47] }], { shape: [47] }), fills: [uniform] });
    cases.push({ graph: oneOp("relu", [{ shape: [16_387] }]), fills: [uniform] });
    cases.push({ graph: oneOp("tanh", [{ shape: [16_387] }]), fills: [uniform] });
    cases.push({ graph: oneOp("tanh_grad", [{ shape: [16_387] }, { shape: [16_387] }]), fills: [uniform, uniform] });
    cases.push({ graph: oneOp("sigmoid", [{ shape: [16_387] }]), fills: [uniform] });
    cases.push({ graph: oneOp("add", [{ shape: [1001, 17] }, { shape: [17], role: "parameter" }]), fills: [uniform, uniform] });
    // The workers of all cases come up together (a worker's start-up takes longer than a case).
    const plans = cases.map(({ graph }) => compilePlan(graph, { outputs: ["out"], dtype: "float32" }));
    const twos = plans.map((plan) => new Executor(plan, { backend: "wasm", threads: 2, sharing: "always" }));
    await Promise.all(twos.map((two) => two.ready));
    for (const [index, { graph, fills }] of cases.entries()) {
      const [plan, two] = [plans[index]!, twos[index]!];
      const one = new Executor(plan, { backend: "wasm" });
      for (const e of [one, two]) {
        const rng = lcg(17 + index);
        fills.forEach((fill, i) => e.view(`in${i}`).set(Float32Array.from({ length: e.view(`in${i}`).length }, () => fill(rng))));
        e.run({ training: true });
      }
      const what = `${graph.nodes.at(-1)!.op} ${JSON.stringify(plan.values.get("in0")!.shape)}`;
      expect(Array.from(two.view("out")), what).toEqual(Array.from(one.view("out")));
      expectWorkerTookPart(two, what);
      await two.close();
    }
  });

  it("a fed batch's product is the float32 sum of its two partial products, over features [0, h) and [h, k)", async () => {
    // The structure fedBatchProduct promises, whatever the number of threads and the kernel: the full
    // product equals, bit for bit, P₀ + P₁ where P₀ is the product with features [h, k) zeroed and P₁
    // the product with [0, h) zeroed (each part's sums only ever see its own features).
    // 67 rows: shared by features; 131 (above FEATURE_SPLIT_MAX_ROWS): shared by rows.
    for (const [m, k, n] of [
      [67, 301, 29],
      [131, 301, 29],
    ] as const) {
      const h = featureCut(k);
      const graph = oneOp("matmul", [{ shape: [m, k] }, { shape: [k, n], role: "parameter" }]);
      const rng = lcg(41);
      const x = Float32Array.from({ length: m * k }, () => (rng() < 0.75 ? 0 : rng()));
      const w = Float32Array.from({ length: k * n }, () => rng() - 0.5);
      const firstPart = x.map((v, i) => (i % k < h ? v : 0));
      const secondPart = x.map((v, i) => (i % k < h ? 0 : v));
      for (const zeroSkip of [true, false]) {
        const fulls: number[][] = [];
        for (const threads of [1, 2]) {
          const run = async (input: Float32Array) => {
            const e = new Executor(compilePlan(graph, { outputs: ["out"], dtype: "float32", mostlyZeros: zeroSkip ? ["in0"] : [] }), {
              backend: "wasm",
              threads,
              sharing: "always",
            });
            e.view("in0").set(input);
            e.view("in1").set(w);
            e.run();
            if (threads === 2) expectWorkerTookPart(e, `${m} rows, zero-skip ${zeroSkip}`);
            const out = Float32Array.from(e.view("out"));
            await e.close();
            return out;
          };
          const [full, p0, p1] = [await run(x), await run(firstPart), await run(secondPart)];
          const what = `${m} rows, zero-skip ${zeroSkip}, ${threads} threads`;
          expect(Array.from(full), what).toEqual(Array.from(p0.map((v, i) => Math.fround(v + p1[i]!))));
          fulls.push(Array.from(full));
        }
        expect(fulls[1], `${m} rows, zero-skip ${zeroSkip}: 2 threads as 1`).toEqual(fulls[0]);
      }
    }
  });

  it("a float64 plan runs on the reference backend whatever is asked", () => {
    const plan64 = compilePlan(graph, { outputs: ["loss"], sizes: { batch: 2 }, dtype: "float64" });
    const e = new Executor(plan64, { backend: "wasm" });
    expect(e.backend).toBe("ts");
    expect(e.arena).toBeInstanceOf(Float64Array);
  });
});

describe("optimizers update in one WebAssembly pass, as the plain loops do", () => {
  const base: OptimizerSettings = REPORT_ADAM;
  it.each<Partial<OptimizerSettings>>([
    { optimizer: "adam" },
    { optimizer: "adam", bias_correction: true, weight_decay: 0.01 },
    { optimizer: "rmsprop" },
    { optimizer: "sgd" },
    { optimizer: "sgd", momentum: 0.9, weight_decay: 0.1 },
  ])("%o", (settings) => {
    const sizes = [37, 5, 128];
    const arena = allocateWasmArena(2 * 200, 0, 2 * 200);
    let offset = 0;
    const view = (n: number) => {
      const v = arena.planValues.subarray(offset, offset + n);
      offset += Math.ceil(n / 16) * 16;
      return v;
    };
    const params = sizes.map(view);
    const grads = sizes.map(view);
    const plainParams = sizes.map((n) => new Float32Array(n));
    const next = lcg(11);
    const rng = () => next() - 0.5;
    params.forEach((p, i) => {
      p.set(Float32Array.from(p, rng));
      plainParams[i]!.set(p);
    });
    const fast = createOptimizer({ ...base, ...settings }, sizes, wasmParameterUpdates(arena));
    const plain = createOptimizer({ ...base, ...settings }, sizes);
    for (let step = 0; step < 5; step++) {
      grads.forEach((g) => g.set(Float32Array.from(g, rng)));
      fast.step(params, grads, 0.01);
      plain.step(plainParams, grads, 0.01);
    }
    params.forEach((p, i) => expectClose(p, plainParams[i]!, 1e-6, 1e-5));
    for (const [name, slots] of Object.entries(plain.state())) {
      slots.forEach((s, i) => expectClose(fast.state()[name]![i]!, s, 1e-7, 1e-5));
      expect(fast.state()[name]![0]!.buffer).toBe(arena.memory.buffer);
    }
  });
});

describe("a kernel split between two threads at any cut", () => {
  // A Split moves the cut from step to step: every cut (a multiple of the kernel's block) must give the
  // one-call result bit for bit. Checked on one thread, calling the kernel for [0, h) and then [h, end).
  it("products by rows (dense, zero-skipping, a fed batch's two partial sums), Xᵀ·δ by pairs of pixels, and Adam", () => {
    const [m, k, n] = [37, 45, 19];
    const { kernels, planValues: f32, scratch } = allocateWasmArena(m * k + k * n + 2 * m * n + 4 * 103 + 64, 12 * 64, 0);
    const rng = lcg(77);
    const byte = (element: number) => f32.byteOffset + 4 * element;
    // A: m × k, 70 % zeros; B: k × n (Aᵀ·B reads its first m rows); C: the product.
    const [A, B, C] = [0, m * k, m * k + k * n];
    const P = C + m * n + 4 * 103; // a partials room, after Adam's arrays
    f32.set(
      Float32Array.from({ length: m * k }, () => (rng() < 0.7 ? 0 : rng() - 0.5)),
      A,
    );
    f32.set(
      Float32Array.from({ length: k * n }, () => rng() - 0.5),
      B,
    );
    const products: { block: number; rows: number; part: (i0: number, i1: number) => void }[] = [
      { block: 4, rows: m, part: (i0, i1) => kernels.matmul(byte(A + i0 * k), byte(B), byte(C + i0 * n), i1 - i0, k, n, k, 1, 0, 0) },
      { block: 1, rows: m, part: (i0, i1) => kernels.matmulSparseA(byte(A + i0 * k), byte(B), byte(C + i0 * n), i1 - i0, k, n, k, 1, scratch, 0, 0) },
      { block: 2, rows: k, part: (i0, i1) => kernels.matmulSparseA(byte(A + i0), byte(B), byte(C + i0 * n), i1 - i0, m, n, 1, k, scratch, 0, 0) },
      // Rows shared one by one: the dense product's tail rows, and a fed batch's two partial sums.
      { block: 1, rows: m, part: (i0, i1) => kernels.matmul(byte(A + i0 * k), byte(B), byte(C + i0 * n), i1 - i0, k, n, k, 1, 0, 0) },
      ...[0, 1].map((sparse) => ({
        block: 1,
        rows: m,
        part: (i0: number, i1: number) =>
          kernels.matmulTwoParts(byte(A + i0 * k), byte(B), byte(C + i0 * n), byte(P + i0 * n), i1 - i0, k, n, 16, scratch, sparse, 0, 0),
      })),
    ];
    for (const { block, rows, part } of products) {
      const result = () => Array.from(f32.subarray(C, C + rows * n));
      part(0, rows);
      const whole = result();
      for (let h = block; h < rows; h += block) {
        f32.fill(Number.NaN, C, C + rows * n);
        part(0, h);
        part(h, rows);
        expect(result(), `block ${block}, cut ${h}`).toEqual(whole);
      }
    }
    // Adam over 103 values (w, g, m, v side by side), cut at every multiple of 4.
    const L = 103;
    const w = C + m * n;
    const [g, mo, v] = [w + L, w + 2 * L, w + 3 * L];
    const start = Float32Array.from({ length: 4 * L }, (_, i) => (i >= 3 * L ? rng() : rng() - 0.5));
    const adam = (from: number, count: number) =>
      kernels.adam(byte(w + from), byte(g + from), byte(mo + from), byte(v + from), count, 0.9, 0.1, 0.999, 0.001, 1e-8, 0.01, 1, 1);
    const state = () => Array.from(f32.subarray(w, w + 4 * L));
    f32.set(start, w);
    adam(0, L);
    const whole = state();
    for (let h = 4; h < L; h += 4) {
      f32.set(start, w);
      adam(0, h);
      adam(h, L - h);
      expect(state(), `Adam cut at ${h}`).toEqual(whole);
    }
  });
});

describe("Adam with a worker thread", () => {
  it("updates big parameters in two parts, one on each thread, bit for bit as one thread does", async () => {
    // Two big parameters with small ones after each: the second big one waits for the worker's part of
    // the first, and the main thread's part includes the small ones (its cut is learned from that).
    const sizes = [40_003, 5_000, 40_003, 10];
    const offsets = sizes.map((_, i) => sizes.slice(0, i).reduce((sum, n) => sum + n + 13, 0));
    const total = offsets.at(-1)! + sizes.at(-1)! + 13;
    const settings: OptimizerSettings = { ...REPORT_ADAM, bias_correction: true, weight_decay: 0.01 };
    /** `steps` steps; on 2 threads, each big parameter's update shared with the worker (sharing "always"). */
    const train = async (threads: number, steps: number) => {
      const arena = allocateWasmArena(2 * total, 0, 2 * total, threads, 0, "always");
      const ws = sizes.map((n, i) => arena.planValues.subarray(offsets[i]!, offsets[i]! + n));
      const gs = sizes.map((n, i) => arena.planValues.subarray(total + offsets[i]!, total + offsets[i]! + n));
      const next = lcg(3);
      const rng = () => next() - 0.5;
      for (const w of ws) w.set(Float32Array.from(w, rng));
      const opt = createOptimizer(settings, sizes, wasmParameterUpdates(arena));
      while (opt.steps < steps) {
        for (const g of gs) g.set(Float32Array.from(g, rng));
        opt.step(ws, gs, 0.01);
      }
      const result = { stats: arena.pool?.stats(), w: ws.map((w) => Array.from(w)) };
      await arena.pool?.close();
      return result;
    };
    const two = await train(2, 4);
    // Each step shares both big parameters' updates, and the worker ran every part.
    expect(two.stats).toEqual({ threads: 2, workerUp: true, handedOver: 8, workerRan: 8, takenBack: 0, failure: undefined });
    const one = await train(1, 4);
    // One thread: no worker pool at all, so the comparison below is against the main thread alone.
    expect(one.stats).toBeUndefined();
    expect(two.w).toEqual(one.w);
  });
});

describe("training on the wasm backend", () => {
  it("reaches the reference backend's accuracy (a few hundred Adam steps on real digits)", async () => {
    const { Model } = await import("../../src/index.js");
    const data = mnist();
    const graph = loadGraphFile("graphs/mnist.graph.json");
    const settings: OptimizerSettings = REPORT_ADAM;
    const train = Uint32Array.from({ length: 3000 }, (_, i) => i);
    const test = Uint32Array.from({ length: 1000 }, (_, i) => 50_000 + i);
    const results = (["ts", "wasm"] as const).map((backend) => {
      const model = new Model(graph, { batchSize: 30, seed: 4, backend });
      const optimizer = createOptimizer(settings, model.parameterSizes(), model.parameterUpdates());
      let last = 0;
      for (let epoch = 0; epoch < 2; epoch++) {
        for (let start = 0; start < train.length; start += 30) {
          last = model.step(data, train, start, 30, optimizer.steps).loss;
          optimizer.step(model.parameters, model.gradients, 0.001);
        }
      }
      // The parameters, and so the optimizer's state beside them, live in WebAssembly's shared memory on wasm only.
      expect(model.parameters[0]!.buffer instanceof SharedArrayBuffer).toBe(backend === "wasm");
      return { last, ...model.evaluate(data, test) };
    });
    const [ts, wasm] = results as [(typeof results)[0], (typeof results)[0]];
    expect(ts.accuracy).toBeGreaterThan(0.85);
    expect(Math.abs(wasm.accuracy - ts.accuracy)).toBeLessThan(0.01);
    expect(Math.abs(wasm.loss - ts.loss)).toBeLessThan(0.02);
    expect(Math.abs(wasm.last - ts.last)).toBeLessThan(0.05);
  });
});

describe("filling a batch in WebAssembly memory", () => {
  it("gives the reference fill's values bit for bit", async () => {
    const { fillBatch } = await import("../../src/data/batch.js");
    const { fillBatchInPlace } = await import("../../src/exec/backends/wasm/batch.js");
    const data = mnist();
    const order = Uint32Array.from([5, 70_000 - 1, 0, 12_345, 3]);
    const arena = allocateWasmArena(5 * 784 + 5 * 10, 5 * 784, 0);
    const x = arena.planValues.subarray(0, 4 * 784);
    const y = arena.planValues.subarray(5 * 784, 5 * 784 + 40);
    const xr = new Float32Array(4 * 784);
    const yr = new Float32Array(40);
    fillBatchInPlace(arena, data, order, 1, 4, x, y, 10);
    fillBatch(data, order, 1, 4, xr, yr, 10);
    expect(Array.from(x)).toEqual(Array.from(xr));
    expect(Array.from(y)).toEqual(Array.from(yr));
  });

  /** A resident dataset in a fresh arena filling order[start … start+rows) as fillBatch does, bit for bit. */
  async function residentLikeReference(data: Dataset, order: ArrayLike<number>, start: number, rows: number, threads: number) {
    const { fillBatch } = await import("../../src/data/batch.js");
    const { ResidentDataset } = await import("../../src/exec/backends/wasm/batch.js");
    const [f, k] = [data.features, data.classes];
    // Two threads: the batch is cut in two parts, the worker's run by the worker (sharing "always") when
    // the batch is big enough to split.
    const arena = allocateWasmArena(rows * (f + k), 0, ResidentDataset.reservedElements(data, rows), threads, 0, "always");
    const resident = new ResidentDataset(arena, data, rows);
    const x = arena.planValues.subarray(0, rows * f);
    const y = arena.planValues.subarray(rows * f, rows * (f + k));
    const xr = new Float32Array(rows * f);
    const yr = new Float32Array(rows * k);
    resident.fill(order, start, rows, x, y, k);
    if (threads === 2 && rows * f >= SPLIT_ELEMENTS) expectWorkerTookPart({ threadStats: () => arena.pool!.stats() }, `${rows} rows of ${f} features`);
    fillBatch(data, order, start, rows, xr, yr, k);
    expect(Array.from(x)).toEqual(Array.from(xr));
    expect(Array.from(y)).toEqual(Array.from(yr));
    return { arena, resident, x, y, xr, fillBatch };
  }

  it("a dataset resident in WebAssembly memory gives the reference fill's values bit for bit, on one thread and two", async () => {
    const data = mnist();
    const rows = 70;
    // Samples from all over the dataset, the last one included, and one twice.
    const order = Uint32Array.from({ length: rows + 3 }, (_, i) => (i === 5 ? 70_000 - 1 : i === 9 ? 17 : (i * 48_271) % 70_000));
    for (const threads of [1, 2]) {
      const { arena, resident, x, y, xr, fillBatch } = await residentLikeReference(data, order, 3, rows, threads);
      // Without labels (evaluation), a shorter batch.
      x.fill(7);
      resident.fill(order, 0, 33, x, null, 10);
      fillBatch(data, order, 0, 33, xr, null, 10);
      expect(Array.from(x.subarray(0, 33 * 784))).toEqual(Array.from(xr.subarray(0, 33 * 784)));
      expect(() => resident.fill(order, 0, rows + 1, x, y, 10)).toThrow(/at most 70 rows/);
      // What the kernel would read or write out of place is refused before it runs.
      expect(() => resident.fill([0, 70_000], 0, 2, x, y, 10)).toThrow(/sample index 70000 \(row 1 of the batch\) is outside the dataset's 70000 samples/);
      expect(() => resident.fill(order, 0, 2, x.subarray(0, 784), y, 10)).toThrow(/x holds 784 values, not the 2 × 784/);
      expect(() => resident.fill(order, 0, 2, x, y, 9)).toThrow(/cannot take 2 one-hot labels of 10 classes/);
      // A worker pool exactly when there are two threads, up until it is closed.
      expect(arena.pool === undefined, `${threads} thread(s)`).toBe(threads === 1);
      if (arena.pool) {
        expect(arena.pool.stats()).toMatchObject({ threads: 2, workerUp: true, failure: undefined });
        await arena.pool.close();
        expect(arena.pool.stats().workerUp).toBe(false);
      }
    }
  });

  it("a resident dataset fills a batch of more than 128 rows by rows on two threads, bit for bit", async () => {
    const data = mnist();
    const rows = 200;
    const order = Uint32Array.from({ length: rows }, (_, i) => (i * 7_919) % 70_000);
    const { arena } = await residentLikeReference(data, order, 0, rows, 2);
    await arena.pool!.close();
  });

  it("a resident dataset of 259-byte samples (no whole 16-byte blocks, cache lines cut mid-sample), on two threads", async () => {
    const count = 300;
    const images = Uint8Array.from({ length: count * 259 }, (_, i) => ((i * 2_654_435_761) >>> 24) & (i % 3 === 0 ? 0 : 255));
    const labels = Uint8Array.from({ length: count }, (_, i) => i % 3);
    const data = { images, labels, count, features: 259, side: 0, classes: 3, officialTrainCount: count } as unknown as Dataset;
    // 70 rows: enough values (70 × 259) for the two threads to fill a part of the features each.
    const { arena } = await residentLikeReference(
      data,
      Uint32Array.from({ length: 70 }, (_, i) => (i * 113) % count),
      0,
      70,
      2,
    );
    await arena.pool!.close();
  });

  it("scales every byte value exactly as the reference does", async () => {
    const { fillBatch } = await import("../../src/data/batch.js");
    const { fillBatchInPlace } = await import("../../src/exec/backends/wasm/batch.js");
    const images = Uint8Array.from({ length: 2 * 259 }, (_, i) => i % 256);
    const data = { images, labels: Uint8Array.from([0, 1]), count: 2, features: 259, classes: 2 };
    const arena = allocateWasmArena(2 * 259, 2 * 259, 0);
    const xr = new Float32Array(2 * 259);
    fillBatchInPlace(arena, data, [1, 0], 0, 2, arena.planValues, null, 2);
    fillBatch(data, [1, 0], 0, 2, xr, null, 2);
    expect(Array.from(arena.planValues)).toEqual(Array.from(xr));
  });
});

describe("a NaN is not flushed away", () => {
  it("Adam keeps a NaN gradient's NaN in the weight, as the reference does", () => {
    const arena = allocateWasmArena(64, 0, 64);
    const w = arena.planValues.subarray(0, 6);
    const g = arena.planValues.subarray(16, 22);
    w.set([1, 2, 3, 4, 5, 6]);
    g.set([NaN, 1e-30, 0, 0.5, NaN, 1]);
    const settings: OptimizerSettings = REPORT_ADAM;
    createOptimizer(settings, [6], wasmParameterUpdates(arena)).step([w], [g], 0.01);
    expect(Number.isNaN(w[0]!) && Number.isNaN(w[4]!)).toBe(true);
    expect(w[2]).toBe(3);
  });
});

describe("graphnet train --backend", () => {
  it("trains on either backend (and one thread) to the same accuracy", async () => {
    const { spawnSync } = await import("node:child_process");
    const { mkdtempSync, readFileSync } = await import("node:fs");
    const { tmpdir } = await import("node:os");
    const { join } = await import("node:path");
    const { writeSmallMnist } = await import("../support/small-mnist.js");
    const data = writeSmallMnist(500, 100);
    const accuracy = (...flags: string[]) => {
      const out = join(mkdtempSync(join(tmpdir(), "graphnet-backend-")), "run");
      const r = spawnSync(
        process.execPath,
        ["dist/cli/main.js", "train", "graphs/mnist.graph.json", "--data", data, "--epochs", "2", "--out", out, "--quiet", ...flags],
        {
          encoding: "utf8",
        },
      );
      expect(r.status, r.stderr).toBe(0);
      expect(r.stderr).toBe("");
      return JSON.parse(readFileSync(join(out, "result.json"), "utf8")).test_accuracy as number;
    };
    const ts = accuracy("--backend", "ts");
    const wasm = accuracy("--backend", "wasm", "--threads", "1");
    expect(Math.abs(ts - wasm)).toBeLessThanOrEqual(0.03);
  });
});

describe("a second optimizer over the same wasm model", () => {
  it("keeps its state in plain arrays, and updates as the first does", async () => {
    const { Model } = await import("../../src/index.js");
    const model = new Model(loadGraphFile("graphs/mnist.graph.json"), { batchSize: 4, seed: 1, backend: "wasm", threads: 1 });
    const settings: OptimizerSettings = REPORT_ADAM;
    const first = createOptimizer(settings, model.parameterSizes(), model.parameterUpdates());
    const second = createOptimizer(settings, model.parameterSizes(), model.parameterUpdates());
    // The parameters live in the training arena's memory: the first optimizer's state beside them.
    expect(first.state().m![0]!.buffer).toBe(model.parameters[0]!.buffer);
    expect(second.state().m![0]!.buffer).not.toBe(model.parameters[0]!.buffer);
    model.gradients.forEach((g, i) => g.fill(0.01 * (i + 1)));
    const before = model.snapshot();
    second.step(model.parameters, model.gradients, 0.001);
    model.restore(before, "the snapshot");
    first.step(model.parameters, model.gradients, 0.001);
    expectClose(first.state().v![0]!, second.state().v![0]!, 1e-12, 1e-6);
  });

  it("made after the first was released, takes its memory back, zeroed, and updates bit for bit as the first did", async () => {
    const { Model } = await import("../../src/index.js");
    const model = new Model(loadGraphFile("graphs/mnist.graph.json"), { batchSize: 4, seed: 1, backend: "wasm", threads: 1 });
    model.gradients.forEach((g, i) => g.fill(0.01 * (i + 1)));
    const before = model.snapshot();
    const first = createOptimizer(REPORT_ADAM, model.parameterSizes(), model.parameterUpdates());
    first.step(model.parameters, model.gradients, 0.001);
    const firstStep = model.parameters.map((p) => Array.from(p));
    const firstM = first.state().m![0]!;
    first.release();
    expect(() => first.step(model.parameters, model.gradients, 0.001)).toThrow("was released");
    model.restore(before, "the snapshot");
    const second = createOptimizer(REPORT_ADAM, model.parameterSizes(), model.parameterUpdates());
    const secondM = second.state().m![0]!;
    expect([secondM.buffer, secondM.byteOffset]).toEqual([firstM.buffer, firstM.byteOffset]);
    expect(secondM.every((v) => v === 0)).toBe(true);
    second.step(model.parameters, model.gradients, 0.001);
    expect(model.parameters.map((p) => Array.from(p))).toEqual(firstStep);
  });
});

describe("training steps on a resident dataset with a worker thread", () => {
  it("give bit for bit the losses and weights of one thread filling every batch from JavaScript", async () => {
    const { Model } = await import("../../src/index.js");
    const data = mnist();
    const graph = loadGraphFile("graphs/mnist.graph.json");
    const order = Uint32Array.from({ length: 3000 }, (_, i) => (i * 7_919) % 70_000);
    const other = Uint32Array.from(order).reverse();
    // Batches in order, a jump, another order, the first again.
    const schedule: [Uint32Array, number][] = [
      [order, 0],
      [order, 256],
      [order, 512],
      [order, 2048],
      [other, 0],
      [order, 768],
    ];
    const run = async (threads: number, resident: boolean) => {
      const model = new Model(graph, { batchSize: 256, seed: 3, backend: "wasm", threads, sharing: "always", ...(resident ? { data } : {}) });
      const optimizer = createOptimizer(REPORT_ADAM, model.parameterSizes(), model.parameterUpdates());
      const losses = schedule.map(([o, start]) => {
        const { loss } = model.step(data, o, start, 256, optimizer.steps);
        optimizer.step(model.parameters, model.gradients, 0.001);
        return loss;
      });
      // The batches' fills, the steps' kernels and Adam's updates were shared with the worker.
      if (threads === 2) expectWorkerTookPart(model, "training steps at batch 256");
      const weights = model.parameters.map((p) => Array.from(p));
      await model.close();
      return { losses, weights };
    };
    const plain = await run(1, false);
    const ahead = await run(2, true);
    expect(ahead.losses).toEqual(plain.losses);
    expect(ahead.weights).toEqual(plain.weights);
  });
});

describe("the worker thread", () => {
  const graph = loadGraphFile("graphs/mnist.graph.json");
  const plan = compilePlan(graph, { outputs: ["probs"], sizes: { batch: 256 }, dtype: "float32" });
  const fed = (executor: Executor) => {
    initializeParameters(executor, graph, 1);
    executor.view("x").set(Float32Array.from({ length: 256 * 784 }, (_, i) => ((i * 7_919) % 13 === 0 ? (i % 255) / 255 : 0)));
    return executor;
  };

  it('is ready, runs every part handed over with sharing "always", and ends on close(), the executor going on alone', async () => {
    const one = fed(new Executor(plan, { backend: "wasm" }));
    const two = fed(new Executor(plan, { backend: "wasm", threads: 2, sharing: "always" }));
    await one.ready; // nothing to wait for
    expect(one.threadStats()).toEqual({ threads: 1, workerUp: false, handedOver: 0, workerRan: 0, takenBack: 0, failure: undefined });
    await two.ready;
    expect(two.threadStats()).toMatchObject({ threads: 2, workerUp: true, handedOver: 0, workerRan: 0, takenBack: 0 });
    one.run();
    two.run();
    const shared = two.threadStats();
    // One run of a batch of 256: the three layers and the softmax, as row chains (one job each) cut where
    // the planner lets a value reuse the memory of one before it (chain.ts): after each layer's dropout.
    expect(shared.handedOver).toBe(3);
    expect(shared).toMatchObject({ workerUp: true, workerRan: shared.handedOver, takenBack: 0 });
    expect(Array.from(two.view("probs"))).toEqual(Array.from(one.view("probs")));
    await two.close();
    await two.close(); // again: nothing more
    expect(two.threadStats()).toMatchObject({ workerUp: false, handedOver: shared.handedOver, workerRan: shared.handedOver });
    two.view("x").fill(0.25);
    one.view("x").fill(0.25);
    two.run();
    one.run();
    expect(two.threadStats().handedOver).toBe(shared.handedOver); // closed: the main thread runs it all
    expect(Array.from(two.view("probs"))).toEqual(Array.from(one.view("probs")));
  });

  it('with sharing "always", is waited for at the first run, whether or not `ready` was awaited', async () => {
    const two = fed(new Executor(plan, { backend: "wasm", threads: 2, sharing: "always" }));
    two.run();
    expect(two.threadStats()).toMatchObject({ workerUp: true, takenBack: 0 });
    expect(two.threadStats().workerRan).toBeGreaterThan(0);
    await two.close();
  });

  it("that fails is reported by `ready` and threadStats(), and takes no part", async () => {
    const two = fed(new Executor(plan, { backend: "wasm", threads: 2, sharing: "always" }));
    // What the pool sees when its worker dies (an exception in the worker's own code, say).
    (workerPool(two) as unknown as { worker: NodeJS.EventEmitter }).worker.emit("error", new Error("out of memory in the worker"));
    await expect(two.ready).rejects.toThrow("the worker thread failed: out of memory in the worker");
    two.run();
    expect(two.threadStats()).toMatchObject({ workerUp: false, handedOver: 0, workerRan: 0, failure: "out of memory in the worker" });
    await two.close();
  });

  it("comes up, takes jobs and lets the process end, in a script started with --input-type=module (its source stays CommonJS) that awaits `ready`", async () => {
    const { spawnSync } = await import("node:child_process");
    // No process.exit: awaiting `ready` at the top level must hold the process until the worker is up,
    // and the worker must not hold it after close().
    const script = `
      const { Executor, compilePlan, loadGraphFile, initializeParameters } = await import(${JSON.stringify(new URL("../../dist/src/index.js", import.meta.url).href)});
      const graph = loadGraphFile("graphs/mnist.graph.json");
      const executor = new Executor(compilePlan(graph, { outputs: ["probs"], sizes: { batch: 256 } }), { backend: "wasm", threads: 2, sharing: "always" });
      initializeParameters(executor, graph, 1);
      executor.view("x").fill(0.5);
      await executor.ready;
      executor.run();
      console.log(JSON.stringify(executor.threadStats()));
      await executor.close();`;
    const r = spawnSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8" });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const stats = JSON.parse(r.stdout.trim());
    expect(stats.workerRan).toBeGreaterThan(0);
    expect(stats).toMatchObject({ threads: 2, workerUp: true, takenBack: 0, workerRan: stats.handedOver });
  });
});

describe("a worker thread that stops", () => {
  it("is reported, and the kernels run on the main thread with the same results", async () => {
    const { Model } = await import("../../src/index.js");
    const graph = loadGraphFile("graphs/mnist.graph.json");
    const model = new Model(graph, { batchSize: 64, seed: 2, backend: "wasm", threads: 2 });
    // The training step's executor is the model's own; its worker is what this test makes fail.
    const pool = workerPool((model as unknown as { trainingStep: Executor }).trainingStep)!;
    await model.ready; // the worker is up: only the failure can refuse a job now
    expect(model.threadStats()).toMatchObject({ threads: 2, workerUp: true, failure: undefined });
    // What the pool sees when its worker dies (an exception in the worker's own code, say).
    (pool as unknown as { worker: NodeJS.EventEmitter }).worker.emit("error", new Error("out of memory in the worker"));
    expect(model.workerFailure).toBe("out of memory in the worker");
    expect(model.threadStats()).toMatchObject({ workerUp: false, failure: "out of memory in the worker" });
    expect(pool.start(JOB.relu, 0, 0, 0)).toBe(false);
    const one = new Model(graph, { batchSize: 64, seed: 2, backend: "wasm", threads: 1 });
    const data = mnist();
    const order = Uint32Array.from({ length: 64 }, (_, i) => i * 11);
    const handedOver = model.threadStats().handedOver;
    expect(model.step(data, order, 0, 64, 0).loss).toBe(one.step(data, order, 0, 64, 0).loss);
    expect(model.threadStats().handedOver).toBe(handedOver);
    await model.close();
  });
});

describe("counting right predictions in WebAssembly", () => {
  it("as the JavaScript loop: the first of equal largest probabilities, NaNs losing every comparison", () => {
    const [rows, k] = [200, 7];
    const arena = allocateWasmArena(2 * rows * k, 0, 0);
    const probs = arena.planValues.subarray(0, rows * k);
    const labels = arena.planValues.subarray(rows * k, 2 * rows * k);
    const rng = lcg(5);
    // Few distinct values, so ties are common; some NaNs.
    probs.set(Float32Array.from(probs, () => (rng() < 0.05 ? NaN : Math.floor(rng() * 4) / 4)));
    for (let r = 0; r < rows; r++) labels[r * k + Math.floor(rng() * k)] = 1;
    let expected = 0;
    for (let r = 0; r < rows; r++) {
      let best = 0;
      for (let j = 1; j < k; j++) if (probs[r * k + j]! > probs[r * k + best]!) best = j;
      if (labels[r * k + best] === 1) expected++;
    }
    expect(expected).toBeGreaterThan(10);
    expect(arena.kernels.countCorrect(probs.byteOffset, labels.byteOffset, rows, k)).toBe(expected);
  });
});

describe("softmax, its cross-entropy and the gradient fused into one kernel", () => {
  const graph = (rows: number, n: number): Graph => ({
    name: "head",
    nodes: [
      { id: "z", op: "input", inputs: [], attrs: { shape: [rows, n] } },
      { id: "y", op: "input", inputs: [], attrs: { shape: [rows, n] } },
      { id: "dL", op: "input", inputs: [], attrs: { shape: [] } },
      { id: "probs", op: "softmax", inputs: ["z"], attrs: {} },
      { id: "loss", op: "softmax_cross_entropy", inputs: ["z", "y"], attrs: {} },
      { id: "g", op: "softmax_cross_entropy_grad", inputs: ["z", "y", "dL"], attrs: {} },
    ],
  });

  it("gives the three kernels' results bit for bit, on one thread and two, rows and classes off the blocks", async () => {
    for (const [rows, n] of [
      [3, 10],
      [256, 10],
      [301, 7],
      [64, 13],
    ] as const) {
      const g = graph(rows, n);
      const rng = lcg(rows * 31 + n);
      const z = Float32Array.from({ length: rows * n }, () => (rng() - 0.5) * 40);
      const y = Float32Array.from({ length: rows * n }, () => (rng() < 0.3 ? rng() : 0));
      const values = { z, y, dL: [0.75] };
      const run = (outputs: string[], threads: number) => runWasm(g, outputs, values, threads, rows * n >= SPLIT_SOFTMAX_ELEMENTS, true);
      // Apart: softmax and the loss in one plan, the gradient in another — nothing to fuse.
      const apart = { ...(await run(["probs", "loss"], 1)), ...(await run(["g"], 1)) };
      for (const threads of [1, 2]) expect(await run(["probs", "loss", "g"], threads), `${rows} × ${n}, ${threads} threads`).toEqual(apart);
      // And the reference backend's values, within float32 rounding (as each kernel's test allows).
      const reference = runReference(g, ["probs", "loss", "g"], values, true);
      expectClose(apart.probs!, reference.probs!, 1e-7);
      expectClose(apart.loss!, reference.loss!, 1e-6, 1e-6);
      expectClose(apart.g!, reference.g!, 1e-7);
    }
  });

  it("is left alone when the probabilities are read before the gradient's step", () => {
    const head = graph(8, 10);
    // A consumer of probs between: the fused kernel would run too late for it.
    const g: Graph = { ...head, nodes: [...head.nodes.slice(0, 4), { id: "twice", op: "add", inputs: ["probs", "probs"], attrs: {} }, ...head.nodes.slice(4)] };
    const plan = compilePlan(g, { outputs: ["twice", "loss", "g"], dtype: "float32" });
    const e = new Executor(plan, { backend: "wasm" });
    const z = Float32Array.from({ length: 80 }, (_, i) => Math.sin(i) * 3);
    e.view("z").set(z);
    e.view("y").set(Float32Array.from({ length: 80 }, (_, i) => (i % 10 === 3 ? 1 : 0)));
    e.view("dL").set([1]);
    e.run();
    const row = Array.from(z.subarray(0, 10), Math.exp);
    const total = row.reduce((a, b) => a + b, 0);
    expectClose(
      e.view("twice").subarray(0, 10),
      row.map((v) => (2 * v) / total),
      1e-6,
      1e-5,
    );
  });
});

describe("a layer — product, bias, relu — fused into the product's stores", () => {
  const layer = (rows: number, k: number, n: number, withRelu: boolean, fed: boolean): Graph => ({
    name: "layer",
    nodes: [
      fed
        ? { id: "x", op: "input", inputs: [], attrs: { shape: [rows, k] } }
        : { id: "x", op: "parameter", inputs: [], attrs: { shape: [rows, k], init: "zeros" } },
      { id: "W", op: "parameter", inputs: [], attrs: { shape: [k, n], init: "zeros" } },
      { id: "b", op: "parameter", inputs: [], attrs: { shape: [n], init: "zeros" } },
      { id: "xW", op: "matmul", inputs: ["x", "W"], attrs: {} },
      { id: "z", op: "add", inputs: ["xW", "b"], attrs: {} },
      ...(withRelu ? [{ id: "a", op: "relu", inputs: ["z"], attrs: {} }] : []),
    ],
  });

  it("gives the separate kernels' bits: zero-skipping and dense products, columns off every block, 1 and 2 threads", async () => {
    for (const [rows, k, n] of [
      [7, 30, 13],
      [64, 50, 128],
      [129, 35, 50],
      [256, 64, 10],
    ] as const) {
      for (const withRelu of [true, false]) {
        for (const fed of [true, false]) {
          const g = layer(rows, k, n, withRelu, fed);
          const outputs = withRelu ? ["z", "a"] : ["z"];
          const rng = lcg(rows + k + n);
          const values = {
            x: Float32Array.from({ length: rows * k }, () => (rng() < 0.7 ? 0 : rng())),
            W: Float32Array.from({ length: k * n }, () => rng() - 0.5),
            b: Float32Array.from({ length: n }, () => rng() - 0.5),
          };
          // Only the outputs asked for are compared (the product's own, when asked, is left out).
          const run = async (outs: string[], threads: number) => {
            const result = await runWasm(g, outs, values, threads, rows * k * n >= SPLIT_MACS);
            return Object.fromEntries(outputs.map((id) => [id, result[id]]));
          };
          // The product as an output of its own has a second reader: nothing is fused.
          const apart = await run([...outputs, "xW"], 1);
          for (const threads of [1, 2]) expect(await run(outputs, threads), `${rows}×${k}×${n} relu ${withRelu} fed ${fed}, ${threads} threads`).toEqual(apart);
          // And the reference backend's values, within float32 rounding of a sum of k products.
          const reference = runReference(g, outputs, values);
          for (const id of outputs) expectClose(apart[id]!, reference[id]!, 1e-6 * k, 1e-5);
        }
      }
    }
  });
});
