/**
 * Every built-in op a forward graph can hold has an ONNX lowering, and each lowering computes what the op
 * does: a small graph per case (a symbolic batch, the op's attributes varied), exported and run by ONNX
 * Runtime and by graphnet on the same random inputs, then imported back as the same node. The backward-only ops (the *_grad ones,
 * maximum_mask) need none.
 */
import { describe, expect, it } from "vitest";
import type { Attrs, Graph, GraphNode, Shape } from "../../src/graph/ir.js";
import { inferShapes } from "../../src/graph-file/shapes.js";
import { exportOnnx } from "../../src/onnx/export.js";
import { importOnnx } from "../../src/onnx/import.js";
import { BUILTIN_OPS } from "../../src/ops/builtin.js";
import { Random } from "../../src/util/random.js";
import { inputNode, node } from "../support/run.js";
import { graphnetRun, maxRelativeDifference, ortRun, randomWeights } from "./support.js";

const BATCH = 3;

/** One op under test: its inputs (fed, or parameters with a shape), its attributes, positive inputs where the op needs them. */
interface Case {
  readonly op: string;
  readonly inputs: readonly Shape[];
  readonly attrs?: Attrs;
  /** Inputs drawn in (0.1, 2) rather than around 0. */
  readonly positive?: boolean;
  /** Inputs that are parameters (weights) instead of fed values, by index. */
  readonly weights?: readonly number[];
  /** Inputs that are non-trainable state (a batch norm's running statistics), by index. */
  readonly states?: readonly number[];
  /**
   * What import makes of the exported node: the same node (default); nodes computing the same values
   * (a loss written as several operators, attributes written another equivalent way); or a refusal
   * (gelu's Erf, broadcast_to's Expand: operators import does not read).
   */
  readonly back?: "values" | "refused";
}

const B = "batch";
const CASES: readonly Case[] = [
  ...["abs", "sign", "neg", "exp", "relu", "sigmoid", "tanh", "softplus", "softmax", "log_softmax", "dropout"].map((op) => ({ op, inputs: [[B, 5]] })),
  ...["log", "sqrt"].map((op) => ({ op, inputs: [[B, 5]], positive: true })),
  ...["add", "sub", "mul", "maximum", "minimum"].flatMap((op) => [
    {
      op,
      inputs: [
        [B, 4],
        [B, 4],
      ],
    },
    { op, inputs: [[B, 4], [4]], weights: [1] },
  ]),
  { op: "div", inputs: [[B, 4], [4]], positive: true, weights: [1] },
  { op: "leaky_relu", inputs: [[B, 5]], attrs: { alpha: 0.2 } },
  { op: "leaky_relu", inputs: [[B, 5]] },
  { op: "gelu", inputs: [[B, 5]], back: "refused" },
  { op: "gelu", inputs: [[B, 5]], attrs: { approximate: "tanh" }, back: "values" },
  { op: "pow", inputs: [[B, 5]], attrs: { exponent: 2 } },
  { op: "pow", inputs: [[B, 5]], attrs: { exponent: 0.5 }, positive: true },
  {
    op: "matmul",
    inputs: [
      [B, 4],
      [4, 3],
    ],
    weights: [1],
  },
  {
    op: "matmul",
    inputs: [
      [B, 4],
      [3, 4],
    ],
    weights: [1],
    attrs: { transpose_b: true },
  },
  {
    op: "matmul",
    inputs: [
      [4, B],
      [4, 3],
    ],
    weights: [1],
    attrs: { transpose_a: true },
  },
  {
    op: "conv2d",
    inputs: [
      [B, 2, 7, 6],
      [3, 2, 3, 3],
    ],
    weights: [1],
    attrs: { padding: "same" },
  },
  {
    op: "conv2d",
    inputs: [
      [B, 2, 7, 6],
      [3, 2, 3, 2],
    ],
    weights: [1],
    attrs: { padding: "same", stride: 2 },
  },
  {
    op: "conv2d",
    inputs: [
      [B, 2, 7, 6],
      [3, 2, 2, 3],
    ],
    weights: [1],
    attrs: { padding: [1, 2], stride: [2, 1], dilation: [2, 1] },
  },
  { op: "max_pool2d", inputs: [[B, 2, 7, 6]], attrs: { window: 2 } },
  { op: "max_pool2d", inputs: [[B, 2, 7, 6]], attrs: { window: [3, 2], stride: 1, padding: [1, 1] }, back: "values" },
  { op: "avg_pool2d", inputs: [[B, 2, 7, 6]], attrs: { window: 3, stride: 2, padding: 1 } },
  { op: "avg_pool2d", inputs: [[B, 2, 7, 6]], attrs: { window: 3, stride: 2, padding: 1, count_include_pad: false } },
  { op: "global_avg_pool", inputs: [[B, 3, 4, 5]] },
  { op: "batch_norm", inputs: [[B, 3, 4, 5], [3], [3], [3], [3]], weights: [1, 2], states: [3, 4], attrs: { epsilon: 0.01, momentum: 0.3 } },
  { op: "batch_norm", inputs: [[B, 3], [3], [3], [3], [3]], weights: [1, 2], states: [3, 4] },
  { op: "layer_norm", inputs: [[B, 6], [6], [6]], weights: [1, 2] },
  { op: "reshape", inputs: [[B, 2, 6]], attrs: { shape: [B, -1] } },
  { op: "reshape", inputs: [[B, 12]], attrs: { shape: [B, 3, 4] } },
  { op: "reshape", inputs: [[B, 12]], attrs: { shape: [4, B, 3] }, back: "values" },
  { op: "flatten", inputs: [[B, 2, 3, 2]] },
  { op: "flatten", inputs: [[2, 3, 2]], attrs: { axis: 2 } },
  { op: "flatten", inputs: [[B, 2, 3, 2]], attrs: { axis: -3 } },
  { op: "transpose", inputs: [[B, 2, 3]], attrs: { perm: [0, 2, 1] } },
  { op: "transpose", inputs: [[B, 4]] },
  {
    op: "concat",
    inputs: [
      [B, 2],
      [B, 3],
    ],
    attrs: { axis: 1 },
  },
  {
    op: "concat",
    inputs: [
      [3, 2],
      [4, 2],
    ],
    weights: [1],
  },
  { op: "slice", inputs: [[B, 6]], attrs: { axis: 1, start: 1, end: 4 } },
  { op: "sum", inputs: [[B, 3, 4]], attrs: { axes: [1] } },
  { op: "sum", inputs: [[B, 3, 4]], attrs: { axes: [-1, 1], keepdims: true } },
  { op: "sum", inputs: [[B, 3, 4]] },
  { op: "mean", inputs: [[B, 3, 4]], attrs: { axes: [2] } },
  { op: "mean", inputs: [[B, 3, 4]], attrs: { keepdims: true } },
  {
    op: "softmax_cross_entropy",
    back: "values",
    inputs: [
      [B, 4],
      [B, 4],
    ],
  },
  {
    op: "cross_entropy",
    back: "values",
    inputs: [
      [B, 4],
      [B, 4],
    ],
    positive: true,
  },
  { op: "sum_to", inputs: [[B, 3, 4]], attrs: { shape: [1, 4] }, back: "values" },
  { op: "sum_to", inputs: [[B, 3, 4]], attrs: { shape: [3, 1] }, back: "values" },
  { op: "broadcast_to", inputs: [[B, 1, 4]], attrs: { shape: [2, B, 3, 4] }, back: "refused" },
];

/** The case as a graph: inputs a0, a1, … (fed or parameters), the op's node "y" its one output. */
function caseGraph(c: Case): Graph {
  const operands: GraphNode[] = c.inputs.map((shape, i) =>
    c.weights?.includes(i)
      ? node(`a${i}`, "parameter", [], { shape: [...shape], init: "zeros" })
      : c.states?.includes(i)
        ? node(`a${i}`, "state", [], { shape: [...shape], init: i === 4 ? "ones" : "zeros" })
        : inputNode(`a${i}`, shape),
  );
  return {
    name: c.op,
    nodes: [
      ...operands,
      node(
        "y",
        c.op,
        operands.map((n) => n.id),
        c.attrs ?? {},
      ),
    ],
    outputs: { y: "y" },
  };
}

/** The forward ops: those a gradient rule never emits alone (the *_grad ops and maximum_mask are backward-only). */
const BACKWARD_ONLY = new Set(BUILTIN_OPS.filter((op) => /_grad(_|$)/.test(op.name) || op.name === "maximum_mask").map((op) => op.name));

describe("ONNX lowerings of the built-in ops", () => {
  it("every op a forward graph can hold has one, and each is tested here", () => {
    const stored = new Set(["input", "parameter", "state"]);
    const forward = BUILTIN_OPS.filter((op) => !BACKWARD_ONLY.has(op.name) && !stored.has(op.name)).map((op) => op.name);
    expect(forward.filter((name) => BUILTIN_OPS.find((op) => op.name === name)!.onnx === undefined)).toEqual([]);
    expect(forward.filter((name) => name !== "constant" && !CASES.some((c) => c.op === name))).toEqual([]);
  });

  it.each(CASES.map((c) => [`${c.op} ${JSON.stringify(c.attrs ?? {})} ${JSON.stringify(c.inputs)}`, c] as const))(
    "%s: ONNX Runtime gives graphnet's values",
    async (_name, c) => {
      const graph = caseGraph(c);
      const weights = randomWeights(graph, 3);
      for (const [id, values] of weights) if (c.positive) values.forEach((v, i) => (values[i] = 0.1 + Math.abs(v) * 3));
      const shapes = inferShapes(graph);
      const random = new Random(5);
      const feeds: Record<string, { data: Float32Array; dims: number[] }> = {};
      for (const n of graph.nodes.filter((n) => n.op === "input")) {
        const dims = (shapes.get(n.id)! as (number | string)[]).map((d) => (d === B ? BATCH : (d as number)));
        // A case without the batch symbol is fed its fixed shape.
        const size = dims.reduce((p, d) => p * d, 1);
        feeds[n.id] = { data: Float32Array.from({ length: size }, () => (c.positive ? 0.1 + 1.9 * random.uniform() : random.normal())), dims };
      }
      const model = exportOnnx(graph, weights);
      const theirs = await ortRun(model, feeds);
      const values = Object.fromEntries(Object.entries(feeds).map(([id, f]) => [id, f.data]));
      const ours = graphnetRun(graph, weights, values, BATCH, ["y"]);
      expect(theirs.get("y")!.length).toBe(ours.get("y")!.length);
      expect(maxRelativeDifference(theirs.get("y")!, ours.get("y")!)).toBeLessThanOrEqual(1e-5);
      // And import reads the lowering back as the same node (gelu's, written out with Erf, it cannot).
      if (c.back === "refused") {
        expect(() => importOnnx(model, "case.onnx")).toThrow(/graphnet cannot import the ONNX operator: (Erf|Expand)/);
        return;
      }
      const back = importOnnx(model, "case.onnx");
      if (c.back !== "values") expect(back.graph.nodes.find((n) => n.id === "y")).toEqual(graph.nodes.find((n) => n.id === "y"));
      const again = graphnetRun(back.graph, back.weights, values, BATCH, ["y"]).get("y")!;
      if (c.back === "values") expect(maxRelativeDifference(again, ours.get("y")!)).toBeLessThanOrEqual(1e-5);
      else expect(again).toEqual(ours.get("y"));
    },
  );

  it("a constant is an initializer ONNX Runtime reads", async () => {
    const graph: Graph = {
      name: "constant",
      nodes: [inputNode("x", [B, 2]), node("c", "constant", [], { shape: [2], value: 1.5 }), node("y", "add", ["x", "c"])],
      outputs: { y: "y" },
    };
    const x = Float32Array.from([1, 2, 3, 4, 5, 6]);
    const theirs = await ortRun(exportOnnx(graph, new Map()), { x: { data: x, dims: [3, 2] } });
    expect([...theirs.get("y")!]).toEqual([2.5, 3.5, 4.5, 5.5, 6.5, 7.5]);
  });
});
