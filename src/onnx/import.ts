/**
 * Import: an ONNX model as a graphnet graph and its weights. Each ONNX node is read by the entry of its
 * operator in ONNX_READERS (import-ops.ts); initializers become parameters (or a batch norm's state),
 * the model's input the images' input with a symbolic batch, and ids come from the ONNX names, made
 * readable ("/fc1/Gemm_output_0" → "fc1/Gemm"). A model imports with a loss head, so that `train` can
 * fine-tune it: the labels as an input and softmax_cross_entropy on the logits (the input of the model's
 * final Softmax, or its output when it has none), and the probabilities as `outputs.probs`.
 */
import { basename, extname } from "node:path";
import { GraphError, UserError } from "../graph/errors.js";
import type { Attrs, Graph, GraphNode, Shape } from "../graph/ir.js";
import { DEFAULT_TRAINING, type TrainingSection } from "../graph/training.js";
import { inferNodeShape } from "../graph-file/shapes.js";
import { validateGraph } from "../graph-file/validate.js";
import { decodeModel, tensorValues } from "./decode.js";
import { METADATA_KEY, type GraphnetMetadata } from "./export.js";
import { ONNX_READERS, type ImportContext } from "./import-ops.js";
import { onnx, toNumber, type NodeProto, type ValueInfoProto } from "./proto.js";
import { ancestorsOf } from "../graph/topology.js";

export interface ImportedModel {
  /** The graph, with a training section (the defaults of graphs/mnist.graph.json's). */
  readonly graph: Graph;
  /** The values of its parameters and state, by id. */
  readonly weights: Map<string, Float32Array>;
  /** What the person should know (a fixed batch size taken as the batch, no loss head): one sentence each. */
  readonly warnings: readonly string[];
}

/** The training section an imported graph gets: graphs/mnist.graph.json's keys, at their defaults. */
const TRAINING_KEYS = [
  "learning_rate",
  "num_epochs",
  "batch_size",
  "optimizer",
  "beta1",
  "beta2",
  "epsilon",
  "decay_rate",
  "test_size",
  "val_size",
  "random_state",
  "patience",
  "use_data_augmentation",
  "use_dropout",
  "dropout_rate",
] as const;

interface Constant {
  readonly dims: number[];
  readonly values: Float32Array | Float64Array;
}

export function importOnnx(bytes: Uint8Array, file: string): ImportedModel {
  const { model, graph: g, opset } = decodeModel(bytes, file);
  const metadata = readMetadata(model.metadataProps ?? [], file);
  refuseUnsupported(g.node, file);

  const warnings: string[] = [];
  const ids = new IdSet();
  const shapes = new Map<string, Shape>();
  const inputs: GraphNode[] = [];
  const stored: GraphNode[] = [];
  const computed: GraphNode[] = [];
  const weights = new Map<string, Float32Array>();
  /** ONNX value name → graphnet id. */
  const valueOf = new Map<string, string>();
  const constants = new Map<string, Constant>();
  const initializers = new Set<string>();
  for (const tensor of g.initializer) {
    constants.set(tensor.name!, tensorValues(tensor, file));
    initializers.add(tensor.name!);
  }

  // The model's inputs: every graph input that is not an initializer.
  const fed = g.input.filter((v) => !initializers.has(v.name!));
  if (fed.length === 0) throw new UserError(`${file}: the model takes no input.`);
  // A model graphnet wrote says which input takes what; another must take one input, the images.
  if (fed.length > 1 && !metadata) {
    throw new UserError(`${file}: the model takes ${fed.length} inputs (${fed.map((v) => `"${v.name}"`).join(", ")}); graphnet's models take one, the images.`);
  }
  for (const v of fed) {
    const id = ids.claim(v.name!);
    const shape = inputShape(v, file, warnings, metadata !== undefined);
    const feed = metadata ? metadata.feeds[v.name!] : "features";
    inputs.push({ id, op: "input", inputs: [], attrs: { shape: [...shape], ...(feed ? { feed } : {}) } });
    shapes.set(id, shape);
    valueOf.set(v.name!, id);
  }

  const storedOf = new Map<string, string>();
  const store = (name: string, role: "parameter" | "state", fallbackInit: string, shape?: readonly number[]): string => {
    const constant = constants.get(name)!;
    const dims = shape ?? constant.dims;
    const key = `${name}:${dims.join(",")}`;
    const known = storedOf.get(key);
    if (known) return known;
    const id = ids.claim(name);
    const saved = metadata?.inits[name];
    const attrs: Attrs = saved && saved.op === role ? { shape: [...dims], ...(withoutOp(saved) as Attrs) } : { shape: [...dims], init: fallbackInit };
    stored.push({ id, op: role, inputs: [], attrs });
    shapes.set(id, dims);
    weights.set(id, Float32Array.from(constant.values));
    storedOf.set(key, id);
    return id;
  };

  for (const node of g.node) {
    const where = `${file}: node "${node.name || node.output?.[0]}" (${node.opType})`;
    if (node.opType === "Constant") {
      constants.set(node.output![0]!, constantNodeValue(node, file));
      continue;
    }
    const outId = ids.claim(node.output![0]!);
    let bound: string | undefined;
    const inputNames = node.input ?? [];
    const attribute = (name: string) => node.attribute?.find((a) => a.name === name);
    const refuse = (why: string): never => {
      throw new UserError(`${where}: graphnet cannot import ${why}`);
    };
    const context: ImportContext = {
      opType: node.opType!,
      opset,
      inputCount: inputNames.length,
      has: (i) => (inputNames[i] ?? "") !== "",
      int: (name) => {
        const a = attribute(name);
        return a ? toNumber(a.i) : undefined;
      },
      ints: (name) => attribute(name)?.ints?.map(toNumber),
      float: (name) => attribute(name)?.f ?? undefined,
      string: (name) => {
        const a = attribute(name);
        return a?.s ? new TextDecoder().decode(a.s) : undefined;
      },
      isConstant: (i) => constants.has(inputNames[i]!) && !valueOf.has(inputNames[i]!),
      constant: (i, what) => {
        const c = constants.get(inputNames[i] ?? "");
        if (!c) refuse(`${what} computed by the model (input "${inputNames[i]}"); graphnet needs it constant (an initializer or a Constant node).`);
        return c!;
      },
      value: (i) => {
        const name = inputNames[i] ?? "";
        const known = valueOf.get(name);
        if (known) return known;
        const c = constants.get(name);
        if (!c) refuse(`its input "${name}", which no node before it computes.`);
        if (initializers.has(name)) return store(name, "parameter", c!.dims.length >= 2 ? "xavier_normal" : "zeros");
        // A Constant node's tensor read as a value: graphnet's constant when it holds one value, else a parameter.
        const first = c!.values[0] ?? 0;
        if (c!.values.every((v) => v === first)) {
          const id = ids.claim(name);
          computed.push({ id, op: "constant", inputs: [], attrs: { shape: [...c!.dims], value: first } });
          shapes.set(id, c!.dims);
          valueOf.set(name, id);
          return id;
        }
        constants.set(name, c!);
        initializers.add(name);
        warnings.push(`the Constant "${name}" (${c!.values.length} values) became a parameter, which training would change.`);
        return store(name, "parameter", "zeros");
      },
      stored: (i, role, init, shape) => {
        const name = inputNames[i] ?? "";
        if (!initializers.has(name))
          refuse(`input "${name}" as a ${role === "state" ? "running statistic" : "weight"} computed by the model; graphnet needs an initializer there.`);
        const dims = constants.get(name)!.dims;
        if (shape && shape.reduce((n, d) => n * d, 1) !== dims.reduce((n, d) => n * d, 1))
          refuse(`input "${name}" of shape [${dims.join(", ")}] where [${shape.join(", ")}] is needed.`);
        return store(name, role, init, shape);
      },
      shapeOf: (id) => shapes.get(id)!,
      add: (op, operands, attrs = {}, part) => {
        const id = part === undefined ? outId : ids.claim(`${outId}.${part}`, false);
        const graphNode: GraphNode = { id, op, inputs: [...operands], attrs };
        try {
          shapes.set(
            id,
            inferNodeShape(
              graphNode,
              operands.map((v) => shapes.get(v)!),
            ),
          );
        } catch (err) {
          if (err instanceof GraphError) throw new UserError(`${where}: ${err.problem}`);
          throw err;
        }
        computed.push(graphNode);
        if (part === undefined) bound = id;
        return id;
      },
      alias: (value) => {
        bound = value;
      },
      refuse,
      nodeOf: (value) => computed.find((n) => n.id === value),
    };
    ONNX_READERS[node.opType!]!(context);
    if (bound === undefined) throw new Error(`internal: the ONNX reader of ${node.opType} produced no value for "${node.output![0]}"`);
    valueOf.set(node.output![0]!, bound);
  }

  // Outputs: by their names in graphnet's metadata, else by the ONNX names.
  const outputs: Record<string, string> = {};
  const onnxOutputs = new Map<string, string>();
  for (const v of g.output) {
    const id = valueOf.get(v.name!);
    if (id === undefined || shapes.get(id) === undefined) throw new UserError(`${file}: the output "${v.name}" is not computed by any node graphnet imported.`);
    onnxOutputs.set(v.name!, id);
  }
  if (metadata) {
    for (const [name, value] of Object.entries(metadata.outputs)) if (onnxOutputs.has(value)) outputs[name] = onnxOutputs.get(value)!;
  } else {
    for (const [name, id] of onnxOutputs) outputs[sanitizeId(name)] = id;
  }

  const nodes = [...inputs, ...stored, ...computed];
  // Exported with its loss: the model computes it already.
  let loss = metadata?.head && outputs.loss !== undefined && outputs.loss === metadata.head.loss ? metadata.head.loss : undefined;
  if (loss !== undefined) delete outputs.loss;
  else {
    const head = lossHead(nodes, shapes, outputs, ids, metadata?.head, warnings);
    loss = head?.loss;
  }

  const needed = ancestorsOf([...Object.values(outputs), ...(loss ? [loss] : [])], new Map(nodes.map((n) => [n.id, n])));
  const kept = nodes.filter((n) => needed.has(n.id));
  const name = g.name && !["main_graph", "torch-jit-export", "torch_jit"].includes(g.name) ? g.name : basename(file, extname(file));
  const description =
    model.docString ||
    g.docString ||
    `Imported from ${basename(file)}${model.producerName ? `, written by ${model.producerName} ${model.producerVersion ?? ""}`.trimEnd() : ""}.`;
  const training: TrainingSection = Object.fromEntries(TRAINING_KEYS.map((key) => [key, DEFAULT_TRAINING[key]]));
  const graph: Graph = { name, description, nodes: kept, ...(loss ? { loss } : {}), outputs, training };
  validateGraph(graph, file);
  return { graph, weights: new Map([...weights].filter(([id]) => needed.has(id))), warnings };
}

/**
 * The loss head training needs: for one output of shape [batch, K], the labels as an input [batch, K]
 * and softmax_cross_entropy on the logits — the input of the output's softmax, or the output itself
 * (then also softmax'd, as outputs.probs). Without such an output, none (and a warning).
 */
function lossHead(
  nodes: GraphNode[],
  shapes: Map<string, Shape>,
  outputs: Record<string, string>,
  ids: IdSet,
  saved: GraphnetMetadata["head"],
  warnings: string[],
): { loss: string } | undefined {
  const values = Object.values(outputs);
  const candidate = values.length === 1 ? values[0]! : outputs.probs;
  const shape = candidate === undefined ? undefined : shapes.get(candidate);
  if (candidate === undefined || !shape || shape.length !== 2 || typeof shape[0] !== "string" || typeof shape[1] !== "number") {
    warnings.push(`no loss was added (it needs one output of shape [batch, classes]): inspect, render and export work on the graph, train does not.`);
    return undefined;
  }
  const producer = nodes.find((n) => n.id === candidate)!;
  let logits: string;
  let probs: string;
  if (producer.op === "softmax") {
    logits = producer.inputs[0]!;
    probs = candidate;
  } else {
    logits = producer.op === "log_softmax" ? producer.inputs[0]! : candidate;
    probs = ids.claim("probs");
    nodes.push({ id: probs, op: "softmax", inputs: [logits], attrs: {} });
    shapes.set(probs, shape);
  }
  const labels = ids.claim(saved?.labels ?? "labels");
  // Beside the images' input, as in the graphs people write.
  const at = nodes.findIndex((n) => n.op !== "input");
  nodes.splice(at < 0 ? nodes.length : at, 0, { id: labels, op: "input", inputs: [], attrs: { shape: [shape[0], shape[1]], feed: "labels" } });
  const loss = ids.claim(saved?.loss ?? "loss");
  nodes.push({ id: loss, op: "softmax_cross_entropy", inputs: [logits, labels], attrs: {} });
  outputs.probs = probs;
  return { loss };
}

/** The refusal of every operator no reader reads, with the nodes where each is. */
function refuseUnsupported(nodes: readonly NodeProto[], file: string): void {
  const unsupported = new Map<string, string[]>();
  for (const node of nodes) {
    const domain = node.domain ?? "";
    const supported = (domain === "" || domain === "ai.onnx") && (node.opType === "Constant" || ONNX_READERS[node.opType ?? ""] !== undefined);
    if (supported) continue;
    const key = domain === "" || domain === "ai.onnx" ? node.opType! : `${domain}.${node.opType}`;
    unsupported.set(key, [...(unsupported.get(key) ?? []), node.name || node.output?.[0] || "?"]);
  }
  if (unsupported.size === 0) return;
  const list = [...unsupported].map(
    ([op, where]) =>
      `${op} (${where.length === 1 ? "node" : "nodes"} ${where
        .slice(0, 3)
        .map((n) => `"${n}"`)
        .join(", ")}${where.length > 3 ? ` and ${where.length - 3} more` : ""})`,
  );
  throw new UserError(
    `${file}: graphnet cannot import ${unsupported.size === 1 ? "the ONNX operator" : `${unsupported.size} of the model's ONNX operators`}: ${list.join("; ")}. ` +
      `It reads ${Object.keys(ONNX_READERS).sort().join(", ")} and Constant.`,
  );
}

/**
 * An input's shape: the first axis is the batch ("batch", whatever the model calls it or fixes it at),
 * every other a fixed size. A model graphnet wrote keeps its shapes as the graph had them ("batch" where
 * it stood, fixed sizes fixed).
 */
function inputShape(v: ValueInfoProto, file: string, warnings: string[], graphnets: boolean): Shape {
  const tensor = v.type?.tensorType;
  if (!tensor) throw new UserError(`${file}: input "${v.name}" is not a tensor.`);
  if (tensor.elemType !== onnx.TensorProto.DataType.FLOAT) {
    const type = (onnx.TensorProto.DataType as unknown as Record<number, string>)[tensor.elemType ?? 0] ?? String(tensor.elemType);
    throw new UserError(`${file}: input "${v.name}" is of type ${type}; graphnet's inputs are float.`);
  }
  const dims = tensor.shape?.dim;
  if (!dims || dims.length === 0)
    throw new UserError(`${file}: input "${v.name}" has no shape; graphnet plans fixed shapes (but for the batch), so the model must declare it.`);
  return dims.map((d, axis) => {
    const size = d.dimValue != null && toNumber(d.dimValue) > 0 ? toNumber(d.dimValue) : undefined;
    if (graphnets) {
      if (size !== undefined) return size;
      if (d.dimParam === "batch") return "batch";
    } else if (axis === 0) {
      if (size !== undefined) warnings.push(`input "${v.name}" has a fixed batch of ${size}; it was imported with a symbolic batch ("batch").`);
      return "batch";
    }
    if (size !== undefined) return size;
    throw new UserError(
      `${file}: input "${v.name}" has a dynamic size${d.dimParam ? ` "${d.dimParam}"` : ""} on axis ${axis}: graphnet plans every size but the batch (the first axis); export the model with that size fixed.`,
    );
  });
}

function constantNodeValue(node: NodeProto, file: string): Constant {
  const a = node.attribute?.[0];
  if (!a) throw new UserError(`${file}: Constant node "${node.name}" holds no value.`);
  if (a.name === "value" && a.t) return tensorValues(a.t, file);
  if (a.name === "value_float") return { dims: [], values: Float64Array.of(a.f ?? 0) };
  if (a.name === "value_floats") return { dims: [a.floats!.length], values: Float64Array.from(a.floats!) };
  if (a.name === "value_int") return { dims: [], values: Float64Array.of(toNumber(a.i)) };
  if (a.name === "value_ints") return { dims: [a.ints!.length], values: Float64Array.from(a.ints!.map(toNumber)) };
  throw new UserError(`${file}: Constant node "${node.name}" holds a ${a.name}, which graphnet does not read.`);
}

function readMetadata(props: readonly { key?: string | null; value?: string | null }[], file: string): GraphnetMetadata | undefined {
  const entry = props.find((p) => p.key === METADATA_KEY);
  if (!entry?.value) return undefined;
  try {
    const parsed = JSON.parse(entry.value) as GraphnetMetadata;
    return { outputs: parsed.outputs ?? {}, feeds: parsed.feeds ?? {}, inits: parsed.inits ?? {}, ...(parsed.head ? { head: parsed.head } : {}) };
  } catch {
    throw new UserError(`${file}: the model's "${METADATA_KEY}" metadata is not JSON.`);
  }
}

function withoutOp(saved: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const { op: _op, ...rest } = saved;
  return rest;
}

/** Names every JavaScript object has, which ids must not be (validate.ts refuses them). */
const OBJECT_PROPERTY_NAMES = new Set(Object.getOwnPropertyNames(Object.prototype));

/**
 * An ONNX name as a graphnet id: PyTorch's "/fc1/Gemm_output_0" → "fc1/Gemm", "onnx::MatMul_12" →
 * "onnx__MatMul_12", "0.weight" → "_0.weight" (each "/"-part starts with a letter or "_", as ids do).
 */
export function sanitizeId(name: string): string {
  const parts = name
    .replace(/_output_0$/, "")
    .split("/")
    .filter((p) => p !== "")
    .map((p) => {
      const cleaned = p.replace(/[^A-Za-z0-9_.-]/g, "_");
      return /^[A-Za-z_]/.test(cleaned) ? cleaned : `_${cleaned}`;
    });
  const id = parts.length > 0 ? parts.join("/") : "value";
  return parts.length === 1 && OBJECT_PROPERTY_NAMES.has(id) ? `${id}_` : id;
}

/** The ids given so far: each name gets its readable id, or that id with _2, _3 … when it is taken. */
class IdSet {
  private readonly used = new Set<string>();
  claim(name: string, sanitize = true): string {
    const base = sanitize ? sanitizeId(name) : name;
    let id = base;
    for (let k = 2; this.used.has(id); k++) id = `${base}_${k}`;
    this.used.add(id);
    return id;
  }
}
