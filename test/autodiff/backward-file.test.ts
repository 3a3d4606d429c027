/**
 * The backward graph is an ordinary graph file: written as JSON (as `graphnet inspect --backward --json`
 * prints it), it loads, validates, plans and runs to the same numbers as the graph autodiff returned.
 */
import { describe, expect, it } from "vitest";
import { differentiate } from "../../src/autodiff/differentiate.js";
import { Executor } from "../../src/exec/executor.js";
import { initializeParameters } from "../../src/exec/initialize.js";
import { compilePlan } from "../../src/exec/plan.js";
import { GraphError } from "../../src/graph/errors.js";
import type { Graph } from "../../src/graph/ir.js";
import { loadGraphFile, parseGraph } from "../../src/graph-file/load.js";
import { inferShapes } from "../../src/graph-file/shapes.js";
import { validateGraph } from "../../src/graph-file/validate.js";
import { Random } from "../../src/util/random.js";

const MNIST = "graphs/mnist.graph.json";
const BATCH = 8;

/** Loss and every gradient of `graph`, at the same parameters and batch whatever the graph's node order. */
function lossAndGradients(graph: Graph): Record<string, Float64Array> {
  const outputs = ["loss", ...Object.values(graph.gradients!)];
  const executor = new Executor(compilePlan(graph, { outputs, sizes: { batch: BATCH }, dtype: "float64" }));
  initializeParameters(executor, graph, 7);
  const random = new Random(11);
  executor.feed(
    "x",
    Float64Array.from({ length: BATCH * 784 }, () => random.uniform()),
  );
  const y = new Float64Array(BATCH * 10);
  for (let i = 0; i < BATCH; i++) y[i * 10 + random.int(10)] = 1;
  executor.feed("y", y);
  executor.run({ training: false });
  return Object.fromEntries([["loss", executor.read("loss")], ...Object.entries(graph.gradients!).map(([id, grad]) => [id, executor.read(grad)])]);
}

describe("a differentiated graph as a file", () => {
  const backward = differentiate(loadGraphFile(MNIST));

  it("is written as JSON, read back by parseGraph unchanged, and runs to the same loss and gradients", () => {
    // What `graphnet inspect --backward --json` prints.
    const text = `${JSON.stringify({ $schema: "./graph.schema.json", ...backward }, null, 2)}\n`;
    const loaded = parseGraph(text, "mnist.backward.json");
    expect(loaded).toEqual(backward);
    expect(Object.keys(loaded.gradients!).sort()).toEqual(["W1", "W2", "W3", "b1", "b2", "b3"]);

    const expected = lossAndGradients(backward);
    const actual = lossAndGradients(loaded);
    expect(expected.loss![0]).toBeGreaterThan(0);
    for (const id of ["W1", "b1", "W2", "b2", "W3", "b3"])
      expect(
        expected[id]!.some((v) => v !== 0),
        `${id} has a non-zero gradient`,
      ).toBe(true);
    expect(actual).toEqual(expected);
  });

  it("can be differentiated again: a second backward pass with ids of its own, none repeated, to the same gradients", () => {
    const twice = differentiate(backward);
    const ids = twice.nodes.map((n) => n.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(twice.nodes.slice(0, backward.nodes.length)).toEqual(backward.nodes);
    expect(twice.gradients).toEqual(Object.fromEntries(Object.keys(backward.gradients!).map((id) => [id, `grad/${id}#2`])));
    expect(() => validateGraph(twice)).not.toThrow();
    expect(parseGraph(JSON.stringify(twice), "twice.json")).toEqual(twice);
    expect(lossAndGradients(twice)).toEqual(lossAndGradients(backward));
  });

  it('refuses "grad/" ids in a graph without "gradients": a person\'s graph cannot take autodiff\'s names', () => {
    const { gradients: _, ...withoutGradients } = backward;
    expect(() => validateGraph(withoutGradients)).toThrow(GraphError);
    expect(() => validateGraph(withoutGradients)).toThrow(
      /node "grad\/loss", field "id": the character "\/" is reserved for the backward nodes autodiff adds .* they appear only in a differentiated graph, one with "gradients"/,
    );
  });

  it("checks each entry of gradients: existing nodes, and a gradient of its value's shape", () => {
    const graphErrorOf = (gradients: Record<string, string>) => {
      try {
        validateGraph({ ...backward, gradients }, "mnist.backward.json");
      } catch (err) {
        expect(err).toBeInstanceOf(GraphError);
        return (err as GraphError).message;
      }
      throw new Error("expected a GraphError");
    };
    expect(graphErrorOf({ ...backward.gradients, W1: "grad/W2" })).toBe(
      'mnist.backward.json: field "gradients["W1"]": the gradient of "W1" must have its shape, [784, 128], but node "grad/W2" has shape [128, 64].',
    );
    expect(graphErrorOf({ ...backward.gradients, W1: "grad/W9" })).toMatch(
      /^mnist\.backward\.json: field "gradients\["W1"\]": refers to "grad\/W9", but no node has that id\. Did you mean "grad\/W[0-9]"\?$/,
    );
    expect(graphErrorOf({ ...backward.gradients, W4: "grad/W1" })).toMatch(
      /^mnist\.backward\.json: field "gradients\["W4"\]": names the gradient of "W4", but no node has that id\./,
    );
    // A key that is also the name of an object property stays a key, and is no node.
    expect(graphErrorOf(JSON.parse('{"__proto__": "grad/W1"}') as Record<string, string>)).toContain(
      'field "gradients["__proto__"]": names the gradient of "__proto__", but no node has that id.',
    );
    // Shapes are compared symbolically: grad/z1 has z1's [batch, 128].
    const shapes = inferShapes(backward);
    expect(shapes.get("grad/z1")).toEqual(["batch", 128]);
    expect(() => validateGraph({ ...backward, gradients: { ...backward.gradients, z1: "grad/z1" } })).not.toThrow();
    expect(graphErrorOf({ ...backward.gradients, z1: "grad/z2" })).toContain('must have its shape, [batch, 128], but node "grad/z2" has shape [batch, 64]');
  });

  it("still holds forward ids to the strict pattern, and backward ids to theirs", () => {
    const rename = (from: string, to: string): Graph => ({
      ...backward,
      nodes: backward.nodes.map((n) => ({ ...n, id: n.id === from ? to : n.id, inputs: n.inputs.map((i) => (i === from ? to : i)) })),
      gradients: Object.fromEntries(Object.entries(backward.gradients!).map(([k, v]) => [k, v === from ? to : v])),
    });
    expect(() => validateGraph(rename("grad/W1", "grad/W1@xW1#2"))).not.toThrow();
    expect(() => validateGraph(rename("grad/W1", "grad/W 1"))).toThrow(
      /node "grad\/W 1", field "id": the id contains the character " "\. The id of a backward node is "grad\/" followed by/,
    );
    expect(() => validateGraph(rename("grad/W1", "grad/"))).toThrow(/the id has nothing after the prefix/);
    expect(() => validateGraph(rename("xW1", "x@W1"))).toThrow(
      /node "x@W1", field "id": the character "@" is reserved .* they appear only in ids that start with "grad\/"/,
    );
    // "/" joins a block's use and its node (hidden1/W), never with an empty side or under "grad".
    expect(() => validateGraph(rename("xW1", "x//W1"))).toThrow(/field "id": the character "\/" is reserved/);
    expect(() => validateGraph(rename("xW1", "layer1/xW1"))).not.toThrow();
  });
});
