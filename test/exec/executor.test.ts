import { spawnSync } from "node:child_process";
import { describe, expect, it, vi } from "vitest";
import { Executor, GraphError, compilePlan, differentiate, getOp, loadGraphFile } from "../../src/index.js";

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

describe("graphnet is a library", () => {
  it('can be imported by its package name, import { … } from "graphnet" (the built package)', () => {
    const script = `
      import { loadGraphFile, differentiate, compilePlan, Executor, initializeParameters } from "graphnet";
      const graph = differentiate(loadGraphFile("graphs/mnist.graph.json"));
      const plan = compilePlan(graph, { outputs: ["loss", graph.gradients.W1], sizes: { batch: 2 } });
      const executor = new Executor(plan);
      initializeParameters(executor, graph, 1);
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
