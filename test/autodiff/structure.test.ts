/**
 * The shape of the backward graph: what gets differentiated, how fan-out is summed, how gradients are named.
 */
import { describe, expect, it } from "vitest";
import { differentiate } from "../../src/autodiff/differentiate.js";
import { checkGradients } from "../../src/check/gradcheck.js";
import { GraphError } from "../../src/graph/errors.js";
import type { Graph, GraphNode } from "../../src/graph/ir.js";
import { inferShapes } from "../../src/graph-file/shapes.js";
import { inputNode, node } from "../support/run.js";

/** The report's network, plus a branch that does not reach the loss and a value computed from the input alone. */
const mlp: Graph = {
  name: "mlp",
  nodes: [
    inputNode("x", ["batch", 4], "features"),
    inputNode("labels", ["batch", 3], "labels"),
    node("W1", "parameter", [], { shape: [4, 5], init: "he_normal" }),
    node("b1", "parameter", [], { shape: [5], init: "zeros" }),
    node("W2", "parameter", [], { shape: [5, 3], init: "xavier_normal" }),
    node("b2", "parameter", [], { shape: [3], init: "zeros" }),
    node("xW1", "matmul", ["x", "W1"]),
    node("z1", "add", ["xW1", "b1"]),
    node("a1", "relu", ["z1"]),
    node("side", "tanh", ["a1"]),
    node("side_loss", "sum_to", ["side"], { shape: [] }),
    node("scaled_x", "sigmoid", ["x"]),
    node("a1W2", "matmul", ["a1", "W2"]),
    node("z2", "add", ["a1W2", "b2"]),
    node("loss", "softmax_cross_entropy", ["z2", "labels"]),
  ],
  loss: "loss",
};

const backward = (g: Graph, forward: Graph) => g.nodes.slice(forward.nodes.length);
const byId = (g: Graph) => new Map(g.nodes.map((n) => [n.id, n]));
/** Forward ids that some backward node differentiates, read from the backward ids (grad/<id>…). */
const differentiated = (nodes: readonly GraphNode[]) => new Set(nodes.map((n) => /^grad\/([A-Za-z0-9_]+)/.exec(n.id)![1]!));

describe("autodiff", () => {
  it("differentiates only nodes on a path from the loss to the parameters", () => {
    const g = differentiate(mlp);
    const added = backward(g, mlp);
    expect(g.nodes.slice(0, mlp.nodes.length)).toEqual(mlp.nodes);
    // (add passes its gradient through unchanged, so xW1 and a1W2 share the gradients of z1 and z2.)
    expect([...differentiated(added)].sort()).toEqual(["W1", "W2", "a1", "b1", "b2", "loss", "z1", "z2"]);
    // Nothing reads the dead branch, the labels or the input-only value.
    for (const n of added) for (const input of n.inputs) expect(["side", "side_loss", "scaled_x"]).not.toContain(input);
    const ids = byId(g);
    for (const id of ["labels", "x", "side", "side_loss", "scaled_x"]) expect(ids.has(`grad/${id}`)).toBe(false);
  });

  it("follows the report's backward pass: δ = (A − Y)/m, then dW = Aᵀδ and db = Σᵢ δ", () => {
    const g = differentiate(mlp);
    const ids = byId(g);
    expect(ids.get("grad/loss")).toMatchObject({ op: "constant", attrs: { shape: [], value: 1 } });
    expect(ids.get("grad/z2")).toMatchObject({ op: "softmax_cross_entropy_grad", inputs: ["z2", "labels", "grad/loss"] });
    expect(ids.get("grad/W2")).toMatchObject({ op: "matmul", inputs: ["a1", "grad/z2"], attrs: { transpose_a: true, transpose_b: false } });
    expect(ids.get("grad/b2")).toMatchObject({ op: "sum_to", inputs: ["grad/z2"], attrs: { shape: [3] } });
    expect(ids.get("grad/a1")).toMatchObject({ op: "matmul", inputs: ["grad/z2", "W2"], attrs: { transpose_a: false, transpose_b: true } });
    expect(ids.get("grad/z1")).toMatchObject({ op: "relu_grad", inputs: ["grad/a1", "z1"] });
    // The gradient rule of the first layer's matmul does not compute d/dx: nobody asked for it.
    expect(g.nodes.filter((n) => n.op === "matmul" && n.inputs.includes("W1"))).toHaveLength(1);
  });

  it("names each parameter's gradient in graph.gradients, with the parameter's shape", () => {
    const g = differentiate(mlp);
    expect(g.gradients).toEqual({ W1: "grad/W1", b1: "grad/b1", W2: "grad/W2", b2: "grad/b2" });
    const shapes = inferShapes(g);
    for (const [id, grad] of Object.entries(g.gradients!)) expect(shapes.get(grad)).toEqual(shapes.get(id));
  });

  it("sums the gradients of a value that feeds several nodes with add", () => {
    const graph: Graph = {
      name: "fan-out",
      nodes: [
        inputNode("x", [2, 3]),
        node("W", "parameter", [], { shape: [3, 3], init: "xavier_normal" }),
        node("h", "matmul", ["x", "W"]),
        node("a", "tanh", ["h"]),
        node("b", "sigmoid", ["h"]),
        node("c", "neg", ["h"]),
        node("ab", "mul", ["a", "b"]),
        node("abc", "sub", ["ab", "c"]),
        node("loss", "sum_to", ["abc"], { shape: [] }),
      ],
      loss: "loss",
    };
    const g = differentiate(graph);
    const ids = byId(g);
    // Three uses: two adds, the last one named grad/h.
    expect(ids.get("grad/h")).toMatchObject({ op: "add" });
    const parts = new Set<string>();
    const collect = (id: string) => {
      const n = ids.get(id)!;
      if (n.op === "add" && (id === "grad/h" || id.startsWith("grad/h+"))) n.inputs.forEach(collect);
      else parts.add(id);
    };
    collect("grad/h");
    expect([...parts].sort()).toEqual(["grad/h@a", "grad/h@b", "grad/h@c"]);
    expect(ids.get("grad/h@a")).toMatchObject({ op: "tanh_grad", inputs: ["grad/a", "a"] });
    expect(ids.get("grad/h@b")).toMatchObject({ op: "sigmoid_grad", inputs: ["grad/b", "b"] });
    expect(ids.get("grad/h@c")).toMatchObject({ op: "neg", inputs: ["grad/c"] });
    expect(checkGradients(graph).pass).toBe(true);
  });

  it("sums the gradients of a parameter used twice, including twice by one node", () => {
    const graph: Graph = {
      name: "tied",
      nodes: [
        inputNode("x", ["batch", 3]),
        node("W", "parameter", [], { shape: [3, 3], init: "xavier_normal" }),
        node("h", "matmul", ["x", "W"]),
        node("a", "tanh", ["h"]),
        node("o", "matmul", ["a", "W"]),
        node("WWt", "matmul", ["W", "W"], { transpose_b: true }),
        node("r", "sum_to", ["WWt"], { shape: [] }),
        node("s", "sum_to", ["o"], { shape: [] }),
        node("loss", "mul", ["s", "r"]),
      ],
      loss: "loss",
    };
    const g = differentiate(graph);
    const ids = byId(g);
    expect(ids.get("grad/W")).toMatchObject({ op: "add" });
    const contributions = g.nodes.filter((n) => n.id.startsWith("grad/W@"));
    expect(contributions.map((n) => n.id).sort()).toEqual(["grad/W@WWt", "grad/W@WWt#2", "grad/W@h", "grad/W@o"]);
    expect(checkGradients(graph, { maxChecksPerValue: Infinity }).pass).toBe(true);
  });

  it("builds only what the wanted gradients need", () => {
    const g = differentiate(mlp, { wrt: ["W2"] });
    expect([...differentiated(backward(g, mlp))].sort()).toEqual(["W2", "loss", "z2"]);
    expect(g.gradients).toEqual({ W2: "grad/W2" });
  });

  // This test used to expect a zero gradient for the labels. But the loss does depend on them (d loss/d y
  // = lse(z) − z for softmax_cross_entropy); the op only declines to differentiate them. A zero would be a
  // wrong number, so asking for it is now an error naming the input that blocks it.
  it("refuses the gradient of the labels, when asked for explicitly, naming the loss's input that has none", () => {
    expect(() => differentiate(mlp, { wrt: ["labels", "W2"] })).toThrow(GraphError);
    expect(() => differentiate(mlp, { wrt: ["labels", "W2"] })).toThrow(
      'graph: node "loss", field "inputs[1]": no gradient reaches "labels": its only path to the loss enters node "loss" (softmax_cross_entropy) through input "y", which has no gradient.',
    );
  });

  describe("a parameter whose every path to the loss runs through inputs without a gradient", () => {
    // loss = softmax_cross_entropy(z, softmax(x·W)): W only shapes the labels, so no gradient can reach it.
    const labelsOnly: Graph = {
      name: "labels only",
      nodes: [
        inputNode("x", ["batch", 4], "features"),
        node("V", "parameter", [], { shape: [4, 3], init: "xavier_normal" }),
        node("W", "parameter", [], { shape: [4, 3], init: "xavier_normal" }),
        node("z", "matmul", ["x", "V"]),
        node("xW", "matmul", ["x", "W"]),
        node("p", "softmax", ["xW"]),
        node("loss", "softmax_cross_entropy", ["z", "p"]),
      ],
      loss: "loss",
    };

    it("is refused, naming the parameter, the node and the input that blocks it", () => {
      expect(() => differentiate(labelsOnly)).toThrow(GraphError);
      expect(() => differentiate(labelsOnly)).toThrow(
        'graph: node "loss", field "inputs[1]": no gradient reaches "W": its only path to the loss enters node "loss" (softmax_cross_entropy) ' +
          'through input "y" (the value "p", computed from "W"), which has no gradient. The loss "loss" depends on "W", so a zero gradient would be wrong',
      );
      // The other parameter is fine: asked for alone, it gets its gradient.
      expect(differentiate(labelsOnly, { wrt: ["V"] }).gradients).toEqual({ V: "grad/V" });
    });

    it("names every blocking input when there are several (here cross_entropy's labels too)", () => {
      const twice: Graph = {
        ...labelsOnly,
        nodes: [
          ...labelsOnly.nodes.slice(0, -1),
          node("q", "softmax", ["z"]),
          node("l1", "softmax_cross_entropy", ["z", "p"]),
          node("l2", "cross_entropy", ["q", "p"]),
          node("loss", "add", ["l1", "l2"]),
        ],
      };
      expect(() => differentiate(twice)).toThrow(
        /no gradient reaches "W": each of its paths to the loss enters a node through an input that has no gradient: node "l1" \(softmax_cross_entropy\) through input "y" \(the value "p", computed from "W"\); node "l2" \(cross_entropy\) through input "y"/,
      );
    });

    it("is not refused when another path carries a gradient", () => {
      const alsoLogits: Graph = {
        ...labelsOnly,
        nodes: [...labelsOnly.nodes.slice(0, -1), node("zp", "add", ["z", "xW"]), node("loss", "softmax_cross_entropy", ["zp", "p"])],
      };
      const g = differentiate(alsoLogits);
      // (Only the part through the logits: the labels are treated as constants, as everywhere.)
      expect(byId(g).get(g.gradients!.W!)).toMatchObject({ op: "matmul", inputs: ["x", "grad/zp"] });
    });
  });

  it("gives a parameter the loss does not depend on a zero, and adds nothing else when no parameter reaches the loss", () => {
    const graph: Graph = {
      ...mlp,
      nodes: [...mlp.nodes, node("unused", "parameter", [], { shape: [2], init: "zeros" })],
    };
    const g = differentiate(graph);
    expect(byId(g).get(g.gradients!.unused!)).toMatchObject({ op: "constant", inputs: [], attrs: { shape: [2], value: 0 } });

    const g2 = differentiate(graph, { loss: "scaled_x", wrt: ["unused", "W1"] });
    expect(
      backward(g2, graph)
        .map((n) => n.id)
        .sort(),
    ).toEqual(["grad/W1", "grad/unused"]);
    for (const id of ["W1", "unused"]) expect(byId(g2).get(g2.gradients![id]!)!.attrs).toMatchObject({ value: 0 });
  });

  it("refuses to differentiate through an op without a gradient rule, naming the node", () => {
    const graph: Graph = {
      name: "no rule",
      nodes: [
        inputNode("x", [3]),
        node("W", "parameter", [], { shape: [3], init: "zeros" }),
        node("g", "relu_grad", ["W", "x"]),
        node("loss", "sum_to", ["g"], { shape: [] }),
      ],
      loss: "loss",
    };
    expect(() => differentiate(graph)).toThrow(GraphError);
    expect(() => differentiate(graph)).toThrow(/node "g".*op "relu_grad" has no gradient rule.*W/);
  });
});
