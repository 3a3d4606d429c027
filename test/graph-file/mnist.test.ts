import { describe, expect, it } from "vitest";
import { getOp } from "../../src/ops/registry.js";
import { formatShape } from "../../src/graph/ir.js";
import { loadGraphFile } from "../../src/graph-file/load.js";
import { inferShapes } from "../../src/graph-file/shapes.js";
import { trainingConfig } from "../../src/graph/training.js";
import { MNIST_FILE, mnistText } from "../graph/helpers.js";

const TABLE_3_KEYS = [
  "learning_rate",
  "num_epochs",
  "batch_size",
  "optimizer",
  "beta1",
  "beta2",
  "epsilon",
  "decay_rate",
  "test_size",
  "val_size",
  "random_state",
  "patience",
  "use_data_augmentation",
  "use_dropout",
  "dropout_rate",
  "activation_functions",
];

describe("graphs/mnist.graph.json, the report's network", () => {
  const graph = loadGraphFile(MNIST_FILE);
  const shapes = inferShapes(graph);
  const shapeOf = (id: string) => formatShape(shapes.get(id)!);

  it("has 109,386 parameters: 784·128+128 + 128·64+64 + 64·10+10", () => {
    const parameters = graph.nodes.filter((n) => getOp(n.op)?.role === "parameter");
    const count = parameters.reduce((sum, n) => sum + shapes.get(n.id)!.reduce<number>((p, d) => p * Number(d), 1), 0);
    expect(count).toBe(109_386);
  });

  it("is 784 → 128 (relu) → 64 (tanh) → 10 (softmax), with dropout after each hidden layer", () => {
    expect(shapeOf("a1")).toBe("[batch, 128]");
    expect(shapeOf("a2")).toBe("[batch, 64]");
    expect(shapeOf("probs")).toBe("[batch, 10]");
    expect(shapeOf("loss")).toBe("[]");
    const opOf = (id: string) => graph.nodes.find((n) => n.id === id)!.op;
    expect(["a1", "h1", "a2", "h2", "probs", "loss"].map(opOf)).toEqual(["relu", "dropout", "tanh", "dropout", "softmax", "softmax_cross_entropy"]);
    expect(graph.nodes.find((n) => n.id === "loss")!.inputs).toEqual(["z3", "y"]);
    expect(graph.nodes.find((n) => n.id === "W1")!.attrs.init).toBe("he_normal");
  });

  it("feeds the images and labels, predicts probs and minimises loss", () => {
    expect(graph.nodes.filter((n) => n.op === "input").map((n) => [n.id, n.attrs.feed])).toEqual([
      ["x", "features"],
      ["y", "labels"],
    ]);
    expect(graph.loss).toBe("loss");
    expect(graph.outputs).toEqual({ probs: "probs" });
  });

  it("trains as the report's best run: relu then tanh, no augmentation, no dropout", () => {
    const config = trainingConfig(graph);
    expect(config).toMatchObject({ learning_rate: 0.001, batch_size: 16, num_epochs: 15, optimizer: "adam", patience: 5, random_state: 42 });
    expect(config).toMatchObject({ use_data_augmentation: false, use_dropout: false, dropout_rate: 0.1, activation_functions: ["relu", "tanh"] });
    // Every key of the report's Table 3 is written out in the file, so that it reads as the table.
    expect(Object.keys(graph.training!)).toEqual(TABLE_3_KEYS);
  });

  it("leaves the dropout rate to the training section", () => {
    for (const node of graph.nodes.filter((n) => n.op === "dropout")) expect(node.attrs.rate).toBeUndefined();
  });

  it("fits on one screen, one node per line", () => {
    const lines = mnistText().split("\n");
    expect(lines.length).toBeLessThanOrEqual(50);
    for (const node of graph.nodes) expect(lines.filter((l) => l.includes(`"id": "${node.id}"`))).toHaveLength(1);
    expect(Math.max(...lines.map((l) => l.length))).toBeLessThanOrEqual(140);
  });
});

describe("graphs/mnist-best.graph.json, the recipe that beats the report", () => {
  const report = loadGraphFile(MNIST_FILE);
  const best = loadGraphFile("graphs/mnist-best.graph.json");

  it("is the same network, node for node, but for relu in the second hidden layer (with He initialisation, as the report gives relu layers)", () => {
    const differing = best.nodes.filter((n, i) => JSON.stringify(n) !== JSON.stringify(report.nodes[i]));
    expect(differing).toEqual([
      { id: "W2", op: "parameter", inputs: [], attrs: { shape: [128, 64], init: "he_normal" } },
      { id: "a2", op: "relu", inputs: ["z2"], attrs: {} },
    ]);
    expect(best.nodes.map((n) => n.id)).toEqual(report.nodes.map((n) => n.id));
    expect(best.loss).toBe(report.loss);
    expect(best.outputs).toEqual(report.outputs);
  });

  it("trains with bias-corrected Adam down a cosine schedule, on augmented images, to the last epoch", () => {
    expect(trainingConfig(best)).toMatchObject({
      learning_rate: 0.002,
      lr_schedule: "cosine",
      num_epochs: 60,
      batch_size: 64,
      bias_correction: true,
      use_data_augmentation: true,
      use_dropout: false,
      patience: 0,
      activation_functions: ["relu", "relu"],
    });
  });
});
