/**
 * The WebAssembly backend's batch norm kernels (src/exec/backends/wasm/batch-norm.ts) against the ops'
 * reference kernels: batch_norm in training (the batch's statistics, the running averages updated in
 * place) and in evaluation, and batch_norm_grad for x, γ and β in both modes, on [n, F] and
 * [n, C, H, W] inputs of odd sizes (planes not a multiple of 4, a single value per channel); the same
 * bits on one thread and on two (the threads split the channels); and the CNN with batch norm
 * (graphs/mnist-cnn-best.graph.json) training on wasm as on the reference backend.
 */
import { describe, expect, it } from "vitest";
import { Executor, Model, compilePlan, differentiate, loadGraphFile, type Graph, type GraphNode } from "../../src/index.js";
import { createOptimizer } from "../../src/train/optimizers.js";
import { REPORT_ADAM } from "../support/optimizer-settings.js";
import { mnist } from "../support/small-mnist.js";

/** A small deterministic generator of numbers in [0, 1). */
function lcg(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => (state = (Math.imul(state, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/**
 * batch_norm (op "batch_norm") or one of its gradients (op "batch_norm_grad", `wrt`) over fed x (and dy),
 * fed γ and β, and the running averages as state.
 */
function bnGraph(op: "batch_norm" | "batch_norm_grad", shape: readonly number[], attrs: Record<string, unknown> = {}): Graph {
  const c = shape[1]!;
  const input = (id: string, s: readonly number[]): GraphNode => ({ id, op: "input", inputs: [], attrs: { shape: [...s] } });
  const state = (id: string, init: string): GraphNode => ({ id, op: "state", inputs: [], attrs: { shape: [c], init } });
  const nodes: GraphNode[] = [input("x", shape), input("dy", shape), input("gamma", [c]), input("beta", [c]), state("mean", "zeros"), state("var", "ones")];
  const inputs = op === "batch_norm" ? ["x", "gamma", "beta", "mean", "var"] : ["dy", "x", "gamma", "mean", "var"];
  nodes.push({ id: "out", op, inputs, attrs: attrs as GraphNode["attrs"] });
  return { name: op, nodes };
}

interface Values {
  readonly x: Float32Array;
  readonly dy: Float32Array;
  readonly gamma: Float32Array;
  readonly beta: Float32Array;
  readonly mean: Float32Array;
  readonly var: Float32Array;
}

/** x with a channel offset and spread (as a convolution's output has), dy, γ, β, and running averages away from (0, 1). */
function randomValues(shape: readonly number[], seed: number): Values {
  const rng = lcg(seed);
  const c = shape[1]!;
  const inner = size(shape.slice(2));
  const offset = Array.from({ length: c }, () => rng() * 4 - 2);
  const spread = Array.from({ length: c }, () => 0.2 + rng() * 3);
  const x = Float32Array.from({ length: size(shape) }, (_, k) => {
    const ch = Math.floor(k / inner) % c;
    return offset[ch]! + spread[ch]! * (rng() * 2 - 1);
  });
  const perChannel = (lo: number, hi: number) => Float32Array.from({ length: c }, () => lo + rng() * (hi - lo));
  return {
    x,
    dy: Float32Array.from({ length: size(shape) }, () => rng() * 2 - 1),
    gamma: perChannel(0.5, 2),
    beta: perChannel(-1, 1),
    mean: perChannel(-1, 1),
    var: perChannel(0.5, 2),
  };
}

interface Run {
  readonly out: Float32Array;
  readonly mean: Float32Array;
  readonly var: Float32Array;
  /** Whether the backend's own kernel ran (not the op's reference kernel). */
  readonly fast: boolean;
  /** Parts the worker ran (2 threads). */
  readonly workerRan: number;
}

/** Runs the graph on "ts", or on "wasm" with 1 or 2 threads (every big kernel shared), `runs` times in the given mode. */
async function run(graph: Graph, values: Values, backend: "ts" | "wasm", training: boolean, threads = 1, runs = 1): Promise<Run> {
  const plan = compilePlan(graph, { outputs: ["out"], dtype: "float32" });
  const e = new Executor(plan, backend === "wasm" ? { backend, threads, sharing: "always" } : {});
  await e.ready;
  for (const id of ["x", "dy", "gamma", "beta", "mean", "var"] as const) if (e.has(id)) e.view(id).set(values[id]);
  for (let r = 0; r < runs; r++) e.run({ training });
  const result = {
    out: Float32Array.from(e.view("out")),
    mean: Float32Array.from(e.view("mean")),
    var: Float32Array.from(e.view("var")),
    fast: e.fastNodes.includes("out"),
    workerRan: e.threadStats().workerRan,
  };
  await e.close();
  return result;
}

/** |a − e| ≤ tol·(scale + |e|) elementwise (scale: the size of the values the result is made from), naming the first element that is not. */
function expectClose(actual: Float32Array, expected: Float32Array, what: string, scale = 1, tol = 2e-6) {
  expect(actual.length, what).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    if (!(Math.abs(a - e) <= tol * (scale + Math.abs(e)))) expect.fail(`${what}: element ${i}: ${a} (wasm) against ${e} (reference)`);
  }
}

const maxAbs = (v: Float32Array) => v.reduce((m, a) => Math.max(m, Math.abs(a)), 0);

// [n, F] and [n, C, H, W]; planes of 1, 3, 5, 7, 9, 13 values (the SIMD loops' steps are 4 and 8) and
// 28 × 28; n = 1 with one value per channel (the running variance left alone) and with a plane.
const SHAPES: number[][] = [
  [8, 5],
  [1, 6],
  [37, 3],
  [4, 3, 1, 3],
  [3, 2, 5, 1],
  [5, 4, 7, 1],
  [2, 3, 3, 3],
  [3, 2, 1, 13],
  [1, 2, 3, 4],
  [1, 3, 1, 1],
  [6, 5, 4, 4],
  [4, 3, 28, 28],
];

describe("the wasm backend's batch norm kernels", () => {
  it.each(SHAPES)("batch_norm matches the reference in training (running averages updated) and in evaluation, x %j", async (...shape) => {
    const values = randomValues(shape, size(shape));
    for (const [attrs, seed] of [
      [{}, 0],
      [{ momentum: 0.7, epsilon: 0.01 }, 1],
    ] as const) {
      const graph = bnGraph("batch_norm", shape, attrs);
      for (const training of [true, false]) {
        const [ts, wasm] = [await run(graph, values, "ts", training, 1, 2), await run(graph, values, "wasm", training, 1, 2)];
        const what = `${training ? "training" : "evaluation"} ${JSON.stringify(attrs)} ${seed}`;
        expect(wasm.fast, what).toBe(true);
        expectClose(wasm.out, ts.out, `${what}: y`, maxAbs(ts.out));
        expectClose(wasm.mean, ts.mean, `${what}: running mean`);
        expectClose(wasm.var, ts.var, `${what}: running variance`);
        if (!training) expect([wasm.mean, wasm.var], what).toEqual([values.mean, values.var]);
        else if (size(shape) === shape[1]) expect(wasm.var, `${what}: one value per channel`).toEqual(values.var);
        else expect(wasm.var, `${what}: updated`).not.toEqual(values.var);
      }
    }
  });

  it.each(SHAPES)("batch_norm_grad for x, γ and β matches the reference in training and in evaluation, x %j", async (...shape) => {
    const values = randomValues(shape, 100 + size(shape));
    for (const wrt of ["x", "gamma", "beta"]) {
      const graph = bnGraph("batch_norm_grad", shape, { wrt, epsilon: 1e-3 });
      for (const training of [true, false]) {
        const [ts, wasm] = [await run(graph, values, "ts", training), await run(graph, values, "wasm", training)];
        const what = `${wrt}, ${training ? "training" : "evaluation"}`;
        expect(wasm.fast, what).toBe(true);
        // x's gradient in training is a difference of terms of the size of γ/σ·dy: the tolerance scales with them.
        expectClose(wasm.out, ts.out, what, Math.max(1, maxAbs(ts.out)) * (wrt === "x" ? 1 : Math.sqrt(size(shape) / shape[1]!)));
        expect([wasm.mean, wasm.var], `${what}: the state only read`).toEqual([values.mean, values.var]);
      }
    }
  });

  it("gives the same bits on one thread and on two, the worker taking channels of each", async () => {
    for (const shape of [
      [32, 7, 9, 9],
      [96, 6, 5, 7],
      [512, 40],
    ]) {
      const values = randomValues(shape, 7);
      const graphs = [bnGraph("batch_norm", shape), ...["x", "gamma", "beta"].map((wrt) => bnGraph("batch_norm_grad", shape, { wrt }))];
      for (const graph of graphs) {
        for (const training of [true, false]) {
          const what = `${graph.nodes.at(-1)!.attrs.wrt ?? "forward"} ${JSON.stringify(shape)} ${training}`;
          const [one, two] = [await run(graph, values, "wasm", training, 1), await run(graph, values, "wasm", training, 2)];
          expect(two.workerRan, what).toBeGreaterThan(0);
          expect(two.out, what).toEqual(one.out);
          expect([two.mean, two.var], what).toEqual([one.mean, one.var]);
        }
      }
    }
  });
});

describe("batch norm's gradients for x, γ and β fused into one kernel", () => {
  /** The gradients `wrts` of one batch_norm as nodes over the same inputs (what autodiff emits): fused on wasm. */
  function gradsGraph(shape: readonly number[], wrts: readonly string[]): Graph {
    const { name, nodes } = bnGraph("batch_norm_grad", shape, { wrt: wrts[0] });
    const grad = nodes.at(-1)!;
    return { name, nodes: [...nodes.slice(0, -1), ...wrts.map((wrt) => ({ ...grad, id: `d${wrt}`, attrs: { wrt } }))] };
  }

  /** The outputs `ids` on wasm (sharing "always" on 2 threads). */
  async function outputsOf(graph: Graph, ids: readonly string[], values: Values, training: boolean, threads: number) {
    const e = new Executor(compilePlan(graph, { outputs: [...ids], dtype: "float32" }), { backend: "wasm", threads, sharing: "always" });
    await e.ready;
    for (const id of ["x", "dy", "gamma", "beta", "mean", "var"] as const) if (e.has(id)) e.view(id).set(values[id]);
    e.run({ training });
    const result = ids.map((id) => Float32Array.from(e.view(id)));
    await e.close();
    return result;
  }

  it("gives each gradient its own kernel's bits, in training and in evaluation, 1 and 2 threads", async () => {
    for (const shape of [
      [5, 3, 7, 5],
      [32, 6, 9, 11],
      [300, 70],
    ]) {
      const values = randomValues(shape, 11);
      for (const wrts of [
        ["x", "gamma", "beta"],
        ["beta", "x"],
        ["gamma", "beta"],
      ]) {
        for (const training of [true, false]) {
          const apart = await Promise.all(wrts.map(async (wrt) => (await run(bnGraph("batch_norm_grad", shape, { wrt }), values, "wasm", training)).out));
          for (const threads of [1, 2]) {
            const fused = await outputsOf(
              gradsGraph(shape, wrts),
              wrts.map((wrt) => `d${wrt}`),
              values,
              training,
              threads,
            );
            expect(fused, `${JSON.stringify(shape)} ${wrts.join(",")}, training ${training}, ${threads} threads`).toEqual(apart);
          }
        }
      }
    }
  });
});

describe("the CNN with batch norm (graphs/mnist-cnn-best.graph.json) on the wasm backend", () => {
  const graph = loadGraphFile("graphs/mnist-cnn-best.graph.json");

  it("runs every batch norm step of its training step by the backend's own kernels", () => {
    const backward = differentiate(graph);
    const plan = compilePlan(backward, { outputs: ["loss", ...Object.values(backward.gradients!)], sizes: { batch: 4 }, dtype: "float32" });
    const e = new Executor(plan, { backend: "wasm" });
    const steps = plan.steps.filter((s) => s.node.op.startsWith("batch_norm"));
    expect(steps.map((s) => s.node.op).sort()).toEqual([...Array(3).fill("batch_norm"), ...Array(9).fill("batch_norm_grad")]);
    expect(steps.map((s) => s.node.id).filter((id) => !e.fastNodes.includes(id))).toEqual([]);
  });

  it("trains on wasm (one thread and two, the same bits) close to the reference backend, running averages included", async () => {
    const data = mnist();
    const order = Uint32Array.from({ length: 256 }, (_, i) => (i * 7_919) % 60_000);
    const batch = 16;
    const train = async (backend: "ts" | "wasm", threads: number) => {
      const model = new Model(graph, { batchSize: batch, seed: 5, backend, threads, sharing: "always", data });
      await model.ready;
      const optimizer = createOptimizer(REPORT_ADAM, model.parameterSizes(), model.parameterUpdates());
      const losses = [0, batch, 2 * batch].map((start) => {
        const { loss } = model.step(data, order, start, batch, optimizer.steps);
        optimizer.step(model.parameters, model.gradients, 0.001);
        return loss;
      });
      const stats = model.threadStats();
      const weights = model.parameters.map((p) => Float32Array.from(p));
      const state = [...model.stateSnapshot().values()].map((s) => Float32Array.from(s));
      await model.close();
      return { losses, weights, state, stats };
    };
    const ts = await train("ts", 1);
    const one = await train("wasm", 1);
    const two = await train("wasm", 2);
    expect(two.stats.workerRan).toBeGreaterThan(20);
    expect(two.losses).toEqual(one.losses);
    expect(two.weights).toEqual(one.weights);
    expect(two.state).toEqual(one.state);
    expect(one.state.length).toBe(6); // a mean and a variance for each of the three blocks
    for (let i = 0; i < 3; i++) expect(Math.abs(one.losses[i]! - ts.losses[i]!), `loss ${i}`).toBeLessThan(1e-4 * Math.abs(ts.losses[i]!));
    one.weights.forEach((w, i) => expectClose(w, ts.weights[i]!, `parameter ${i}`, maxAbs(ts.weights[i]!), 1e-3));
    one.state.forEach((s, i) => expectClose(s, ts.state[i]!, `state ${i}`, maxAbs(ts.state[i]!), 1e-4));
  }, 60_000);
});
