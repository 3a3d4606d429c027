import { spawnSync } from "node:child_process";
import { describe, expect, it, vi } from "vitest";
import { BACKENDS, Executor, GraphError, compilePlan, differentiate, getOp, initializeParameters, loadGraphFile } from "../../src/index.js";

describe("the executor", () => {
  const graph = differentiate(loadGraphFile("graphs/mnist.graph.json"));
  const plan = compilePlan(graph, { outputs: ["loss", ...Object.values(graph.gradients!)], sizes: { batch: 4 } });

  it("makes every kernel once, when it is built, and none while it runs", () => {
    const matmul = getOp("matmul")!;
    const factory = vi.spyOn(matmul, "kernel");
    const executor = new Executor(plan);
    const made = factory.mock.calls.length;
    expect(made).toBe(plan.steps.filter((s) => s.node.op === "matmul").length);
    const x = executor.view("x");
    initializeParameters(executor, graph, 1);
    executor.feed("y", new Float32Array(40));
    for (let i = 0; i < 20; i++) executor.run({ training: true });
    expect(factory.mock.calls.length).toBe(made);
    expect(executor.view("x")).toBe(x); // the same view: nothing re-made
    factory.mockRestore();
  });

  it("lays parameters first and contiguous, so the optimizer can walk them as one block", () => {
    const parameters = [...plan.values.values()].filter((v) => v.storage === "parameter");
    expect(parameters.map((v) => v.id)).toEqual(["W1", "b1", "W2", "b2", "W3", "b3"]);
    expect(parameters[0]!.offset).toBe(0);
    expect(plan.parameterElements).toBeGreaterThanOrEqual(109_386);
    expect(plan.parameterElements).toBeLessThan(109_386 + 6 * 16);
  });

  it("refuses a feed of the wrong length, naming the value and its shape", () => {
    const executor = new Executor(plan);
    expect(() => executor.feed("x", new Float32Array(10))).toThrow(GraphError);
    expect(() => executor.feed("x", new Float32Array(10))).toThrow(/expected 3136 values for "x" of shape \[4, 784\], got 10/);
    expect(() => executor.view("nope")).toThrow(/"nope" is not part of this plan/);
  });
});

describe("a run with an input or parameter never given values", () => {
  const graph = loadGraphFile("graphs/mnist.graph.json");
  const plan = compilePlan(graph, { outputs: ["loss"], sizes: { batch: 2 }, dtype: "float32" });

  it.each(BACKENDS)("is refused, naming each one and how to give it values (%s)", (backend) => {
    const executor = new Executor(plan, { backend });
    expect(() => executor.run()).toThrow(GraphError);
    expect(() => executor.run()).toThrow(
      /cannot run the plan: inputs "x", "y" were never fed \(executor\.feed\(id, values\), or write into executor\.view\(id\)\); parameters "W1", "b1", "W2", "b2", "W3", "b3" were never given values \(initializeParameters\(executor, graph, seed\), or feed them\)/,
    );
    initializeParameters(executor, graph, 1);
    executor.feed("x", new Float32Array(2 * 784));
    expect(() => executor.run()).toThrow(/input "y" was never fed/);
    expect(() => executor.run()).not.toThrow(/parameter/);
    // A view taken to be written in place counts as fed.
    executor.view("y").set([0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    executor.run();
    expect(executor.read("loss")[0]).toBeCloseTo(Math.log(10), 5);
  });

  it("names a parameter fed by hand but another left out", () => {
    const executor = new Executor(plan);
    for (const id of ["x", "y", "W1", "b1", "W2", "b2", "W3"]) executor.feed(id, new Float32Array(executor.value(id).elements));
    expect(() => executor.run()).toThrow(/cannot run the plan: parameter "b3" was never given values/);
  });
});

describe("reading a value after a run", () => {
  const graph = loadGraphFile("graphs/mnist.graph.json");
  const feedAndRun = (executor: Executor) => {
    initializeParameters(executor, graph, 1);
    executor.feed(
      "x",
      Float32Array.from({ length: 4 * 784 }, (_, i) => (i % 7) / 7),
    );
    executor.feed(
      "y",
      Float32Array.from({ length: 40 }, (_, i) => (i % 11 === 0 ? 1 : 0)),
    );
    executor.run();
  };

  it.each(BACKENDS)("refuses an intermediate value, whose memory later steps reuse, saying to list it as an output (%s)", (backend) => {
    const executor = new Executor(compilePlan(graph, { outputs: ["loss"], sizes: { batch: 4 }, dtype: "float32" }), { backend });
    feedAndRun(executor);
    for (const read of [() => executor.view("z1"), () => executor.read("a2")]) {
      expect(read).toThrow(GraphError);
      expect(read).toThrow(
        /is an intermediate value of this plan, not one of its outputs \(loss\).*list it among the outputs: compilePlan\(graph, \{ outputs: \[\.\.\., "(z1|a2)"\] \}\)/,
      );
    }
    // Inputs, parameters and outputs keep their memory; the plan still describes every value.
    expect(executor.read("x")[1]).toBeCloseTo(1 / 7, 6);
    expect(executor.view("W1").length).toBe(784 * 128);
    expect(executor.read("loss")[0]).toBeGreaterThan(0);
    expect(executor.value("z1").shape).toEqual([4, 128]);
  });

  it.each(BACKENDS)("gives an intermediate value listed as an output as a plan without memory reuse computes it (%s)", (backend) => {
    const outputs = ["loss", "z1", "a2"];
    const kept = new Executor(compilePlan(graph, { outputs, sizes: { batch: 4 }, dtype: "float32" }), { backend });
    const apart = new Executor(compilePlan(graph, { outputs, sizes: { batch: 4 }, dtype: "float32", reuse: false }), { backend });
    feedAndRun(kept);
    feedAndRun(apart);
    for (const id of outputs) expect(Array.from(kept.read(id)), id).toEqual(Array.from(apart.read(id)));
    expect(kept.read("a2").some((v) => v !== 0)).toBe(true);
  });
});

describe("graphnet is a library", () => {
  it('can be imported by its package name, import { … } from "graphnet" (the built package)', () => {
    const script = `
      import { loadGraphFile, differentiate, compilePlan, Executor, initializeParameters } from "graphnet";
      const graph = differentiate(loadGraphFile("graphs/mnist.graph.json"));
      const plan = compilePlan(graph, { outputs: ["loss", graph.gradients.W1], sizes: { batch: 2 } });
      const executor = new Executor(plan);
      initializeParameters(executor, graph, 1);
      executor.view("x").fill(0);
      executor.view("y").set([1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0]);
      executor.run();
      console.log(JSON.stringify({ loss: executor.view("loss")[0], dW1: executor.view(graph.gradients.W1).length }));
    `;
    const result = spawnSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8" });
    expect(result.stderr).toBe("");
    const out = JSON.parse(result.stdout);
    expect(out.dW1).toBe(784 * 128);
    expect(out.loss).toBeGreaterThan(0); // x = 0: the loss is the softmax of the biases alone, log 10 at init
    expect(out.loss).toBeCloseTo(Math.log(10), 5);
  });
});
