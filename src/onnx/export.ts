/**
 * Export: a graph's forward part (its `outputs`, and its loss when asked) with given weights, as an ONNX
 * model. Each node is written by its op's lowering (OpDefinition.onnx), inputs become the ONNX graph's
 * inputs (the "batch" symbol its symbolic dimension), parameters and state its initializers; every name
 * is the node's id, so the ONNX file reads as the graph does. What ONNX has no place for (which input
 * takes the images, the outputs' names, the parameters' initialisers) goes into the model's metadata,
 * where import finds it again.
 */
import { GraphError, UserError } from "../graph/errors.js";
import type { Graph, GraphNode, Shape } from "../graph/ir.js";
import { ancestorsOf, topologicalOrder } from "../graph/topology.js";
import { inferShapes } from "../graph-file/shapes.js";
import { ShapeError, type OnnxAttribute, type OnnxExportContext } from "../ops/op.js";
import { getOp } from "../ops/registry.js";
import { IR_VERSION, OPSET, onnx, type AttributeProto, type NodeProto, type TensorProto, type ValueInfoProto } from "./proto.js";

export interface ExportOptions {
  /** Also output the loss (and take the labels as an input). */
  readonly withLoss?: boolean;
  /** graphnet's version, written as the model's producer_version. */
  readonly producerVersion?: string;
}

/** The metadata key under which graphnet keeps what the ONNX graph has no field for (GraphnetMetadata, as JSON). */
export const METADATA_KEY = "graphnet";

/** What the metadata entry holds. */
export interface GraphnetMetadata {
  /** The graph's outputs by name (the ONNX outputs are the nodes' ids). */
  readonly outputs: Readonly<Record<string, string>>;
  /** The feed of each input ("features", "labels"). */
  readonly feeds: Readonly<Record<string, string>>;
  /** The attributes of parameter and state nodes beyond their shape (their initialisers). */
  readonly inits: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
  /**
   * The graph's loss and the input its labels are fed to, when it has them (exported or not): import
   * builds the same loss head again when the model does not compute it.
   */
  readonly head?: { readonly loss: string; readonly labels: string };
}

/**
 * The ONNX model's bytes. `weights` holds every parameter's and every state's values by id (a run's
 * checkpoint, or freshly initialised ones). A node whose op has no lowering, or whose lowering refuses its
 * attributes, is a UserError naming the node and the op.
 */
export function exportOnnx(graph: Graph, weights: ReadonlyMap<string, Float32Array>, options: ExportOptions = {}): Uint8Array {
  const outputs: Record<string, string> = { ...(graph.outputs ?? {}) };
  if (options.withLoss) {
    if (graph.loss === undefined) throw new GraphError(`--with-loss: the graph has no "loss" to export.`, { field: "loss" });
    outputs.loss = graph.loss;
  }
  const outputIds = [...new Set(Object.values(outputs))];
  if (outputIds.length === 0) {
    throw new GraphError(`the graph has no "outputs" to export: name the values a caller reads, e.g. "outputs": { "probs": "probs" }.`, { field: "outputs" });
  }
  const byId = new Map(graph.nodes.map((n) => [n.id, n]));
  const needed = ancestorsOf(outputIds, byId);
  const shapes = inferShapes(graph);
  const names = new NameSet(graph.nodes.map((n) => n.id));
  const nodes: NodeProto[] = [];
  const initializers: TensorProto[] = [];
  const inputs: ValueInfoProto[] = [];
  const feeds: Record<string, string> = {};
  const inits: Record<string, Record<string, unknown>> = {};

  for (const id of topologicalOrder(graph)) {
    if (!needed.has(id)) continue;
    const node = byId.get(id)!;
    const op = getOp(node.op)!;
    if (op.role === "input") {
      inputs.push(valueInfo(id, shapes.get(id)!));
      if (typeof node.attrs.feed === "string") feeds[id] = node.attrs.feed;
    } else if (op.role === "parameter" || op.role === "state") {
      const values = weights.get(id);
      if (!values) throw new Error(`internal: no weights for ${op.role} "${id}"`);
      initializers.push(floatTensor(id, values, shapes.get(id)! as number[]));
      const { shape: _shape, ...init } = node.attrs;
      inits[id] = { op: node.op, ...init };
    } else {
      lowerNode(node, shapes, names, nodes, initializers);
    }
  }

  const labels = graph.nodes.find((n) => n.op === "input" && n.attrs.feed === "labels")?.id;
  const head = graph.loss !== undefined && labels !== undefined ? { head: { loss: graph.loss, labels } } : {};
  const metadata: GraphnetMetadata = { outputs, feeds, inits, ...head };
  const model = onnx.ModelProto.create({
    irVersion: IR_VERSION,
    opsetImport: [{ domain: "", version: OPSET }],
    producerName: "graphnet",
    producerVersion: options.producerVersion ?? "",
    docString: graph.description ?? "",
    metadataProps: [{ key: METADATA_KEY, value: JSON.stringify(metadata) }],
    graph: {
      name: graph.name,
      docString: graph.description ?? "",
      node: nodes,
      initializer: initializers,
      input: inputs,
      output: outputIds.map((id) => valueInfo(id, shapes.get(id)!)),
    },
  });
  return onnx.ModelProto.encode(model).finish();
}

/** One node through its op's lowering, or the one line saying why it cannot be. */
function lowerNode(node: GraphNode, shapes: ReadonlyMap<string, Shape>, names: NameSet, nodes: NodeProto[], initializers: TensorProto[]): void {
  const op = getOp(node.op)!;
  if (!op.onnx) {
    throw new GraphError(
      `op "${node.op}" has no ONNX lowering, so the graph cannot be exported${op.gradient === undefined && node.op.endsWith("_grad") ? " (it is a backward op)" : ""}. A custom op declares one as its definition's "onnx" field (see docs/onnx.md).`,
      { nodeId: node.id, field: "op" },
    );
  }
  let produced = false;
  const context: OnnxExportContext<any> = {
    node,
    inputs: node.inputs,
    inputShapes: node.inputs.map((id) => shapes.get(id)!),
    outputShape: shapes.get(node.id)!,
    output: node.id,
    emit(opType, inputs, attrs = {}, output) {
      const name = output ?? names.fresh(`${node.id}/${opType}`);
      if (name === node.id) produced = true;
      nodes.push({ name, opType, input: [...inputs], output: [name], attribute: Object.entries(attrs).map(([key, value]) => attribute(key, value)) });
      return name;
    },
    constant(values, type, dims = []) {
      const name = names.fresh(`${node.id}/const`);
      initializers.push(type === "float" ? floatTensor(name, Float32Array.from(values), dims) : int64Tensor(name, values, dims));
      return name;
    },
  };
  try {
    op.onnx.export(context);
  } catch (err) {
    if (err instanceof ShapeError) {
      throw new GraphError(`op "${node.op}" cannot be exported: ${err.message}`, { nodeId: node.id, field: `attrs.${err.field}` });
    }
    throw err;
  }
  if (!produced)
    throw new UserError(
      `node "${node.id}": the ONNX lowering of op "${node.op}" added no ONNX node producing "${node.id}" (its last emit must pass context.output).`,
    );
}

/** Names in use in the ONNX graph (the nodes' ids first): each helper value gets one no node has. */
class NameSet {
  private readonly used: Set<string>;
  constructor(ids: readonly string[]) {
    this.used = new Set(ids);
  }
  fresh(base: string): string {
    let name = base;
    for (let k = 2; this.used.has(name); k++) name = `${base}_${k}`;
    this.used.add(name);
    return name;
  }
}

function valueInfo(name: string, shape: Shape): ValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: onnx.TensorProto.DataType.FLOAT,
        shape: { dim: shape.map((d) => (typeof d === "number" ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

function floatTensor(name: string, values: Float32Array, dims: readonly number[]): TensorProto {
  const bytes = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  return { name, dataType: onnx.TensorProto.DataType.FLOAT, dims: [...dims], rawData: littleEndian(bytes) };
}

function int64Tensor(name: string, values: readonly number[], dims: readonly number[]): TensorProto {
  return { name, dataType: onnx.TensorProto.DataType.INT64, dims: [...dims], int64Data: [...values] };
}

/** ONNX's raw data is little-endian, as every machine Node.js runs on: a copy, checked once. */
function littleEndian(bytes: Uint8Array): Uint8Array {
  if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) throw new Error("internal: graphnet's ONNX export assumes a little-endian machine");
  return Uint8Array.from(bytes);
}

function attribute(name: string, value: OnnxAttribute): AttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if ("int" in value) return { name, type: T.INT, i: value.int };
  if ("float" in value) return { name, type: T.FLOAT, f: value.float };
  if ("ints" in value) return { name, type: T.INTS, ints: [...value.ints] };
  if ("floats" in value) return { name, type: T.FLOATS, floats: [...value.floats] };
  return { name, type: T.STRING, s: new TextEncoder().encode(value.string) };
}
