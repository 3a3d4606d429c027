/** The gradient checker itself: it passes correct gradients, catches wrong ones, and honours its options. */
import { describe, expect, it } from "vitest";
import { checkGradients } from "../../src/check/gradcheck.js";
import { GraphError } from "../../src/graph/errors.js";
import type { Graph } from "../../src/graph/ir.js";
import { binaryOp, unaryOp } from "../../src/ops/elementwise.js";
import { registerOp } from "../../src/ops/registry.js";
import { inputNode, node } from "../support/run.js";

// x², with a gradient rule that forgets the factor 2: what the checker exists to catch.
registerOp(
  unaryOp({
    name: "test_bad_square",
    summary: "x² with a wrong gradient (test only)",
    f: (x) => x * x,
    gradient: (g) => [g.emit("mul", [g.dy, g.inputs[0]!])],
  }),
  { replace: true },
);
registerOp(binaryOp({ name: "test_scale", summary: "a·b (test only)", broadcast: true, f: (a, b) => a * b }), { replace: true });

const mlp: Graph = {
  name: "mlp",
  nodes: [
    inputNode("x", ["batch", 6], "features"),
    inputNode("labels", ["batch", 3], "labels"),
    node("W1", "parameter", [], { shape: [6, 5], init: "he_normal" }),
    node("b1", "parameter", [], { shape: [5], init: "zeros" }),
    node("W2", "parameter", [], { shape: [5, 3], init: "xavier_normal" }),
    node("b2", "parameter", [], { shape: [3], init: "zeros" }),
    node("xW1", "matmul", ["x", "W1"]),
    node("z1", "add", ["xW1", "b1"]),
    node("a1", "tanh", ["z1"]),
    node("d1", "dropout", ["a1"], { rate: 0.3 }),
    node("a1W2", "matmul", ["d1", "W2"]),
    node("z2", "add", ["a1W2", "b2"]),
    node("probs", "softmax", ["z2"]),
    node("loss", "cross_entropy", ["probs", "labels"]),
  ],
  loss: "loss",
};

function withOp(graph: Graph, id: string, op: string): Graph {
  return { ...graph, nodes: graph.nodes.map((n) => (n.id === id ? { ...n, op } : n)) };
}

describe("checkGradients", () => {
  it("passes a correct graph, with one row per parameter in graph order", () => {
    const report = checkGradients(mlp);
    expect(report.pass).toBe(true);
    expect(report.loss).toBe("loss");
    expect(Number.isFinite(report.lossValue) && report.lossValue > 0).toBe(true);
    expect(report.rows.map((r) => [r.id, r.shape, r.elements, r.checked])).toEqual([
      ["W1", [6, 5], 30, 24],
      ["b1", [5], 5, 5],
      ["W2", [5, 3], 15, 15],
      ["b2", [3], 3, 3],
    ]);
    for (const row of report.rows) {
      expect(row.pass).toBe(true);
      expect(row.maxAbsError).toBeLessThan(1e-6);
      expect(row.worst.index).toHaveLength(row.shape.length);
      row.worst.index.forEach((i, d) => expect(i >= 0 && i < row.shape[d]!).toBe(true));
    }
  });

  it("catches a wrong gradient rule and reports the worst element", () => {
    const report = checkGradients(withOp(mlp, "a1", "test_bad_square"));
    expect(report.pass).toBe(false);
    const failed = report.rows.filter((r) => !r.pass).map((r) => r.id);
    // Everything before the bad node gets a wrong gradient; the layer after it does not.
    expect(failed).toEqual(["W1", "b1"]);
    const worst = report.rows[0]!.worst;
    expect(Math.abs(worst.analytic - worst.numeric)).toBeGreaterThan(1e-6);
    expect(report.rows[0]!.maxRelError).toBeGreaterThan(1e-5);
  });

  it("applies the tolerance: abs OR rel", () => {
    const bad = withOp(mlp, "a1", "test_bad_square");
    // The rule is off by a factor 2: a relative error of about 1/2, accepted only by a tolerance above it.
    expect(checkGradients(bad, { tolerance: { abs: 0, rel: 0.6 } }).pass).toBe(true);
    expect(checkGradients(bad, { tolerance: { abs: 0, rel: 0.4 } }).pass).toBe(false);
    expect(checkGradients(bad, { tolerance: { abs: 1e9, rel: 0 } }).pass).toBe(true);
    // Finite differences are never exact, so a zero tolerance fails even correct gradients.
    expect(checkGradients(mlp, { tolerance: { abs: 0, rel: 0 } }).pass).toBe(false);
  });

  it("checks at most maxChecksPerValue elements of each value, all of them with Infinity", () => {
    expect(checkGradients(mlp, { maxChecksPerValue: 2 }).rows.map((r) => r.checked)).toEqual([2, 2, 2, 2]);
    expect(checkGradients(mlp, { maxChecksPerValue: Infinity }).rows.map((r) => r.checked)).toEqual([30, 5, 15, 3]);
  });

  it("is reproducible from its seed, and the seed matters", () => {
    expect(checkGradients(mlp, { seed: 7 })).toEqual(checkGradients(mlp, { seed: 7 }));
    expect(checkGradients(mlp, { seed: 7 }).lossValue).not.toBe(checkGradients(mlp, { seed: 8 }).lossValue);
  });

  it("runs dropout with one fixed mask in training mode, and without it otherwise", () => {
    const training = checkGradients(mlp, { training: true });
    const evaluation = checkGradients(mlp, { training: false });
    expect(training.pass && evaluation.pass).toBe(true);
    expect(training.lossValue).not.toBe(evaluation.lossValue);
    const noDropout = checkGradients(withOp(mlp, "d1", "tanh"), { training: false });
    expect(noDropout.lossValue).not.toBe(evaluation.lossValue);
  });

  it("checks gradients with respect to inputs, at the given sizes", () => {
    const report = checkGradients(mlp, { wrt: ["x"], sizes: { batch: 2 } });
    expect(report.rows).toHaveLength(1);
    expect(report.rows[0]).toMatchObject({ id: "x", shape: [2, 6], elements: 12, checked: 12, pass: true });
  });

  it("uses given feeds for inputs and parameters, and random ones of the right kind otherwise", () => {
    const graph: Graph = {
      name: "feeds",
      nodes: [
        inputNode("features", ["batch", 5], "features"),
        inputNode("labels", ["batch", 4], "labels"),
        inputNode("other", ["batch", 5]),
        node("W", "parameter", [], { shape: [5], init: "zeros" }),
        node("V", "parameter", [], { shape: [4], init: "zeros" }),
        node("fW", "mul", ["features", "W"]),
        node("oW", "mul", ["other", "W"]),
        node("lV", "mul", ["labels", "V"]),
        node("f", "sum_to", ["fW"], { shape: [] }),
        node("o", "sum_to", ["oW"], { shape: [] }),
        node("l", "sum_to", ["lV"], { shape: [] }),
      ],
    };
    const ones = { W: [1, 1, 1, 1, 1], V: [1, 1, 1, 1] };
    // One-hot label rows: Σ labels = the batch size.
    expect(checkGradients(graph, { loss: "l", feeds: ones, sizes: { batch: 6 } }).lossValue).toBe(6);
    for (let seed = 0; seed < 5; seed++) {
      const features = checkGradients(graph, { loss: "f", feeds: ones, seed }).lossValue;
      expect(features > 0 && features < 20).toBe(true);
    }
    // Other inputs are U[−1, 1): some negative sums among a few seeds.
    const others = [0, 1, 2, 3, 4, 5, 6, 7].map((seed) => checkGradients(graph, { loss: "o", feeds: ones, seed }).lossValue);
    expect(others.some((v) => v < 0) && others.some((v) => v > 0)).toBe(true);
    // Given feeds are used as they are: Σ features·W with both fed.
    const report = checkGradients(graph, { loss: "f", sizes: { batch: 1 }, feeds: { features: [1, 2, 3, 4, 5], W: [1, 0, 1, 0, 2] } });
    expect(report.lossValue).toBe(1 + 3 + 10);
    expect(report.pass).toBe(true);
  });

  it("checks a non-scalar loss as the sum of its elements", () => {
    const graph: Graph = {
      name: "vector loss",
      nodes: [
        inputNode("x", [3]),
        node("W", "parameter", [], { shape: [3], init: "normal", std: 1 }),
        node("y", "test_scale", ["x", "W"]),
        node("loss", "tanh", ["y"]),
      ],
      loss: "loss",
    };
    // test_scale has no gradient rule: the checker reports autodiff's error, naming the node.
    expect(() => checkGradients(graph)).toThrow(/node "y".*no gradient rule/);
    const ok = withOp(graph, "y", "mul");
    const report = checkGradients(ok, { feeds: { x: [1, 2, 3], W: [0.5, -0.5, 0.25] } });
    expect(report.lossValue).toBeCloseTo(Math.tanh(0.5) + Math.tanh(-1) + Math.tanh(0.75), 14);
    expect(report.pass).toBe(true);
  });

  it("refuses what it cannot check, with errors naming the value", () => {
    expect(() => checkGradients(mlp, { wrt: ["z1"] })).toThrow(GraphError);
    expect(() => checkGradients(mlp, { wrt: ["z1"] })).toThrow(/"z1".*computed by op "add"/);
    expect(() => checkGradients(mlp, { wrt: ["nope"] })).toThrow(/"nope": no such node/);
    expect(() => checkGradients(mlp, { feeds: { nope: [1] } })).toThrow(/cannot feed "nope"/);
    expect(() => checkGradients({ ...mlp, loss: undefined } as Graph)).toThrow(/no loss/);
    expect(() => checkGradients(mlp, { feeds: { W1: [1, 2] } })).toThrow(/expected 30 values for "W1"/);
  });
});
