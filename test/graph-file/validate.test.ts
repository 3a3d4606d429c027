import { describe, expect, it } from "vitest";
import type { Graph } from "../../src/graph/ir.js";
import { MAX_TENSOR_ELEMENTS } from "../../src/graph-file/shapes.js";
import { MAX_PARAMETER_ELEMENTS, validateGraph } from "../../src/graph-file/validate.js";
import { graphErrorOf, tinyGraph, withNodes } from "../graph/helpers.js";

const FILE = "tiny.graph.json";
const check =
  (graph: unknown, file = FILE) =>
  () =>
    validateGraph(graph as Graph, file);

describe("validateGraph accepts", () => {
  it("a valid graph built in code", () => {
    expect(() => validateGraph(tinyGraph())).not.toThrow();
  });

  it("a graph without loss, outputs or training", () => {
    const { loss: _loss, outputs: _outputs, ...bare } = tinyGraph();
    expect(() => validateGraph(bare)).not.toThrow();
  });

  it("nodes listed before their inputs", () => {
    expect(() => validateGraph({ ...tinyGraph(), nodes: [...tinyGraph().nodes].reverse() })).not.toThrow();
  });
});

describe("the document's structure", () => {
  it("names the file, even for a graph built in code", () => {
    graphErrorOf(check(null, "graph"), /^graph: the document must be an object \(found null\)\.$/);
    graphErrorOf(check([]), `${FILE}: the document must be an object (found []).`);
  });

  it("a missing name or nodes", () => {
    graphErrorOf(check({ nodes: tinyGraph().nodes }), `${FILE}: field "name": is required but missing.`);
    graphErrorOf(check({ name: "n" }), `${FILE}: field "nodes": is required but missing.`);
  });

  it("an unknown top-level field, suggesting the known one", () => {
    graphErrorOf(check({ ...tinyGraph(), output: { a: "a" } }), `${FILE}: field "output": is not a known field here. Did you mean "outputs"?`);
  });

  it("a node without inputs or attrs (the loader fills them in; code must)", () => {
    const graph = withNodes(tinyGraph(), (nodes) => {
      nodes[5] = { id: "a", op: "relu", attrs: {} } as never;
    });
    graphErrorOf(check(graph), `${FILE}: node "a", field "inputs": is required but missing.`);
  });

  it("a field of the wrong type, saying what was found", () => {
    const graph = withNodes(tinyGraph(), (nodes) => {
      nodes[5] = { ...nodes[5]!, inputs: "z" as never };
    });
    graphErrorOf(check(graph), `node "a", field "inputs": must be an array (found "z").`);
  });

  it("a node that is not an object, by its position", () => {
    graphErrorOf(check({ name: "n", nodes: [42] }), `${FILE}: field "nodes[0]": must be an object (found 42).`);
  });

  it("a node without an id, by its position", () => {
    graphErrorOf(check({ name: "n", nodes: [{ op: "relu", inputs: [], attrs: {} }] }), `field "nodes[0].id": is required but missing.`);
  });

  it("values JSON cannot hold, in a graph built in code", () => {
    const nan = withNodes(tinyGraph(), (nodes) => {
      nodes[1] = { ...nodes[1]!, attrs: { shape: [3, 2], init: "normal", std: Number.NaN } };
    });
    graphErrorOf(check(nan), `node "W", field "attrs.std": must be a finite number (found NaN).`);
    const infinite = withNodes(tinyGraph(), (nodes) => {
      nodes[1] = { ...nodes[1]!, attrs: { shape: [3, Infinity], init: "zeros" } };
    });
    graphErrorOf(check(infinite), `node "W", field "attrs.shape[1]": must be a finite number (found Infinity).`);
    const date = { ...tinyGraph(), description: new Date(0) };
    graphErrorOf(check(date), `field "description": must be plain JSON data (found an instance of Date).`);
    const circular: Record<string, unknown> = { ...tinyGraph() };
    circular.training = { self: circular };
    graphErrorOf(check(circular), `field "training.self": must be plain JSON data (found a reference to an object that contains it).`);
  });
});

describe("ids", () => {
  it("a duplicate id, naming both positions", () => {
    const graph = withNodes(tinyGraph(), (nodes) => {
      nodes[4] = { ...nodes[4]!, id: "xW" };
    });
    graphErrorOf(check(graph), `${FILE}: node "xW", field "id": the id "xW" is used twice: by nodes[3] and by nodes[4].`);
  });

  it.each([
    ["grad/W", 'the character "/" is reserved for the backward nodes autodiff adds'],
    ["v@n", 'the character "@" is reserved'],
    ["a+b", 'the character "+" is reserved'],
    ["#1", 'the character "#" is reserved'],
    ["1st", 'the id starts with "1"'],
    ["my layer", 'the id contains the character " "'],
    ["", "the id is empty"],
  ])("an id like %j", (id, reason) => {
    const graph = withNodes(tinyGraph(), (nodes) => {
      nodes[5] = { ...nodes[5]!, id };
      nodes[6] = { ...nodes[6]!, inputs: [id] };
    });
    const message = graphErrorOf(check(graph), `field "id": ${reason}`, 'An id starts with a letter or "_"');
    if (id !== "") expect(message).toContain(`node "${id}"`);
  });

  it.each(["constructor", "toString", "__proto__"])("the id %j, which plain objects already have", (id) => {
    const graph = withNodes(tinyGraph(), (nodes) => {
      nodes[5] = { ...nodes[5]!, id };
      nodes[6] = { ...nodes[6]!, inputs: [id] };
    });
    graphErrorOf(check(graph), `node "${id}", field "id": "${id}" is the name of a property every JavaScript object has`);
  });

  it("accepts ids with dots, dashes and underscores", () => {
    const graph = withNodes(tinyGraph(), (nodes) => {
      nodes[5] = { ...nodes[5]!, id: "_layer-1.act" };
      nodes[6] = { ...nodes[6]!, inputs: ["_layer-1.act"] };
    });
    expect(() => validateGraph({ ...graph, outputs: { a: "_layer-1.act" } })).not.toThrow();
  });
});

describe("ops and wiring", () => {
  it("an unknown op, suggesting the closest registered name", () => {
    const graph = withNodes(tinyGraph(), (nodes) => {
      nodes[5] = { ...nodes[5]!, op: "rleu" };
    });
    graphErrorOf(check(graph), `${FILE}: node "a", field "op": unknown op "rleu". Did you mean "relu"?`);
  });

  it("an unknown op with nothing close, listing the registered ones", () => {
    const graph = withNodes(tinyGraph(), (nodes) => {
      nodes[5] = { ...nodes[5]!, op: "convolution" };
    });
    graphErrorOf(check(graph), 'unknown op "convolution". The registered ops are ', "matmul", "registerOp");
  });

  it("the wrong number of inputs", () => {
    const graph = withNodes(tinyGraph(), (nodes) => {
      nodes[4] = { ...nodes[4]!, inputs: ["xW"] };
    });
    graphErrorOf(check(graph), `${FILE}: node "z", field "inputs": the op "add" takes 2 inputs (a, b), found 1: ["xW"].`);
    const source = withNodes(tinyGraph(), (nodes) => {
      nodes[0] = { ...nodes[0]!, inputs: ["W"] };
    });
    graphErrorOf(check(source), `node "x", field "inputs": the op "input" takes no inputs, found 1: ["W"].`);
  });

  it("an input naming no node, suggesting the closest id", () => {
    const graph = withNodes(tinyGraph(), (nodes) => {
      nodes[4] = { ...nodes[4]!, inputs: ["xW", "bb"] };
    });
    graphErrorOf(check(graph), `${FILE}: node "z", field "inputs[1]": refers to "bb", but no node has that id. Did you mean "b"?`);
  });
});

describe("attributes, against the op's own schema", () => {
  it("a missing attribute", () => {
    const graph = withNodes(tinyGraph(), (nodes) => {
      nodes[1] = { ...nodes[1]!, attrs: { shape: [3, 2] } };
    });
    graphErrorOf(check(graph), `${FILE}: node "W", field "attrs.init": is required but missing.`);
  });

  it("an attribute out of range", () => {
    const graph = withNodes(tinyGraph(), (nodes) => {
      nodes[5] = { id: "a", op: "dropout", inputs: ["z"], attrs: { rate: 1 } };
    });
    graphErrorOf(check(graph), `node "a", field "attrs.rate": must be < 1 (found 1).`);
  });

  it("a misspelt attribute, suggesting the right one", () => {
    const graph = withNodes(tinyGraph(), (nodes) => {
      nodes[3] = { ...nodes[3]!, attrs: { tranpose_b: true } };
    });
    graphErrorOf(check(graph), `node "xW", field "attrs.tranpose_b": is not a known field here. Did you mean "transpose_b"?`);
  });

  it("a dimension that is neither a size nor a symbol", () => {
    const graph = withNodes(tinyGraph(), (nodes) => {
      nodes[0] = { ...nodes[0]!, attrs: { shape: ["batch", -3] } };
    });
    graphErrorOf(check(graph), `node "x", field "attrs.shape[1]": must be >= 1 (found -3).`);
    const float = withNodes(tinyGraph(), (nodes) => {
      nodes[0] = { ...nodes[0]!, attrs: { shape: ["batch", 2.5] } };
    });
    graphErrorOf(check(float), `node "x", field "attrs.shape[1]": must be a fixed size or a symbolic size, such as "batch" (found 2.5).`);
  });

  it("an enum value, suggesting the closest", () => {
    const graph = withNodes(tinyGraph(), (nodes) => {
      nodes[1] = { ...nodes[1]!, attrs: { shape: [3, 2], init: "xavier" } };
    });
    graphErrorOf(check(graph), `node "W", field "attrs.init": must be one of "zeros", "ones", "he_normal", "xavier_normal", "normal" (found "xavier").`);
  });
});

describe("cycles", () => {
  it("lists the cycle's ids", () => {
    const graph = withNodes(tinyGraph(), (nodes) => {
      nodes[3] = { ...nodes[3]!, inputs: ["a", "W"] };
    });
    graphErrorOf(check(graph), `${FILE}: node `, "the graph has a cycle", /(xW → z → a → xW|z → a → xW → z|a → xW → z → a)/, "acyclic");
  });

  it("names the node and the input that closes the cycle", () => {
    const graph = withNodes(tinyGraph(), (nodes) => {
      nodes[3] = { ...nodes[3]!, inputs: ["a", "W"] };
    });
    const message = graphErrorOf(check(graph), 'field "inputs[');
    const [, node, cycle] = /node "(\w+)", field "inputs\[\d\]": the graph has a cycle, ([^:]+):/.exec(message)!;
    expect(cycle!.startsWith(`${node} → `) && cycle!.endsWith(` → ${node}`)).toBe(true);
  });

  it("a node consuming itself", () => {
    const graph = withNodes(tinyGraph(), (nodes) => {
      nodes[5] = { ...nodes[5]!, inputs: ["a"] };
    });
    graphErrorOf(check(graph), `${FILE}: node "a", field "inputs[0]": the node takes its own output as an input (a → a)`);
  });
});

describe("shapes", () => {
  it("a mismatch names the node, both shapes and the file", () => {
    const graph = withNodes(tinyGraph(), (nodes) => {
      nodes[1] = { ...nodes[1]!, attrs: { shape: [4, 2], init: "he_normal" } };
    });
    graphErrorOf(check(graph), `${FILE}: node "xW", field "inputs":`, "[batch, 3]", "[4, 2]");
  });

  it("a broadcast that cannot work", () => {
    const graph = withNodes(tinyGraph(), (nodes) => {
      nodes[2] = { ...nodes[2]!, attrs: { shape: [5], init: "zeros" } };
    });
    graphErrorOf(check(graph), `${FILE}: node "z", field "inputs":`, "[batch, 2]", "[5]", "cannot be broadcast");
  });

  it("a symbolic parameter size", () => {
    const graph = withNodes(tinyGraph(), (nodes) => {
      nodes[2] = { ...nodes[2]!, attrs: { shape: ["batch"], init: "zeros" } };
    });
    graphErrorOf(check(graph), `${FILE}: node "b", field "attrs.shape":`, "fixed sizes");
  });
});

describe("loss and outputs", () => {
  it("a loss naming no node", () => {
    graphErrorOf(check({ ...tinyGraph(), loss: "los" }), `${FILE}: field "loss": refers to "los", but no node has that id. Did you mean "loss"?`);
  });

  it("a loss that is not a scalar, with its shape", () => {
    graphErrorOf(check({ ...tinyGraph(), loss: "a" }), `${FILE}: field "loss": the loss must be a scalar (shape []), but node "a" has shape [batch, 2].`);
  });

  it("an output naming no node", () => {
    graphErrorOf(check({ ...tinyGraph(), outputs: { probs: "prob" } }), `${FILE}: field "outputs.probs": refers to "prob", but no node has that id.`);
    graphErrorOf(check({ ...tinyGraph(), outputs: { "my probs": "zz" } }), `field "outputs["my probs"]": refers to "zz"`);
  });
});

describe("absurd sizes", () => {
  it("a tensor over the limit", () => {
    const graph = withNodes(tinyGraph(), (nodes) => {
      nodes[0] = { ...nodes[0]!, attrs: { shape: ["batch", 3, MAX_TENSOR_ELEMENTS] } };
    });
    graphErrorOf(check(graph), `${FILE}: node "x", field "attrs.shape":`, "805,306,368 elements", "typo");
  });

  it("parameters over the limit in all, naming the largest", () => {
    const big = 2 ** 27; // each under the per-tensor limit, three of them over the total
    const graph: Graph = {
      name: "big",
      nodes: [
        { id: "p1", op: "parameter", inputs: [], attrs: { shape: [big], init: "zeros" } },
        { id: "p2", op: "parameter", inputs: [], attrs: { shape: [big + 1], init: "zeros" } },
        { id: "p3", op: "parameter", inputs: [], attrs: { shape: [big], init: "zeros" } },
      ],
    };
    const total = (3 * big + 1).toLocaleString("en-US");
    graphErrorOf(
      check(graph),
      `${FILE}: node "p2", field "attrs.shape": the parameters hold ${total} elements in all`,
      MAX_PARAMETER_ELEMENTS.toLocaleString("en-US"),
      "the largest",
    );
  });
});

describe("the order of the checks", () => {
  it("reports the earliest kind of problem first", () => {
    // A duplicate id, an unknown op and a cycle at once: the duplicate comes first.
    const graph = withNodes(tinyGraph(), (nodes) => {
      nodes[5] = { ...nodes[5]!, op: "rleu", inputs: ["a"] };
      nodes[4] = { ...nodes[4]!, id: "xW" };
    });
    graphErrorOf(check(graph), "is used twice");
  });
});

describe("absurd nesting", () => {
  it("is refused before it can exhaust anything", () => {
    let deep: unknown = 1;
    for (let i = 0; i < 100; i++) deep = [deep];
    graphErrorOf(check({ ...tinyGraph(), training: { x: deep } }), `${FILE}: field "training.x`, "levels deep");
  });
});
