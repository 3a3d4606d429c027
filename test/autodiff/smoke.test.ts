import { describe, expect, it } from "vitest";
import "../../src/ops/index.js";
import { differentiate } from "../../src/autodiff/differentiate.js";
import { compilePlan } from "../../src/exec/plan.js";
import { Executor } from "../../src/exec/executor.js";
import { initializeParameters } from "../../src/exec/initialize.js";
import type { Graph } from "../../src/graph/ir.js";

const graph: Graph = {
  name: "smoke",
  nodes: [
    { id: "x", op: "input", inputs: [], attrs: { shape: ["batch", 3] } },
    { id: "W", op: "parameter", inputs: [], attrs: { shape: [3, 2], init: "he_normal" } },
    { id: "b", op: "parameter", inputs: [], attrs: { shape: [2], init: "normal", std: 0.5 } },
    { id: "xW", op: "matmul", inputs: ["x", "W"], attrs: {} },
    { id: "z", op: "add", inputs: ["xW", "b"], attrs: {} },
    { id: "a", op: "relu", inputs: ["z"], attrs: {} },
    { id: "a2", op: "add", inputs: ["a", "z"], attrs: {} },
    { id: "loss", op: "sum_to", inputs: ["a2"], attrs: { shape: [] } },
  ],
  loss: "loss",
};

describe("smoke", () => {
  it("differentiates and runs", () => {
    const g = differentiate(graph);
    console.log(g.nodes.slice(8).map((n) => `${n.id} = ${n.op}(${n.inputs.join(", ")}) ${JSON.stringify(n.attrs)}`).join("\n"), g.gradients);
    const plan = compilePlan(g, { outputs: ["loss", ...Object.values(g.gradients!)], sizes: { batch: 4 }, dtype: "float64" });
    const ex = new Executor(plan);
    initializeParameters(ex, g, 1);
    ex.feed("x", [1, 2, 3, -1, 0.5, 0.1, 0, 1, -2, 3, 3, 1]);
    ex.run();
    const loss0 = ex.read("loss")[0]!;
    const analytic = ex.read(g.gradients!.W!);
    const W = ex.view("W");
    const h = 1e-6;
    for (let i = 0; i < W.length; i++) {
      const w = W[i]!;
      W[i] = w + h; ex.run(); const up = ex.read("loss")[0]!;
      W[i] = w - h; ex.run(); const down = ex.read("loss")[0]!;
      W[i] = w;
      expect(analytic[i]!).toBeCloseTo((up - down) / (2 * h), 6);
    }
    console.log(loss0, plan.arenaBytes, plan.naiveBytes);
  });
});
