/** Shared by the graph and graph-file tests: small valid graphs, and assertions on GraphErrors. */
import { readFileSync } from "node:fs";
import { expect } from "vitest";
import { GraphError } from "../../src/graph/errors.js";
import type { Graph } from "../../src/graph/ir.js";

export const MNIST_FILE = "graphs/mnist.graph.json";
export const mnistText = (): string => readFileSync(MNIST_FILE, "utf8");

/** A small valid graph, one layer with a relu, built only from the engine's first ops. */
export function tinyGraph(): Graph {
  return {
    name: "tiny",
    nodes: [
      { id: "x", op: "input", inputs: [], attrs: { shape: ["batch", 3], feed: "features" } },
      { id: "W", op: "parameter", inputs: [], attrs: { shape: [3, 2], init: "he_normal" } },
      { id: "b", op: "parameter", inputs: [], attrs: { shape: [2], init: "zeros" } },
      { id: "xW", op: "matmul", inputs: ["x", "W"], attrs: {} },
      { id: "z", op: "add", inputs: ["xW", "b"], attrs: {} },
      { id: "a", op: "relu", inputs: ["z"], attrs: {} },
      { id: "loss", op: "sum_to", inputs: ["a"], attrs: { shape: [] } },
    ],
    loss: "loss",
    outputs: { activations: "a" },
  };
}

/** tinyGraph as a file would write it: no empty inputs or attrs, one node per line. */
export function tinyText(): string {
  const lines = tinyGraph().nodes.map((n) => {
    const parts = [`"id": "${n.id}"`, `"op": "${n.op}"`];
    if (n.inputs.length > 0) parts.push(`"inputs": ${JSON.stringify(n.inputs)}`);
    if (Object.keys(n.attrs).length > 0) parts.push(`"attrs": ${JSON.stringify(n.attrs)}`);
    return `    { ${parts.join(", ")} }`;
  });
  return `{\n  "$schema": "./graph.schema.json",\n  "name": "tiny",\n  "nodes": [\n${lines.join(",\n")}\n  ],\n  "loss": "loss",\n  "outputs": { "activations": "a" }\n}\n`;
}

/** A copy of a graph with some of its nodes changed. */
export function withNodes(graph: Graph, change: (nodes: Graph["nodes"][number][]) => void): Graph {
  const copy = structuredClone(graph) as Graph & { nodes: Graph["nodes"][number][] };
  change(copy.nodes);
  return copy;
}

/** Runs `action`, expects a GraphError, and returns its message after checking it holds every fragment. */
export function graphErrorOf(action: () => unknown, ...fragments: (string | RegExp)[]): string {
  let caught: unknown;
  try {
    action();
  } catch (err) {
    caught = err;
  }
  expect(caught, "expected a GraphError, but nothing was thrown").toBeInstanceOf(GraphError);
  const message = (caught as GraphError).message;
  for (const fragment of fragments) {
    if (typeof fragment === "string") expect(message).toContain(fragment);
    else expect(message).toMatch(fragment);
  }
  return message;
}

/** "line:column" (1-based) where `needle` first occurs in `text`, after `after` when given. */
export function positionOf(text: string, needle: string, after = ""): string {
  const anchor = text.indexOf(after);
  const offset = text.indexOf(needle, anchor + after.length);
  if (anchor < 0 || offset < 0) throw new Error(`test setup: ${JSON.stringify(needle)} not found`);
  const before = text.slice(0, offset).split("\n");
  return `${before.length}:${before[before.length - 1]!.length + 1}`;
}

/** Replaces exactly one occurrence of `from`, so a test's edit cannot silently miss. */
export function replaceOnce(text: string, from: string, to: string): string {
  const at = text.indexOf(from);
  if (at < 0 || text.indexOf(from, at + 1) >= 0) throw new Error(`test setup: ${JSON.stringify(from)} must occur exactly once`);
  return text.slice(0, at) + to + text.slice(at + from.length);
}
