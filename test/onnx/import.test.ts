/**
 * Import: PyTorch's own ONNX files (test/fixtures/onnx, which graphnet did not write) give PyTorch's
 * outputs in graphnet; an exported graph comes back as the same graph and weights, and exports again as
 * the same model; an imported model computes in graphnet what ONNX Runtime computes from its file; and a
 * file graphnet cannot read is refused in one line.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import type { Graph } from "../../src/graph/ir.js";
import { loadGraphFile } from "../../src/graph-file/load.js";
import { exportOnnx } from "../../src/onnx/export.js";
import { importOnnx } from "../../src/onnx/import.js";
import { onnx } from "../../src/onnx/proto.js";
import { graphnetRun, maxRelativeDifference, mnistLikeImages, ortRun, randomWeights } from "./support.js";

interface FixtureModel {
  readonly file: string;
  readonly input_name: string;
  readonly input_shape: number[];
  readonly input: number[];
  readonly output_name: string;
  readonly output_shape: number[];
  readonly output: number[];
  readonly argmax: number[];
}

const FIXTURES = "test/fixtures/onnx";
const expected = JSON.parse(readFileSync(`${FIXTURES}/expected.json`, "utf8")) as { models: FixtureModel[] };

describe.each(expected.models.map((m) => [m.file, m] as const))("PyTorch's %s imported", (_file, fixture) => {
  const imported = importOnnx(readFileSync(`${FIXTURES}/${fixture.file}`), fixture.file);
  const { graph, weights } = imported;
  const rows = fixture.input_shape[0]!;
  const input = Float32Array.from(fixture.input);

  it("gives PyTorch's outputs on its inputs, within 1e-5 relative", () => {
    const output = graph.outputs![fixture.output_name]!;
    const ours = graphnetRun(graph, weights, { [fixture.input_name]: input }, rows, [output, "probs"]);
    expect(maxRelativeDifference(ours.get(output)!, Float32Array.from(fixture.output))).toBeLessThanOrEqual(1e-5);
    const classes = fixture.output_shape[1]!;
    const argmax = [...Array(rows).keys()].map((r) => {
      const row = [...ours.get("probs")!.subarray(r * classes, (r + 1) * classes)];
      return row.indexOf(Math.max(...row));
    });
    expect(argmax).toEqual(fixture.argmax);
  });

  it("gets a loss head on the logits against a labels input, and a training section", () => {
    const byId = new Map(graph.nodes.map((n) => [n.id, n]));
    const loss = byId.get(graph.loss!)!;
    expect(loss.op).toBe("softmax_cross_entropy");
    expect(byId.get(loss.inputs[1]!)!.attrs).toEqual({ shape: ["batch", 10], feed: "labels" });
    expect(byId.get(graph.outputs!.probs!)!.op).toBe("softmax");
    expect(byId.get(graph.outputs!.probs!)!.inputs).toEqual([loss.inputs[0]]);
    expect(graph.training).toMatchObject({ learning_rate: 0.001, batch_size: 16, optimizer: "adam", use_dropout: false });
    expect(imported.warnings).toEqual([]);
  });

  it("has readable ids made from PyTorch's names", () => {
    const ids = graph.nodes.map((n) => n.id);
    expect(ids).toContain(fixture.input_name);
    expect(ids.every((id) => /^[A-Za-z_][A-Za-z0-9_.-]*(\/[A-Za-z_][A-Za-z0-9_.-]*)*$/.test(id))).toBe(true);
    expect(ids.some((id) => id.endsWith("/Gemm"))).toBe(true);
  });
});

describe.each(["graphs/mnist.graph.json", "graphs/mnist-cnn.graph.json", "graphs/mnist-cnn-best.graph.json"])("%s: export → import → export", (file) => {
  const original = loadGraphFile(file);
  const weights = randomWeights(original, 4);
  const model = exportOnnx(original, weights);
  const imported = importOnnx(model, "model.onnx");

  it("gives back the same graph and weights", () => {
    const { training: _t, ...forward } = original;
    const { training, description, ...back } = imported.graph;
    const sorted = (g: Pick<Graph, "nodes">) => [...g.nodes].sort((a, b) => a.id.localeCompare(b.id));
    expect(sorted(back)).toEqual(sorted(forward));
    expect(back.loss).toBe(forward.loss);
    expect(back.outputs).toEqual(forward.outputs);
    expect(back.name).toBe(forward.name);
    expect(description).toBe(forward.description);
    expect(training).toBeDefined();
    expect(imported.weights).toEqual(weights);
  });

  it("exports again as the same model", () => {
    // Compared whole, byte for byte (a failure then shows the decoded models' difference).
    const again = exportOnnx(imported.graph, imported.weights);
    if (Buffer.compare(again, model) !== 0) expect(onnx.ModelProto.decode(again).toJSON()).toEqual(onnx.ModelProto.decode(model).toJSON());
    expect(Buffer.compare(again, model)).toBe(0);
  });

  it("computes in graphnet what ONNX Runtime computes from the file", async () => {
    const images = mnistLikeImages(4, 9);
    const dims = file.includes("cnn") ? [4, 1, 28, 28] : [4, 784];
    const theirs = await ortRun(model, { x: { data: images, dims } });
    const ours = graphnetRun(imported.graph, imported.weights, { x: images }, 4, ["probs"]);
    expect(maxRelativeDifference(ours.get("probs")!, theirs.get("probs")!)).toBeLessThanOrEqual(1e-5);
  });
});

it("PyTorch's imported CNN computes in graphnet what ONNX Runtime computes from its file", async () => {
  const bytes = readFileSync(`${FIXTURES}/cnn.onnx`);
  const { graph, weights } = importOnnx(bytes, "cnn.onnx");
  const images = mnistLikeImages(6, 13);
  const theirs = await ortRun(bytes, { image: { data: images, dims: [6, 1, 28, 28] } });
  const ours = graphnetRun(graph, weights, { image: images }, 6, ["logits"]);
  expect(maxRelativeDifference(ours.get("logits")!, theirs.get("logits")!)).toBeLessThanOrEqual(1e-5);
});

/** A model of one node reading one input, written with the schema (as another tool would write it). */
function oneNodeModel(opType: string, inputDims: (number | string)[], attribute: object[] = []): Uint8Array {
  const dim = (d: number | string) => (typeof d === "number" ? { dimValue: d } : { dimParam: d });
  const info = (name: string, dims: (number | string)[]) => ({ name, type: { tensorType: { elemType: 1, shape: { dim: dims.map(dim) } } } });
  return onnx.ModelProto.encode({
    irVersion: 8,
    opsetImport: [{ domain: "", version: 17 }],
    graph: { name: "g", node: [{ name: "n1", opType, input: ["x"], output: ["y"], attribute }], input: [info("x", inputDims)], output: [info("y", inputDims)] },
  }).finish();
}

describe("a file graphnet cannot import is refused in one line", () => {
  const mlp = readFileSync(`${FIXTURES}/mlp.onnx`);
  it.each([
    [
      "truncated",
      mlp.subarray(0, mlp.length - 1000),
      /^bad\.onnx: not a whole ONNX model: the file ends in the middle of a protobuf message \([\d,]+ bytes\): it is truncated, or not an ONNX file at all\.$/,
    ],
    ["not protobuf", Buffer.from("\u00ff\u00ff\u00ff\u00ff this is not a model"), /^bad\.onnx: not an ONNX model: the file is not protobuf \(.*\)\.$/],
    ["empty", new Uint8Array(0), /^bad\.onnx: not an ONNX model: the file is empty\.$/],
    [
      "protobuf, not a model",
      onnx.ModelProto.encode({ irVersion: 8, producerName: "a tool" }).finish(),
      /^bad\.onnx: not an ONNX model: it decodes as protobuf but holds no model graph/,
    ],
    [
      "an unsupported operator",
      oneNodeModel("Erf", ["batch", 3]),
      /^bad\.onnx: graphnet cannot import the ONNX operator: Erf \(node "n1"\)\. It reads .*Add.*Conv.*Gemm.* and Constant\.$/,
    ],
    [
      "a dynamic shape",
      oneNodeModel("Relu", ["batch", 3, "height", 5]),
      /^bad\.onnx: input "x" has a dynamic size "height" on axis 2: graphnet plans every size but the batch \(the first axis\); export the model with that size fixed\.$/,
    ],
    [
      "an attribute graphnet has no equivalent of",
      oneNodeModel(
        "MaxPool",
        ["batch", 1, 6, 6],
        [
          { name: "kernel_shape", type: 7, ints: [2, 2] },
          { name: "ceil_mode", type: 2, i: 1 },
        ],
      ),
      /^bad\.onnx: node "n1" \(MaxPool\): graphnet cannot import ceil_mode 1; graphnet's pools use floor mode\.$/,
    ],
  ])("%s", (_what, bytes, message) => {
    let thrown: Error | undefined;
    try {
      importOnnx(bytes, "bad.onnx");
    } catch (err) {
      thrown = err as Error;
    }
    expect(thrown?.name).toBe("UserError");
    expect(thrown?.message).toMatch(message);
    expect(thrown?.message).not.toContain("\n");
  });

  it("lists every unsupported operator with the nodes where it is", () => {
    const model = onnx.ModelProto.decode(oneNodeModel("Erf", ["batch", 3]));
    model.graph!.node!.push({ name: "n2", opType: "Erf", input: ["y"], output: ["z"] }, { name: "n3", opType: "LSTM", input: ["z"], output: ["w"] });
    expect(() => importOnnx(onnx.ModelProto.encode(model).finish(), "m.onnx")).toThrow(
      /^m\.onnx: graphnet cannot import 2 of the model's ONNX operators: Erf \(nodes "n1", "n2"\); LSTM \(node "n3"\)\./,
    );
  });
});
