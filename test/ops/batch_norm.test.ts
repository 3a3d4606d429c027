/**
 * batch_norm and its non-trainable state: the shape rule, the kernel against a formula written here
 * from the definition (training and evaluation), the running averages after k training steps, the
 * gradient by central differences (2-D and 4-D, both modes), wrong gradients rejected, and the rules that
 * keep the kernel contract honest (only declared state is written, only in training, by one node).
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { differentiate } from "../../src/autodiff/differentiate.js";
import { checkGradients } from "../../src/check/gradcheck.js";
import { checkOp, formatOpFailure } from "../../src/check/op-check.js";
import { Executor } from "../../src/exec/executor.js";
import { initializeParameters } from "../../src/exec/initialize.js";
import { compilePlan } from "../../src/exec/plan.js";
import { GraphError } from "../../src/graph/errors.js";
import { formulaOf } from "../../src/ops/op.js";
import type { Graph, GraphNode } from "../../src/graph/ir.js";
import { validateGraph } from "../../src/graph-file/validate.js";
import { batchNorm } from "../../src/ops/batch_norm.js";
import { ShapeError, defineOp, type OpDefinition } from "../../src/ops/op.js";
import { getOp, registerOp } from "../../src/ops/registry.js";
import { Type } from "@sinclair/typebox";
import { dim } from "../support/arbitraries.js";
import { inputNode, node, product } from "../support/run.js";

const stateNode = (id: string, channels: number, init: "zeros" | "ones"): GraphNode => node(id, "state", [], { shape: [channels], init });

/** x (fed), gamma and beta (fed), the running averages (state), y = batch_norm. */
function bnGraph(shape: readonly (number | string)[], attrs: Record<string, number> = {}): Graph {
  const c = shape[1] as number;
  return {
    name: "bn",
    nodes: [
      inputNode("x", shape),
      inputNode("gamma", [c]),
      inputNode("beta", [c]),
      stateNode("mean", c, "zeros"),
      stateNode("var", c, "ones"),
      node("y", "batch_norm", ["x", "gamma", "beta", "mean", "var"], attrs),
    ],
  };
}

/**
 * The definition, element by element: the channel of flat index k is ⌊k / (H·W)⌋ mod C; the statistics
 * are over every element of a channel; the running variance takes the unbiased variance.
 */
function naiveBatchNorm(
  x: readonly number[],
  shape: readonly number[],
  p: { gamma: readonly number[]; beta: readonly number[]; mean: readonly number[]; var: readonly number[] },
  { training, momentum = 0.1, epsilon = 1e-5 }: { training: boolean; momentum?: number; epsilon?: number },
) {
  const channels = shape[1]!;
  const inner = product(shape.slice(2));
  const channelOf = (k: number) => Math.floor(k / inner) % channels;
  const batchMean: number[] = [];
  const batchVar: number[] = [];
  for (let c = 0; c < channels; c++) {
    const values = x.filter((_, k) => channelOf(k) === c);
    const mu = values.reduce((a, b) => a + b, 0) / values.length;
    batchMean.push(mu);
    batchVar.push(values.reduce((a, v) => a + (v - mu) ** 2, 0) / values.length);
  }
  const m = x.length / channels;
  const useMean = training ? batchMean : p.mean;
  const useVar = training ? batchVar : p.var;
  const y = x.map((v, k) => {
    const c = channelOf(k);
    return (p.gamma[c]! * (v - useMean[c]!)) / Math.sqrt(useVar[c]! + epsilon) + p.beta[c]!;
  });
  const runningMean = training ? p.mean.map((r, c) => (1 - momentum) * r + momentum * batchMean[c]!) : [...p.mean];
  const runningVar = training && m > 1 ? p.var.map((r, c) => (1 - momentum) * r + (momentum * batchVar[c]! * m) / (m - 1)) : [...p.var];
  return { y, runningMean, runningVar };
}

const values = (n: number, min = -3, max = 3) => fc.array(fc.double({ min, max, noNaN: true }), { minLength: n, maxLength: n });

/** An NCHW shape or a [batch, features] one. */
const bnShape = fc.oneof(
  fc.tuple(dim, dim).map((s) => [...s]),
  fc.tuple(dim, dim, dim, dim).map((s) => [...s]),
);

function executorFor(graph: Graph, shape: readonly number[], backend: "ts" | "wasm" = "ts", dtype: "float64" | "float32" = "float64") {
  const plan = compilePlan(graph, { outputs: ["y"], sizes: { batch: shape[0]! }, dtype });
  const executor = new Executor(plan, { backend });
  initializeParameters(executor, graph, 0);
  return executor;
}

describe("batch_norm's shape rule", () => {
  it("keeps x's shape, batch symbolic, for per-channel inputs of x's channels; refuses others naming them", () => {
    const op = getOp("batch_norm")!;
    fc.assert(
      fc.property(dim, fc.array(dim, { maxLength: 3 }), dim, (c, rest, wrong) => {
        const x = ["batch", c, ...rest];
        expect(op.shape([x, [c], [c], [c], [c]], {})).toEqual(x);
        if (wrong !== c) {
          expect(() => op.shape([x, [c], [c], [wrong], [c]], {})).toThrow(ShapeError);
          expect(() => op.shape([x, [c], [c], [wrong], [c]], {})).toThrow(
            `running_mean must hold one value per channel of x, [${c}] for x of shape [${x.join(", ")}], got [${wrong}].`,
          );
        }
        expect(() => op.shape([[c], [c], [c], [c], [c]], {})).toThrow(/x must be \[batch, features\] or \[batch, channels, …\]/);
      }),
    );
  });

  it("batch_norm_grad gives x's shape for x, one value per channel for gamma and beta", () => {
    const op = getOp("batch_norm_grad")!;
    const x = ["batch", 3, 5, 5];
    expect(op.shape([x, x, [3], [3], [3]], { wrt: "x" })).toEqual(x);
    expect(op.shape([x, x, [3], [3], [3]], { wrt: "gamma" })).toEqual([3]);
    expect(op.shape([x, x, [3], [3], [3]], { wrt: "beta" })).toEqual([3]);
    expect(() => op.shape([["batch", 3], x, [3], [3], [3]], { wrt: "x" })).toThrow(/dy must have the shape of x/);
  });
});

describe("batch_norm's kernel against the formula", () => {
  it("in training mode: batch statistics, and the running averages updated once (PyTorch's momentum, unbiased variance)", () => {
    fc.assert(
      fc.property(
        bnShape.chain((s) =>
          fc.record({
            shape: fc.constant(s),
            x: values(product(s)),
            gamma: values(s[1]!),
            beta: values(s[1]!),
            mean: values(s[1]!),
            var: values(s[1]!, 0.1, 4),
            momentum: fc.constantFrom(0.1, 0.5, 1),
          }),
        ),
        (c) => {
          const executor = executorFor(bnGraph(["batch", ...c.shape.slice(1)], { momentum: c.momentum }), c.shape);
          for (const id of ["x", "gamma", "beta", "mean", "var"] as const) executor.feed(id, c[id]);
          executor.run({ training: true });
          const want = naiveBatchNorm(c.x, c.shape, c, { training: true, momentum: c.momentum });
          expectClose(executor.read("y"), want.y);
          expectClose(executor.read("mean"), want.runningMean);
          expectClose(executor.read("var"), want.runningVar);
        },
      ),
      { numRuns: 150 },
    );
  });

  it("in evaluation mode: the running averages, which stay as they were", () => {
    fc.assert(
      fc.property(
        bnShape.chain((s) =>
          fc.record({ shape: fc.constant(s), x: values(product(s)), gamma: values(s[1]!), beta: values(s[1]!), mean: values(s[1]!), var: values(s[1]!, 0, 4) }),
        ),
        fc.constantFrom(undefined, 1e-3),
        (c, epsilon) => {
          const executor = executorFor(bnGraph(["batch", ...c.shape.slice(1)], epsilon === undefined ? {} : { epsilon }), c.shape);
          for (const id of ["x", "gamma", "beta", "mean", "var"] as const) executor.feed(id, c[id]);
          executor.run({ training: false });
          expectClose(executor.read("y"), naiveBatchNorm(c.x, c.shape, c, { training: false, ...(epsilon === undefined ? {} : { epsilon }) }).y);
          expect([...executor.read("mean")]).toEqual(c.mean);
          expect([...executor.read("var")]).toEqual(c.var);
        },
      ),
      { numRuns: 100 },
    );
  });

  it("after k training steps the running averages are the formula applied k times from (0, 1), and evaluation then uses them", () => {
    const shape = [4, 3, 2, 5];
    const executor = executorFor(bnGraph(["batch", 3, 2, 5], { momentum: 0.2 }), shape);
    const gamma = [1.5, -0.5, 2];
    const beta = [0.25, 0, -1];
    executor.feed("gamma", gamma);
    executor.feed("beta", beta);
    let running = { mean: [0, 0, 0], var: [1, 1, 1] };
    const batches = fc.sample(values(product(shape)), { numRuns: 7, seed: 11 });
    for (const x of batches) {
      executor.feed("x", x);
      executor.run({ training: true });
      const want = naiveBatchNorm(x, shape, { gamma, beta, ...running }, { training: true, momentum: 0.2 });
      running = { mean: want.runningMean, var: want.runningVar };
    }
    expectClose(executor.read("mean"), running.mean);
    expectClose(executor.read("var"), running.var);
    executor.run({ training: false });
    expectClose(executor.read("y"), naiveBatchNorm(batches.at(-1)!, shape, { gamma, beta, ...running }, { training: false }).y);
  });

  it("with one value per channel, normalises to β and leaves the running variance alone (its unbiased variance is undefined)", () => {
    const executor = executorFor(bnGraph(["batch", 2]), [1, 2]);
    executor.feed("x", [3, -7]);
    executor.feed("gamma", [2, 2]);
    executor.feed("beta", [0.5, -0.5]);
    executor.run({ training: true });
    expect([...executor.read("y")]).toEqual([0.5, -0.5]);
    expectClose(executor.read("mean"), [0.3, -0.7]);
    expect([...executor.read("var")]).toEqual([1, 1]);
  });

  it("runs the same on the wasm backend as on the reference one, state included", () => {
    const shape = [6, 4, 3, 3];
    const graph = bnGraph(["batch", 4, 3, 3]);
    const [ts, wasm] = [executorFor(graph, shape, "ts", "float32"), executorFor(graph, shape, "wasm", "float32")];
    const sample = (n: number, seed: number) => fc.sample(values(n), { numRuns: 1, seed })[0]!;
    const [x, gamma, beta] = [sample(product(shape), 0), sample(4, 1), sample(4, 2)];
    for (const e of [ts, wasm]) {
      e.feed("x", x);
      e.feed("gamma", gamma);
      e.feed("beta", beta);
      e.run({ training: true });
      e.run({ training: true });
    }
    for (const id of ["y", "mean", "var"]) expect(wasm.read(id)).toEqual(ts.read(id));
  });
});

function expectClose(got: ArrayLike<number>, want: readonly number[]): void {
  expect(got.length).toBe(want.length);
  for (let i = 0; i < want.length; i++)
    expect(Math.abs(got[i]! - want[i]!), `element ${i}: ${got[i]} against ${want[i]}`).toBeLessThanOrEqual(1e-9 * (1 + Math.abs(want[i]!)));
}

/** A batch-normalised layer: loss = Σ w ⊙ batch_norm(x), with γ and β parameters. */
function trainableGraph(shape: readonly number[]): Graph {
  const c = shape[1]!;
  return {
    name: "bn layer",
    nodes: [
      inputNode("x", shape),
      node("gamma", "parameter", [], { shape: [c], init: "ones" }),
      node("beta", "parameter", [], { shape: [c], init: "zeros" }),
      stateNode("mean", c, "zeros"),
      stateNode("var", c, "ones"),
      node("y", "batch_norm", ["x", "gamma", "beta", "mean", "var"]),
      inputNode("w", shape),
      node("wy", "mul", ["y", "w"]),
      node("loss", "sum_to", ["wy"], { shape: [] }),
    ],
    loss: "loss",
  };
}

describe("batch_norm's gradient", () => {
  it.each([
    [[6, 4], true],
    [[5, 3], false],
    [[3, 2, 3, 5], true],
    [[2, 3, 1, 4], true],
    [[3, 2, 4, 3], false],
  ])("passes a central-difference check for x, γ and β, shape %j, training %s", (shape, training) => {
    const report = checkGradients(trainableGraph(shape), { wrt: ["x", "gamma", "beta"], sizes: {}, maxChecksPerValue: Infinity, training, seed: 3 });
    expect(report.rows.map((r) => [r.id, r.pass])).toEqual([
      ["x", true],
      ["gamma", true],
      ["beta", true],
    ]);
  });

  it("flows to x, γ and β only: no gradient into the running averages, which cannot be asked for", () => {
    const graph = differentiate(trainableGraph([4, 3]));
    expect(Object.keys(graph.gradients!).sort()).toEqual(["beta", "gamma"]);
    const grads = graph.nodes.filter((n) => n.op === "batch_norm_grad");
    expect(grads.map((n) => n.attrs.wrt).sort()).toEqual(["beta", "gamma"]);
    expect(
      formulaOf(
        getOp("batch_norm_grad")!,
        grads.find((n) => n.attrs.wrt === "gamma")!,
      ),
    ).toContain("dγ = Σ δ ⊙ x̂");
    expect(() => differentiate(trainableGraph([4, 3]), { wrt: ["mean"] })).toThrow(/no gradient reaches "mean"/);
    expect(() => checkGradients(trainableGraph([4, 3]), { wrt: ["var"], sizes: {} })).toThrow(
      /"var": only parameters and inputs can be perturbed in place, and it is non-trainable state/,
    );
    const withX = differentiate(trainableGraph([4, 3]), { wrt: ["x", "gamma"] });
    expect(
      formulaOf(
        getOp("batch_norm_grad")!,
        withX.nodes.find((n) => n.attrs.wrt === "x")!,
      ),
    ).toContain("dX = γ/(m·σ)");
  });

  it("passes the op checker on random cases of both layouts and both modes", () => {
    const report = checkOp(batchNorm, { numRuns: 200, seed: 5 });
    expect(report.status, formatOpFailure(report)).toBe("pass");
  });
});

/** batch_norm with another gradient rule, registered under its own name. */
function variant(name: string, gradient: OpDefinition<any>["gradient"]): OpDefinition<any> {
  const def = { ...batchNorm, name, gradient };
  registerOp(def, { replace: true });
  return def;
}

/** The gradient with the batch's statistics taken as constants: dX = γ ⊙ δ/σ, the classic mistake. */
const frozenStatsGrad = defineOp({
  name: "test_bn_frozen_stats_grad",
  summary: "γ ⊙ δ/√(σ² + ε), the batch statistics taken as constants",
  inputs: ["dy", "x", "gamma"],
  attrs: Type.Object({}),
  shape: ([, x]) => x!,
  kernel:
    ({ inputShapes }) =>
    ([dy, x, gamma], out) => {
      const [n, c] = inputShapes[1]! as [number, number];
      for (let j = 0; j < c; j++) {
        let mean = 0;
        for (let i = 0; i < n; i++) mean += x![i * c + j]! / n;
        let variance = 0;
        for (let i = 0; i < n; i++) variance += (x![i * c + j]! - mean) ** 2 / n;
        for (let i = 0; i < n; i++) out[i * c + j] = (gamma![j]! * dy![i * c + j]!) / Math.sqrt(variance + 1e-5);
      }
    },
});

describe("wrong gradients of batch_norm are rejected", () => {
  const only2d = { ...batchNorm.check!, cases: [batchNorm.check!.cases![0]!] };

  it("γ's and β's gradients swapped", () => {
    const swapped = variant("test_bn_swapped", (g) => {
      const [dx, dgamma, dbeta] = batchNorm.gradient!(g);
      return [dx!, dbeta!, dgamma!, null, null];
    });
    const report = checkOp(swapped, { numRuns: 50 });
    expect(report.status).toBe("fail");
    expect(report.failure!.kind).toBe("gradient");
    expect(["gamma", "beta"]).toContain(report.failure!.input);
  });

  it("x's gradient with the batch statistics taken as constants (the path through μ and σ² left out)", () => {
    registerOp(frozenStatsGrad, { replace: true });
    const frozen = variant("test_bn_frozen_stats", (g) => {
      const [, dgamma, dbeta] = batchNorm.gradient!(g);
      return [g.emit("test_bn_frozen_stats_grad", [g.dy, g.inputs[0]!, g.inputs[1]!]), dgamma!, dbeta!, null, null];
    });
    const report = checkOp({ ...frozen, check: only2d }, { numRuns: 50 });
    expect(report.status).toBe("fail");
    expect(report.failure!.kind).toBe("gradient");
    expect(report.failure!.input).toBe("x");
  });
});

describe("the kernel contract: state is written only where declared, in training, by one node", () => {
  it("the op checker rejects an op that updates its state in evaluation mode", () => {
    const leaky = defineOp({
      name: "test_state_always_written",
      summary: "copies x, and counts its runs in s, in either mode",
      inputs: ["x", "s"],
      updates: ["s"],
      attrs: Type.Object({}),
      shape: ([x]) => x!,
      kernel:
        () =>
        ([x, s], out) => {
          for (let k = 0; k < out.length; k++) out[k] = x![k]!;
          s![0] = s![0]! + 1;
        },
      gradient: (g) => [g.dy, null],
      check: { shapes: [["n"], [1]], wrt: ["x"], cases: [{ training: true }, { training: false }] },
    });
    registerOp(leaky, { replace: true });
    const report = checkOp(leaky, { numRuns: 30 });
    expect(report.status).toBe("fail");
    expect(report.failure!.case!.training).toBe(false);
    expect(report.failure!.message).toMatch(
      /^the kernel changed its input "s" \(element \[0\]: .* became .*\); a kernel may only write its output \(and, in training mode only, the state its op updates\)\.$/,
    );
  });

  it("refuses, naming the node and the input, a batch_norm whose running average is not state", () => {
    const graph = bnGraph(["batch", 3]);
    const fed: Graph = { ...graph, nodes: graph.nodes.map((n) => (n.id === "var" ? inputNode("var", [3]) : n)) };
    const message = `graph: node "y", field "inputs[4]": the op "batch_norm" updates its input "running_var" in training mode, so it must be non-trainable state (a node of op "state"), but it is node "var" of op "input".`;
    expect(() => validateGraph(fed)).toThrow(GraphError);
    expect(() => validateGraph(fed)).toThrow(message);
    // Graphs built in code meet the same rule when they are planned.
    expect(() => compilePlan(fed, { outputs: ["y"], sizes: { batch: 2 } })).toThrow(message);
  });

  it("refuses two nodes updating one state: a step would update it twice", () => {
    const graph = bnGraph(["batch", 3]);
    const shared: Graph = { ...graph, nodes: [...graph.nodes, node("y2", "batch_norm", ["y", "gamma", "beta", "mean", "var"])] };
    expect(() => validateGraph(shared)).toThrow(
      `graph: node "y2", field "inputs[3]": the state "mean" is already updated by node "y": a state is updated by one node only, once per training step. Give this node a state of its own.`,
    );
    expect(() => compilePlan(shared, { outputs: ["y2"], sizes: { batch: 2 } })).toThrow(/the state "mean" is already updated by node "y"/);
  });

  it("a plan stores the state beside the parameters, across runs, and refuses to run before it is set", () => {
    const graph = trainableGraph([4, 3]);
    const plan = compilePlan(graph, { outputs: ["loss"], sizes: {} });
    const stored = [...plan.values.values()]
      .filter((v) => v.storage !== "work")
      .sort((a, b) => a.offset - b.offset)
      .map((v) => [v.id, v.storage, v.lastStep]);
    // In the arena: the parameters (the optimizer's block), the state, the inputs.
    expect(stored).toEqual([
      ["gamma", "parameter", Infinity],
      ["beta", "parameter", Infinity],
      ["mean", "state", Infinity],
      ["var", "state", Infinity],
      ["x", "input", Infinity],
      ["w", "input", Infinity],
    ]);
    const executor = new Executor(plan);
    expect(executor.stateIds()).toEqual(["mean", "var"]);
    expect(executor.parameterIds()).toEqual(["gamma", "beta"]);
    executor.feed("x", new Float32Array(12));
    executor.feed("w", new Float32Array(12));
    executor.feed("gamma", [1, 1, 1]);
    executor.feed("beta", [0, 0, 0]);
    expect(() => executor.run()).toThrow(
      `cannot run the plan: state "mean", "var" were never given values (initializeParameters(executor, graph, seed) sets it too, or feed it). Unfed, they would silently be 0.`,
    );
    initializeParameters(executor, graph, 0);
    expect([...executor.read("mean"), ...executor.read("var")]).toEqual([0, 0, 0, 1, 1, 1]);
  });
});
