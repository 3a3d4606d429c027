/**
 * What training needs of a graph, beyond its being valid: one input fed the images (features), one fed
 * the labels, a loss computed from both and from some parameter, and the class probabilities, computed
 * from the images. Each is checked before any data is read, and a graph that lacks one is refused with
 * the field or node to fix (which a GraphSource places at its line in the file).
 */
import { getOp } from "../ops/registry.js";
import { abbreviate } from "../graph/abbreviate.js";
import { GraphError } from "../graph/errors.js";
import type { Graph, GraphNode } from "../graph/ir.js";
import { ancestorsOf } from "../graph/topology.js";

/** The graph's roles that the trainer needs: which input takes images, which labels, what is predicted. */
export interface ModelRoles {
  readonly features: string;
  readonly labels: string;
  readonly loss: string;
  readonly probs: string;
}

/** The graph's roles for training, or a GraphError saying what is missing. */
export function modelRoles(graph: Graph): ModelRoles {
  const byId = new Map(graph.nodes.map((n) => [n.id, n]));
  const features = fedInput(graph, "features");
  const labels = fedInput(graph, "labels");
  const loss = computedValue(
    graph.loss,
    byId,
    "loss",
    "the loss",
    `training needs a "loss": the id of the scalar to minimise, such as softmax_cross_entropy(logits, labels).`,
  );
  const probs = computedValue(
    graph.outputs?.probs,
    byId,
    "outputs.probs",
    "the probabilities",
    `training needs "outputs": { "probs": … }, the node giving class probabilities (a softmax of the logits), which accuracy and predictions read.`,
  );

  const lossReads = ancestorsOf([loss], byId);
  const dependsOn = (reads: ReadonlySet<string>, input: string, field: string, problem: string) => {
    if (!reads.has(input)) throw new GraphError(problem, { field });
  };
  dependsOn(
    lossReads,
    labels,
    "loss",
    `the loss "${loss}" does not depend on the labels (input "${labels}"): it must compare the predictions with them, as softmax_cross_entropy(logits, ${labels}) does.`,
  );
  dependsOn(
    lossReads,
    features,
    "loss",
    `the loss "${loss}" does not depend on the images (input "${features}"): it must be computed from the network's predictions for them.`,
  );
  if (![...lossReads].some((id) => getOp(byId.get(id)!.op)?.role === "parameter")) {
    throw new GraphError(`the loss "${loss}" does not depend on any parameter, so training would have nothing to change.`, { field: "loss" });
  }
  dependsOn(
    ancestorsOf([probs], byId),
    features,
    "outputs.probs",
    `the probabilities "${probs}" do not depend on the images (input "${features}"): they must be the network's predictions for them.`,
  );
  return { features, labels, loss, probs };
}

/** The one input with this feed; none or several is an error at the nodes, or at the second such node. */
function fedInput(graph: Graph, feed: "features" | "labels"): string {
  const fed = graph.nodes.filter((n) => getOp(n.op)?.role === "input" && n.attrs.feed === feed);
  if (fed.length === 1) return fed[0]!.id;
  const what = feed === "features" ? "the images" : "the one-hot labels";
  if (fed.length === 0) {
    throw new GraphError(`training needs an input with "feed": "${feed}", which ${what} are fed to; no input has it.`, { field: "nodes" });
  }
  throw new GraphError(
    `training needs exactly one input with "feed": "${feed}", but ${fed.length} have it (${abbreviate(fed.map((n) => n.id))}); ${what} go to one of them.`,
    { nodeId: fed[1]!.id, field: "attrs.feed" },
  );
}

/** The node a field names, which must exist and be computed by the graph (not fed, nor a parameter). */
function computedValue(id: string | undefined, byId: ReadonlyMap<string, GraphNode>, field: string, what: string, missing: string): string {
  if (id === undefined) throw new GraphError(missing, { field: field === "outputs.probs" ? "outputs" : field });
  const node = byId.get(id);
  if (!node) throw new GraphError(`refers to "${id}", but no node has that id.`, { field });
  const role = getOp(node.op)?.role;
  if (role === "input" || role === "parameter") {
    throw new GraphError(
      `${what} "${id}" ${role === "input" ? "is an input, fed from outside" : "is a parameter"}: training needs it computed by the graph from the images.`,
      {
        field,
      },
    );
  }
  return id;
}
