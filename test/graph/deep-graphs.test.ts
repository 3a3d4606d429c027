/**
 * Graphs far deeper than any network: a chain of 100,000 nodes must load, validate, be summarised and
 * refused where it cannot be drawn without any algorithm overflowing the stack — every walk over the
 * graph is a loop, never a recursion as deep as the graph.
 */
import { describe, expect, it } from "vitest";
import { describeGraph } from "../../cli/commands/inspect.js";
import { withoutIdentityDropout } from "../../src/graph/configure.js";
import type { Graph, GraphNode } from "../../src/graph/ir.js";
import { parseGraph } from "../../src/graph-file/load.js";
import { renderGraphSvg } from "../../viz/graph.js";

const LENGTH = 100_000;

/** x·W, then LENGTH nodes of `op`, each consuming the one before (h1 … h100000), and a loss on the last. */
function chain(op: string): GraphNode[] {
  const nodes: GraphNode[] = [
    { id: "x", op: "input", inputs: [], attrs: { shape: ["batch", 4], feed: "features" } },
    { id: "y", op: "input", inputs: [], attrs: { shape: ["batch", 4], feed: "labels" } },
    { id: "W", op: "parameter", inputs: [], attrs: { shape: [4, 4], init: "xavier_normal" } },
    { id: "h0", op: "matmul", inputs: ["x", "W"], attrs: {} },
  ];
  for (let i = 1; i <= LENGTH; i++) nodes.push({ id: `h${i}`, op, inputs: [`h${i - 1}`], attrs: {} });
  nodes.push({ id: "loss", op: "softmax_cross_entropy", inputs: [`h${LENGTH}`, "y"], attrs: {} });
  return nodes;
}

/** A graph file with one node per line: nodes[i] on line i + 4. */
function fileText(nodes: readonly GraphNode[]): string {
  return `{\n  "name": "chain",\n  "nodes": [\n${nodes.map((n) => `    ${JSON.stringify(n)}`).join(",\n")}\n  ],\n  "loss": "loss"\n}\n`;
}

describe(`a chain of ${LENGTH.toLocaleString("en-US")} nodes`, () => {
  it("loads, validates and is summarised by inspect", () => {
    const graph = parseGraph(fileText(chain("tanh")), "chain.json");
    const summary = describeGraph("chain.json", graph, undefined);
    expect(summary.split("\n", 1)[0]).toBe(`chain (chain.json): 100,005 nodes, loss "loss"`);
    expect(summary).toMatch(/^h100000\s+tanh\s+h99999\s+\[batch, 4\]$/m);
    expect(summary).toMatch(/^loss\s+softmax_cross_entropy\s+h100000, y\s+\[\]$/m);
  });

  it("closed into a cycle, is refused with the cycle named, abbreviated, at the node that closes it", () => {
    const nodes = chain("tanh");
    nodes[4] = { ...nodes[4]!, inputs: [`h${LENGTH}`] }; // h1 consumes the last node
    expect(() => parseGraph(fileText(nodes), "cycle.json")).toThrow(
      `cycle.json:8:38: node "h1", field "inputs[0]": the graph has a cycle, h1 → h2 → h3 → h4 → h5 → … 99,993 more … → h99999 → h100000 → h1: ` +
        `each of these nodes waits for the one before it, so none could ever be computed. A dataflow graph must be acyclic.`,
    );
  });

  it("of identity dropouts is removed, the loss reading the value before them", () => {
    const graph: Graph = { name: "dropouts", nodes: chain("dropout"), loss: "loss" };
    const planned = withoutIdentityDropout(graph);
    expect(planned.nodes.map((n) => n.id)).toEqual(["x", "y", "W", "h0", "loss"]);
    expect(planned.nodes.at(-1)!.inputs).toEqual(["h0", "y"]);
  });

  it("is refused by render, which lays out at most 1,000 nodes, with a message saying so", () => {
    const graph: Graph = { name: "chain", nodes: chain("tanh"), loss: "loss" };
    expect(() => renderGraphSvg(graph)).toThrow(/the picture would hold 100,005 nodes, more than the 1,000 a graph picture is laid out for/);
  });
});
