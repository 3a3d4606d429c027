/**
 * Topological order and cycles for ids that are also names of object properties. Validation refuses
 * such ids in files, but autodiff and the planner take graphs built in code, and graphology keeps
 * neighbours in plain objects, where "toString" or "__proto__" would find an inherited property.
 */
import { describe, expect, it } from "vitest";
import { differentiate } from "../../src/autodiff/differentiate.js";
import type { Graph } from "../../src/graph/ir.js";
import { findCycle, topologicalOrder } from "../../src/graph/topology.js";
import { inputNode, node, run } from "../support/run.js";

const AWKWARD = ["toString", "__proto__", "constructor", "hasOwnProperty", "valueOf"];

describe.each(AWKWARD)("a graph built in code with a node %j", (odd) => {
  // Listed consumers first, so that only the edges give the order.
  const graph: Graph = {
    name: "awkward",
    nodes: [
      node("loss", "sum_to", ["y"], { shape: [] }),
      node("y", "tanh", [odd]),
      node(odd, "mul", ["x", "W"]),
      node("W", "parameter", [], { shape: [3], init: "normal", std: 1 }),
      inputNode("x", [3]),
    ],
    loss: "loss",
  };

  it("is ordered by its edges", () => {
    const order = topologicalOrder(graph);
    expect([...order].sort()).toEqual(["W", "loss", odd, "x", "y"].sort());
    const at = (id: string) => order.indexOf(id);
    expect(at("x")).toBeLessThan(at(odd));
    expect(at("W")).toBeLessThan(at(odd));
    expect(at(odd)).toBeLessThan(at("y"));
    expect(at("y")).toBeLessThan(at("loss"));
    expect(findCycle(graph)).toBeNull();
  });

  it("has its cycles found", () => {
    const cyclic: Graph = { name: "cycle", nodes: [node("a", "tanh", [odd]), node(odd, "tanh", ["a"])] };
    const cycle = findCycle(cyclic)!;
    expect(cycle).toHaveLength(2);
    expect([...cycle].sort()).toEqual(["a", odd].sort());
    expect(findCycle({ name: "self", nodes: [node(odd, "tanh", [odd])] })).toEqual([odd]);
  });

  it("is differentiated, planned and run", () => {
    const g = differentiate(graph);
    expect(Object.keys(g.gradients!)).toEqual(["W"]);
    const x = [1, 2, 3];
    const W = [0.5, -0.25, 0.1];
    const out = run(g, { outputs: ["loss", g.gradients!.W!], feeds: { x, W } });
    const t = x.map((xi, i) => Math.tanh(xi * W[i]!));
    expect(out.loss![0]).toBeCloseTo(t[0]! + t[1]! + t[2]!, 14);
    // d/dW Σ tanh(x ⊙ W) = x ⊙ (1 − tanh²).
    [...out[g.gradients!.W!]!].forEach((d, i) => expect(d).toBeCloseTo(x[i]! * (1 - t[i]! ** 2), 14));
  });
});

describe("topological order", () => {
  it("breaks ties by the order of the nodes", () => {
    const graph: Graph = { name: "ties", nodes: [inputNode("b", [1]), inputNode("a", [1]), node("c", "add", ["a", "b"]), inputNode("d", [1])] };
    expect(topologicalOrder(graph)).toEqual(["b", "a", "d", "c"]);
  });
});
