/**
 * Which nodes may overwrite which values. A kernel writes only its output, except that in training mode
 * an op rewrites the inputs it declares in `updates` (a batch norm's running averages). Those must be
 * non-trainable state — values that live across runs in storage of their own, never a computed value
 * whose memory later steps reuse, nor a parameter or a fed input — and each state is updated by one
 * node only, so that a training step updates it exactly once.
 */
import { GraphError } from "../graph/errors.js";
import type { Graph } from "../graph/ir.js";
import { getOp } from "../ops/registry.js";

/** Throws a GraphError at the first update of something that is not state, or of a state already updated by another node. */
export function checkStateUpdates(graph: Graph): void {
  const byId = new Map(graph.nodes.map((n) => [n.id, n]));
  const updatedBy = new Map<string, string>();
  graph.nodes.forEach((node, index) => {
    const op = getOp(node.op);
    for (const name of op?.updates ?? []) {
      const k = op!.inputs.indexOf(name);
      const input = node.inputs[k];
      if (input === undefined) continue; // a wrong number of inputs is the arity check's to report
      const where = { nodeId: node.id, field: `inputs[${k}]`, path: ["nodes", index, "inputs", k] };
      const source = byId.get(input);
      const role = source && getOp(source.op)?.role;
      if (role !== "state") {
        const is = source === undefined ? "no node" : `node "${input}" of op "${source.op}"`;
        throw new GraphError(
          `the op "${node.op}" updates its input "${name}" in training mode, so it must be non-trainable state (a node of op "state"), but it is ${is}.`,
          where,
        );
      }
      const other = updatedBy.get(input);
      if (other !== undefined) {
        throw new GraphError(
          `the state "${input}" is already updated by node "${other}": a state is updated by one node only, once per training step. Give this node a state of its own.`,
          where,
        );
      }
      updatedBy.set(input, node.id);
    }
  });
}
