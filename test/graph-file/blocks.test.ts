/**
 * Blocks in graph files: expanded on loading into plain nodes with readable ids, computing what the same
 * graph written node by node computes; every mistake in a block or a use of one is an error placed in
 * the file.
 */
import { readFileSync } from "node:fs";
import { Ajv } from "ajv";
import { describe, expect, it } from "vitest";
import { compilePlan, Executor, parseGraph, type Graph } from "../../src/index.js";
import { blockGroups } from "../../src/graph-file/blocks.js";
import { graphDocumentSchema } from "../../src/graph-file/document-schema.js";
import { graphErrorOf, positionOf, replaceOnce } from "../graph/helpers.js";

const BLOCKS_FILE = "graphs/mnist-blocks.graph.json";
const blocksText = readFileSync(BLOCKS_FILE, "utf8");
const FILE = "net.graph.json";
const parse = (text: string) => () => parseGraph(text, FILE);

/** A small file with a dense block used twice, and a block using it, for the error cases. */
const small = JSON.stringify(
  {
    name: "small",
    blocks: {
      dense: {
        inputs: ["x"],
        attrs: { units: { type: "integer", minimum: 1 }, activation: { type: "string", default: "relu" } },
        nodes: [
          { id: "W", op: "parameter", attrs: { shape: [{ $dim: ["x", -1] }, { $attr: "units" }], init: "he_normal" } },
          { id: "xW", op: "matmul", inputs: ["x", "W"] },
          { id: "a", op: { $attr: "activation" }, inputs: ["xW"] },
        ],
        output: "a",
      },
      pair: {
        inputs: ["x"],
        attrs: { units: { type: "integer" } },
        nodes: [
          { id: "first", block: "dense", inputs: ["x"], attrs: { units: { $attr: "units" } } },
          { id: "second", block: "dense", inputs: ["first"], attrs: { units: 3, activation: "tanh" } },
        ],
        output: "second",
      },
    },
    nodes: [
      { id: "x", op: "input", attrs: { shape: ["batch", 5] } },
      { id: "one", block: "dense", inputs: ["x"], attrs: { units: 4 } },
      { id: "two", block: "pair", inputs: ["one"], attrs: { units: 6 } },
      { id: "out", op: "relu", inputs: ["two"] },
      // A dense use whose $dim needs the shape of a plain node that reads an earlier use.
      { id: "three", block: "dense", inputs: ["out"], attrs: { units: 2 } },
    ],
    outputs: { out: "out" },
  },
  null,
  2,
);

describe("a graph file with blocks", () => {
  it("loads as plain nodes with the use's id before each block node's, and refers to a use by its output", () => {
    const graph = parseGraph(small, FILE);
    expect(graph.nodes.map((n) => n.id)).toEqual([
      "x",
      "one/W",
      "one/xW",
      "one/a",
      "two/first/W",
      "two/first/xW",
      "two/first/a",
      "two/second/W",
      "two/second/xW",
      "two/second/a",
      "out",
      "three/W",
      "three/xW",
      "three/a",
    ]);
    expect(graph.nodes.find((n) => n.id === "three/W")!.attrs.shape).toEqual([3, 2]);
    const byId = new Map(graph.nodes.map((n) => [n.id, n]));
    expect(byId.get("one/W")!.attrs.shape).toEqual([5, 4]);
    expect(byId.get("two/first/W")!.attrs.shape).toEqual([4, 6]);
    expect(byId.get("two/second/W")!.attrs.shape).toEqual([6, 3]);
    expect(byId.get("two/second/a")!.op).toBe("tanh");
    expect(byId.get("two/first/xW")!.inputs).toEqual(["one/a", "two/first/W"]);
    expect(byId.get("out")!.inputs).toEqual(["two/second/a"]);
    expect(blockGroups(graph).map((g) => [g.id, g.block, g.nodes.length])).toEqual([
      ["one", "dense", 3],
      ["two/first", "dense", 3],
      ["two/second", "dense", 3],
      ["two", "pair", 6],
      ["three", "dense", 3],
    ]);
  });

  it("computes the report's network as the file written node by node does, given the same weights", () => {
    const withBlocks = parseGraph(blocksText, BLOCKS_FILE);
    const plain = parseGraph(readFileSync("graphs/mnist.graph.json", "utf8"), "graphs/mnist.graph.json");
    const names: Record<string, string> = { "hidden1/W": "W1", "hidden1/b": "b1", "hidden2/W": "W2", "hidden2/b": "b2", "out/W": "W3", "out/b": "b3" };
    // The same weights in both, each parameter reached by its id in that graph.
    const run = (graph: Graph, idOf: (blockId: string) => string) => {
      const executor = new Executor(compilePlan(graph, { outputs: ["probs"], sizes: { batch: 3 } }));
      for (const [blockId, plainId] of Object.entries(names)) {
        const view = executor.view(idOf(blockId));
        for (let i = 0; i < view.length; i++) view[i] = Math.sin(i * 0.37 + plainId.charCodeAt(1));
      }
      const x = executor.view("x");
      for (let i = 0; i < x.length; i++) x[i] = (i % 7) / 7;
      executor.run();
      return Array.from(executor.view("probs"));
    };
    const fromBlocks = run(withBlocks, (name) => name);
    const fromPlain = run(plain, (name) => names[name]!);
    expect(fromBlocks).toEqual(fromPlain);
    expect(withBlocks.nodes.filter((n) => n.op === "parameter").map((n) => [n.id, n.attrs.shape, n.attrs.init])).toEqual([
      ["hidden1/W", [784, 128], "he_normal"],
      ["hidden1/b", [128], "zeros"],
      ["hidden2/W", [128, 64], "xavier_normal"],
      ["hidden2/b", [64], "zeros"],
      ["out/W", [64, 10], "xavier_normal"],
      ["out/b", [10], "zeros"],
    ]);
  });

  it("is valid for the editor schema, which also knows blocks", () => {
    const validate = new Ajv({ strict: false }).compile(graphDocumentSchema());
    expect(validate(JSON.parse(blocksText)), JSON.stringify(validate.errors)).toBe(true);
    expect(validate(JSON.parse(small)), JSON.stringify(validate.errors)).toBe(true);
  });
});

describe("a mistake in a block or its use", () => {
  const cases: [string, string, string, [string, string?], ...string[]][] = [
    // [what, text replaced, replacement, [where the error points, after what], fragments…]
    ["an unknown block", '"block": "pair"', '"block": "pear"', ['"pear"'], '"pear" is not a block of this file (its blocks: dense, pair)'],
    ["a missing attribute", '"attrs": {\n        "units": 4\n      }', '"attrs": {}', ["{}"], 'attributes of block "dense", "units": is required'],
    ["an attribute of the wrong type", '"units": 4', '"units": "four"', ['"four"'], 'attributes of block "dense", "units": must be an integer'],
    [
      "an attribute the block does not have",
      '"units": 4',
      '"units": 4, "unit": 4',
      ["4", '"unit": '],
      'attributes of block "dense", "unit": is not a known field',
    ],
    ["too many inputs", '"inputs": [\n        "one"\n      ]', '"inputs": ["one", "x"]', ['["one", "x"]'], 'block "pair" takes one input (x)'],
    ["an $attr the block lacks", '"$attr": "activation"', '"$attr": "activatoin"', ["{", '"id": "a",'], '{"$attr": "activatoin"} names no attribute'],
    ["an axis $dim does not have", '"x",\n                  -1', '"x", 2', ["{", '"shape": ['], "has shape [batch, 5], which has no axis 2"],
    ["a $dim of a name that is not an input", '"x",\n                  -1', '"y", -1', ["{", '"shape": ['], "takes one of the block's inputs (x)"],
    ["a use named grad", '"id": "one"', '"id": "grad"', ['"grad"'], 'cannot be named "grad"'],
    ["a use and a node with one id", '"id": "two"', '"id": "out"', ['"out",\n      "op": "relu"'], '"out" names both a use of block "pair" and a node'],
    ["an op and a block in one node", '"block": "pair"', '"block": "pair", "op": "relu"', ['"pair", "op"'], "names either an op or a block, not both"],
  ];

  it.each(cases)("%s is refused, placed in the file", (_what, from, to, [where, after], ...fragments) => {
    const broken = replaceOnce(small, from, to);
    graphErrorOf(parse(broken), `${FILE}:${positionOf(broken, where, after)}:`, ...fragments);
  });

  it("a block that uses itself, through another, is refused naming the chain", () => {
    const broken = replaceOnce(small, '"id": "second",\n          "block": "dense"', '"id": "second",\n          "block": "pair"');
    graphErrorOf(parse(broken), 'block "pair" uses itself (pair → pair)');
  });

  it("a use that needs the shape of a node listed after it says to list that node first", () => {
    const broken = replaceOnce(
      small,
      '"inputs": [\n        "x"\n      ],\n      "attrs": {\n        "units": 4',
      '"inputs": [\n        "out"\n      ],\n      "attrs": {\n        "units": 4',
    );
    graphErrorOf(parse(broken), 'needs the shape of "out", which is not defined before it in the file; list "out" first');
  });

  it("an error in an expanded node is placed at the block's definition of it", () => {
    // A relu given two inputs: found by validation, on node "one/a", at the block's node "a".
    const broken = replaceOnce(small, '"inputs": [\n            "xW"\n          ]', '"inputs": ["xW", "x"]');
    graphErrorOf(parse(broken), `${FILE}:${positionOf(broken, '["xW", "x"]')}:`, 'node "one/a"');
  });
});
