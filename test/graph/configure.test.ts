/** Graph → Graph transforms of src/graph/configure.ts that the other tests do not already cover. */
import { describe, expect, it } from "vitest";
import { describeDropout, describeNetwork, withActivations, withDropoutRate, withoutIdentityDropout } from "../../src/graph/configure.js";
import { loadGraphFile } from "../../src/graph-file/load.js";
import { compilePlan } from "../../src/exec/plan.js";
import { Executor } from "../../src/exec/executor.js";
import { initializeParameters } from "../../src/exec/initialize.js";
import type { Graph } from "../../src/graph/ir.js";
import { MNIST_FILE } from "./helpers.js";

describe("withoutIdentityDropout", () => {
  it("removes the MNIST graph's dropouts at rate 0 and wires their consumers to their inputs", () => {
    const graph = withDropoutRate(loadGraphFile(MNIST_FILE), 0);
    const planned = withoutIdentityDropout(graph);
    expect(planned.nodes.some((n) => n.op === "dropout")).toBe(false);
    expect(planned.nodes.length).toBe(graph.nodes.length - graph.nodes.filter((n) => n.op === "dropout").length);
    for (const node of planned.nodes) for (const input of node.inputs) expect(planned.nodes.some((n) => n.id === input)).toBe(true);
    // The graph it came from is untouched.
    expect(graph.nodes.some((n) => n.op === "dropout")).toBe(true);
  });

  it("keeps dropouts with a rate, and the same graph object when there is nothing to remove", () => {
    const graph = withDropoutRate(loadGraphFile(MNIST_FILE), 0.1);
    expect(withoutIdentityDropout(graph)).toBe(graph);
  });

  it("resolves chains and rewires the loss and the named outputs", () => {
    const graph: Graph = {
      name: "chain",
      nodes: [
        { id: "x", op: "input", inputs: [], attrs: { shape: [2, 3] } },
        { id: "d1", op: "dropout", inputs: ["x"], attrs: {} },
        { id: "d2", op: "dropout", inputs: ["d1"], attrs: { rate: 0 } },
        { id: "s", op: "sum_to", inputs: ["d2"], attrs: { shape: [] } },
        { id: "d3", op: "dropout", inputs: ["s"], attrs: { rate: 0 } },
      ],
      loss: "d3",
      outputs: { kept: "d2", total: "d3" },
    };
    const planned = withoutIdentityDropout(graph);
    expect(planned.nodes.map((n) => n.id)).toEqual(["x", "s"]);
    expect(planned.nodes[1]!.inputs).toEqual(["x"]);
    expect(planned.loss).toBe("s");
    expect(planned.outputs).toEqual({ kept: "x", total: "s" });
  });

  it("computes the same probabilities as the graph with its dropouts", () => {
    const graph = withDropoutRate(loadGraphFile(MNIST_FILE), 0);
    const run = (g: Graph) => {
      const executor = new Executor(compilePlan(g, { outputs: ["probs"], sizes: { batch: 3 }, dtype: "float32" }));
      initializeParameters(executor, g, 7);
      executor.view("x").set(Float32Array.from({ length: 3 * 784 }, (_, i) => ((i * 37) % 101) / 101));
      executor.run({ training: true });
      return Array.from(executor.view("probs"));
    };
    expect(run(withoutIdentityDropout(graph))).toEqual(run(graph));
  });
});

describe("describeNetwork: the network a run's header and report name", () => {
  it("lists the graph's own activations, not the training section's default", () => {
    expect(describeNetwork(loadGraphFile("graphs/mnist.graph.json"))).toBe("relu/tanh");
    // The CNN's training section lists no activations: the default (relu/tanh) is not what it trains.
    expect(describeNetwork(loadGraphFile("graphs/mnist-cnn.graph.json"))).toBe("relu/relu/relu");
  });

  it("follows --activations, which rewrites the graph", () => {
    const graph = loadGraphFile("graphs/mnist.graph.json");
    expect(describeNetwork(withActivations(graph, ["sigmoid", "sigmoid"]))).toBe("sigmoid/sigmoid");
  });

  it("gives the size of a graph with none of the activation functions", () => {
    const graph = loadGraphFile("graphs/mnist.graph.json");
    const linear = { ...graph, nodes: graph.nodes.map((n) => (["relu", "tanh"].includes(n.op) ? { ...n, op: "dropout", attrs: {} } : n)) };
    expect(describeNetwork(linear)).toBe(`${graph.nodes.length} nodes`);
  });
});

describe("describeDropout: the dropout a run's header states", () => {
  const mlp = loadGraphFile("graphs/mnist.graph.json");
  /** The MLP with its first dropout node fixing its own rate. */
  const withOwnRate = (rate: number) => ({ ...mlp, nodes: mlp.nodes.map((n) => (n.id === "h1" ? { ...n, attrs: { ...n.attrs, rate } } : n)) });
  const on = { use_dropout: true, dropout_rate: 0.1 };
  const off = { use_dropout: false, dropout_rate: 0.1 };

  it("says the training section's rate when every dropout node drops at it, and nothing when dropout is off", () => {
    expect(describeDropout(withDropoutRate(mlp, 0.1), on)).toEqual({ summary: "dropout 0.1" });
    expect(describeDropout(withDropoutRate(mlp, 0), off)).toEqual({ summary: null });
  });

  it("names a node that keeps its own rate, even with use_dropout off", () => {
    const graph = withOwnRate(0.5);
    expect(describeDropout(withDropoutRate(graph, 0), off).summary).toBe("dropout 0.5 at h1 (its own rate)");
    expect(describeDropout(withDropoutRate(graph, 0.1), on).summary).toBe("dropout 0.5 at h1 (its own rate), dropout 0.1 at h2");
  });

  it("warns when use_dropout is on for a graph without a dropout node", () => {
    const none = withoutIdentityDropout(withDropoutRate(mlp, 0));
    expect(describeDropout(none, on)).toEqual({ summary: null, warning: expect.stringMatching(/no dropout node: nothing is dropped/) });
    expect(describeDropout(none, off).warning).toBeUndefined();
  });
});
