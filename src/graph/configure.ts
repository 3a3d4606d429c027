/**
 * Graph → Graph transforms that settle what a graph file leaves to its training configuration.
 */
import { produce } from "immer";
import { abbreviate } from "./abbreviate.js";
import { GraphError } from "./errors.js";
import type { Graph } from "./ir.js";
import { topologicalOrder } from "./topology.js";
import { ACTIVATIONS } from "./training.js";
import { plural } from "./plural.js";

export type Activation = (typeof ACTIVATIONS)[number];

/**
 * Gives every dropout node that does not fix its own rate the given one. A graph file usually leaves
 * the rate to its training section (dropout_rate, switched by use_dropout), so that one flag turns
 * dropout on or off for the whole network.
 */
export function withDropoutRate(graph: Graph, rate: number): Graph {
  return produce(graph, (draft) => {
    for (const node of draft.nodes) {
      if (node.op === "dropout" && node.attrs.rate === undefined) node.attrs = { ...node.attrs, rate };
    }
  });
}

/**
 * Removes the dropout nodes whose rate is 0 or absent — the identity, which is what withDropoutRate makes
 * of them when a training section turns dropout off — and hands their consumers (and the graph's loss and
 * outputs) their input instead: planned as they are, each would be a copy in the forward pass and
 * another in the backward pass, for nothing.
 */
export function withoutIdentityDropout(graph: Graph): Graph {
  const identity = new Map(graph.nodes.filter((n) => n.op === "dropout" && (n.attrs.rate ?? 0) === 0).map((n) => [n.id, n.inputs[0]!]));
  if (identity.size === 0) return graph;
  // A chain of them resolves to the first input that is not one (followed in a loop: a chain may be long).
  const source = (id: string): string => {
    let at = id;
    while (identity.has(at)) at = identity.get(at)!;
    return at;
  };
  return produce(graph, (draft) => {
    draft.nodes = draft.nodes.filter((n) => !identity.has(n.id));
    for (const node of draft.nodes) node.inputs = node.inputs.map(source);
    if (draft.loss !== undefined) draft.loss = source(draft.loss);
    if (draft.outputs) for (const name of Object.keys(draft.outputs)) draft.outputs[name] = source(draft.outputs[name]!);
  });
}

/** What a run's dropout does, as its header says it; and a warning when the settings switch nothing. */
export interface DropoutDescription {
  /** "dropout 0.1", "dropout 0.5 at d1 (its own rate)", …; null when no node drops anything. */
  readonly summary: string | null;
  readonly warning?: string;
}

/**
 * The dropout of a graph as configured for training (withDropoutRate applied): the rates its nodes will
 * drop at, which are not always the training section's — a node may fix its own rate, which use_dropout
 * does not switch off — and whether use_dropout is on for a graph with no node it could switch.
 */
export function describeDropout(graph: Graph, config: { readonly use_dropout: boolean; readonly dropout_rate: number }): DropoutDescription {
  const dropouts = graph.nodes.filter((n) => n.op === "dropout");
  const warning =
    config.use_dropout && dropouts.length === 0 ? "use_dropout is on, but the graph has no dropout node: nothing is dropped." : undefined;
  const byRate = new Map<number, string[]>();
  for (const node of dropouts) {
    const rate = (node.attrs.rate as number | undefined) ?? 0;
    if (rate > 0) byRate.set(rate, [...(byRate.get(rate) ?? []), node.id]);
  }
  const active = [...byRate.values()].flat();
  if (active.length === 0) return { summary: null, ...(warning ? { warning } : {}) };
  // The common case in the header's old words: every dropout node at the training section's rate.
  if (config.use_dropout && byRate.size === 1 && byRate.has(config.dropout_rate) && active.length === dropouts.length) {
    return { summary: `dropout ${config.dropout_rate}` };
  }
  const parts = [...byRate].map(([rate, ids]) => {
    const own = !config.use_dropout || rate !== config.dropout_rate;
    return `dropout ${rate} at ${abbreviate(ids)}${own ? ` (${ids.length === 1 ? "its" : "their"} own rate)` : ""}`;
  });
  return { summary: parts.join(", ") };
}

/** The activation nodes (relu, sigmoid, tanh), in the order data flows through them. */
function activationNodes(graph: Graph): string[] {
  const byId = new Map(graph.nodes.map((n) => [n.id, n]));
  return topologicalOrder(graph).filter((id) => (ACTIVATIONS as readonly string[]).includes(byId.get(id)!.op));
}

/**
 * The network as a run's header and report name it: the activation of each hidden layer in order
 * ("relu/tanh"), as the graph trained has them — not the training section's default list, which a graph
 * with its own activations ignores — or, for a graph with none of --activations' functions, its size.
 */
export function describeNetwork(graph: Graph): string {
  const activations = activationsOf(graph);
  return activations.length > 0 ? activations.join("/") : `${graph.nodes.length} nodes`;
}

/** The activation function of each hidden layer, as the graph has them. */
export function activationsOf(graph: Graph): Activation[] {
  const byId = new Map(graph.nodes.map((n) => [n.id, n]));
  return activationNodes(graph).map((id) => byId.get(id)!.op as Activation);
}

/**
 * Throws unless `listed` — a training section's activation_functions — names the graph's activation
 * nodes' functions, in data-flow order: a silent disagreement would train another network than the one
 * the file shows. The error points at the first entry that differs (or at the list, when the counts
 * differ), and a long list is shown by its ends.
 */
export function checkActivationsAgree(graph: Graph, listed: readonly Activation[]): void {
  const byId = new Map(graph.nodes.map((n) => [n.id, n]));
  const ids = activationNodes(graph);
  const inGraph = ids.map((id) => byId.get(id)!.op);
  const fix = "make them agree, or choose with --activations.";
  if (ids.length !== listed.length) {
    const nodes =
      ids.length === 0
        ? "no activation nodes"
        : `${plural(ids.length, "activation node")}, in data-flow order ${abbreviate(ids.map((id, k) => `${id} (${inGraph[k]})`))}`;
    throw new GraphError(
      `the training section lists ${plural(listed.length, "activation function")} (${abbreviate(listed)}), but the graph has ${nodes}; ${fix}`,
      {
        field: "training.activation_functions",
        path: ["training", "activation_functions"],
      },
    );
  }
  const k = listed.findIndex((f, i) => f !== inGraph[i]);
  if (k < 0) return;
  throw new GraphError(
    `entry ${k} is "${listed[k]}", but the graph's activation node number ${k} (counting from 0, in data-flow order), "${ids[k]}", is ${inGraph[k]}: ` +
      `the training section lists [${abbreviate(listed)}] and the graph has [${abbreviate(inGraph)}]; ${fix}`,
    { field: `training.activation_functions[${k}]`, path: ["training", "activation_functions", k] },
  );
}

/**
 * Replaces the op of each activation node, in data-flow order, by the given functions — the report's
 * `activation_functions` ("relu,tanh" for its two hidden layers). As in the report, the layer's weight
 * follows its activation: He initialisation before relu, Xavier otherwise (when the file chose one of
 * the two; an explicit "normal" or "zeros" is left alone).
 */
export function withActivations(graph: Graph, activations: readonly Activation[]): Graph {
  const ids = activationNodes(graph);
  if (ids.length !== activations.length) {
    throw new GraphError(
      `${plural(activations.length, "activation function")} ${activations.length === 1 ? "was" : "were"} given (${abbreviate(activations)}), but the graph has ${plural(ids.length, "activation node")}` +
        `${ids.length > 0 ? ` (${abbreviate(ids)})` : ""}; give one function per node, in data-flow order.`,
      { field: "training.activation_functions" },
    );
  }
  const weightInit = new Map<string, string>();
  ids.forEach((id, k) => {
    const weight = layerWeight(graph, id);
    if (weight) weightInit.set(weight, activations[k] === "relu" ? "he_normal" : "xavier_normal");
  });
  return produce(graph, (draft) => {
    for (const node of draft.nodes) {
      const k = ids.indexOf(node.id);
      if (k >= 0) node.op = activations[k]!;
      const init = weightInit.get(node.id);
      if (init && (node.attrs.init === "he_normal" || node.attrs.init === "xavier_normal")) node.attrs = { ...node.attrs, init };
    }
  });
}

/** The weight of a dense layer ending in `activation`: activation(add(matmul(h, W), b)) → W. */
function layerWeight(graph: Graph, activation: string): string | undefined {
  const byId = new Map(graph.nodes.map((n) => [n.id, n]));
  let node = byId.get(byId.get(activation)!.inputs[0]!);
  if (node?.op === "add") node = node.inputs.map((i) => byId.get(i)).find((n) => n?.op === "matmul");
  const weight = node?.op === "matmul" ? byId.get(node.inputs[1]!) : undefined;
  return weight?.op === "parameter" ? weight.id : undefined;
}
