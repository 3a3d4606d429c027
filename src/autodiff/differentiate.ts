/**
 * Reverse-mode automatic differentiation as a graph transform: Graph → Graph + backward nodes.
 *
 * Walk the forward nodes that lie on a path from a wanted value to the loss, in reverse topological
 * order. At each node, its op's gradient rule turns d(loss)/d(output) into nodes for d(loss)/d(input).
 * Where a value feeds several nodes its gradient contributions are summed with `add`; where an op
 * broadcast an input, the contribution is summed back to the input's shape with `sum_to` — here, once,
 * for every op. The result names each wanted value's gradient in `graph.gradients`.
 *
 * Node ids of the backward graph read as mathematics: `grad/W1` is d(loss)/d(W1); when a value feeds
 * several nodes, `grad/v@n` is the part that flows back through node n; `grad/n.k` are the helper
 * nodes of n's gradient rule. An id already taken gets #2, #3 …, so differentiating a differentiated
 * graph again adds a second backward pass beside the first, never a duplicate id (and repoints
 * `gradients` to it). The result is an ordinary graph file: validation accepts "grad/…" ids in a graph
 * that has `gradients` (see src/graph-file/document-schema.ts).
 *
 * A wanted value gets a zero gradient only when the loss does not depend on it at all. One whose every
 * path to the loss enters some node through an input the op does not differentiate (the labels of a
 * loss) is refused with a GraphError: the loss does depend on it, so a zero would be a wrong number
 * handed over silently — for a parameter, one that is never trained.
 */
import { castDraft, produce } from "immer";
import { GraphError } from "../graph/errors.js";
import { formatShape, sameShape, type Attrs, type Graph, type GraphNode, type Shape } from "../graph/ir.js";
import { BACKWARD_ID_PREFIX } from "../graph-file/document-schema.js";
import { inferNodeShape, inferShapes } from "../graph-file/shapes.js";
import { topologicalOrder } from "../graph/topology.js";
import type { GradientBuilder, ValueRef } from "../ops/op.js";
import { getOp } from "../ops/registry.js";

export interface DifferentiateOptions {
  /** The value to differentiate; defaults to the graph's `loss`. */
  readonly loss?: string;
  /**
   * The values whose gradients are wanted; defaults to every parameter. Any value may be named (an
   * input, an intermediate), and the same rule holds for all: a zero gradient when the loss does not
   * depend on it, a GraphError when it does but only through inputs that have no gradient (asking for
   * the gradient of the labels of softmax_cross_entropy is an error, not a zero: the loss varies with them).
   */
  readonly wrt?: readonly string[];
}

/** The id of the backward node holding the gradient of value `valueId`: "grad/" and the value's id. */
export function gradientId(valueId: string): string {
  return `${BACKWARD_ID_PREFIX}${valueId}`;
}

/** Whether `id` names a backward node (one autodiff added), by the prefix validation reserves for them. */
export function isBackwardNode(id: string): boolean {
  return id.startsWith(BACKWARD_ID_PREFIX);
}

export function differentiate(graph: Graph, options: DifferentiateOptions = {}): Graph {
  const loss = options.loss ?? graph.loss;
  if (loss === undefined) throw new GraphError(`there is no loss to differentiate: set "loss" in the graph file or pass one.`, { field: "loss" });
  const byId = new Map(graph.nodes.map((n) => [n.id, n]));
  if (!byId.has(loss)) throw new GraphError(`the loss "${loss}" is not a node of the graph.`, { field: "loss" });
  const wrt = options.wrt ?? graph.nodes.filter((n) => getOp(n.op)?.role === "parameter").map((n) => n.id);
  for (const id of wrt) {
    if (!byId.has(id)) throw new GraphError(`cannot differentiate with respect to "${id}": no such node.`, { field: "wrt" });
  }

  const shapes = inferShapes(graph);
  const onPath = nodesOnPaths(graph, wrt, loss);
  const order = topologicalOrder(graph).filter((id) => onPath.has(id));
  const pending = new BackwardNodes(shapes);

  // How many gradient contributions each value will receive: one per use by a node on the path.
  const uses = new Map<string, number>();
  for (const id of order) for (const input of byId.get(id)!.inputs) if (onPath.has(input)) uses.set(input, (uses.get(input) ?? 0) + 1);

  const contributions = new Map<string, ValueRef[]>();
  const gradients = new Map<string, ValueRef>();
  /** For a node on the path: the indices of its inputs whose gradient was needed but which its rule does not differentiate. */
  const blocked = new Map<string, Set<number>>();
  const lossShape = shapes.get(loss)!;
  // Seeded only when something wanted reaches the loss; otherwise it would be a node nothing reads.
  if (onPath.has(loss)) gradients.set(loss, pending.add(gradientId(loss), "constant", [], { shape: [...lossShape], value: 1 }));

  for (const id of [...order].reverse()) {
    const node = byId.get(id)!;
    if (id !== loss) {
      const parts = contributions.get(id) ?? [];
      // Every consumer's rule declared it not differentiable (the labels of a loss): no gradient flows here.
      if (parts.length === 0) continue;
      gradients.set(id, pending.accumulate(id, parts));
    }
    const needed = node.inputs.map((input) => onPath.has(input));
    if (!needed.some(Boolean)) continue;

    const op = getOp(node.op)!;
    if (!op.gradient) {
      throw new GraphError(
        `op "${node.op}" has no gradient rule, so the gradient cannot flow back through this node to ${node.inputs.filter((_, i) => needed[i]).join(", ")}.`,
        { nodeId: id, field: "op" },
      );
    }
    const builder = pending.builderFor(node, gradients.get(id)!, needed);
    const results = op.gradient(builder);
    if (results.length !== node.inputs.length) {
      throw new Error(`internal: the gradient rule of op "${node.op}" returned ${results.length} gradients for ${node.inputs.length} inputs (node "${id}")`);
    }
    node.inputs.forEach((input, i) => {
      const result = results[i];
      if (!needed[i]) return;
      if (result === null || result === undefined) {
        blocked.set(id, (blocked.get(id) ?? new Set()).add(i));
        return;
      }
      const single = uses.get(input) === 1;
      const name = single ? gradientId(input) : `${gradientId(input)}@${id}`;
      const contribution = pending.shapedAs(result, shapes.get(input)!, name, node);
      contributions.set(input, [...(contributions.get(input) ?? []), contribution]);
    });
    pending.commitRule();
  }

  const gradientOutputs = new Map<string, string>();
  for (const id of wrt) {
    if (gradientOutputs.has(id)) continue;
    const gradient = gradients.get(id);
    if (gradient !== undefined) {
      gradientOutputs.set(id, gradient);
      continue;
    }
    // On a path to the loss, yet no gradient: every such path is cut at an input without one.
    if (onPath.has(id)) throw blockedGradientError(id, loss, byId, onPath, gradients, blocked);
    // The loss does not depend on it: its gradient is truly zero.
    gradientOutputs.set(id, pending.add(gradientId(id), "constant", [], { shape: [...shapes.get(id)!], value: 0 }));
  }

  const added = pending.nodes;
  return produce(graph, (draft) => {
    // One by one: push(...added) would pass every backward node as an argument, too many for the stack on a long chain.
    for (const node of castDraft(added)) draft.nodes.push(node);
    // Object.fromEntries defines own properties, so even an id such as "__proto__" stays a key.
    draft.gradients = Object.fromEntries([...Object.entries(graph.gradients ?? {}), ...gradientOutputs]);
  });
}

/**
 * Why `valueId`, which reaches the loss, gets no gradient: the nearest inputs, following its consumers
 * toward the loss, through which no gradient flows back.
 */
function blockedGradientError(
  valueId: string,
  loss: string,
  byId: ReadonlyMap<string, GraphNode>,
  onPath: ReadonlySet<string>,
  gradients: ReadonlyMap<string, ValueRef>,
  blocked: ReadonlyMap<string, ReadonlySet<number>>,
): GraphError {
  const consumers = new Map<string, GraphNode[]>();
  for (const node of byId.values()) {
    if (!onPath.has(node.id)) continue;
    for (const input of new Set(node.inputs)) if (onPath.has(input)) consumers.set(input, [...(consumers.get(input) ?? []), node]);
  }
  // Breadth-first from the value: a consumer that got no gradient either is cut off further on (follow it)
  // or declined this very input (a blocking input).
  const found: { node: GraphNode; index: number }[] = [];
  const seen = new Set([valueId]);
  const queue = [valueId];
  for (let head = 0; head < queue.length; head++) {
    const value = queue[head]!;
    for (const consumer of consumers.get(value) ?? []) {
      consumer.inputs.forEach((input, index) => {
        if (input === value && blocked.get(consumer.id)?.has(index)) found.push({ node: consumer, index });
      });
      if (!gradients.has(consumer.id) && !seen.has(consumer.id)) {
        seen.add(consumer.id);
        queue.push(consumer.id);
      }
    }
  }
  const first = found[0];
  if (first === undefined) throw new Error(`internal: "${valueId}" is on a path to the loss but got no gradient, and no input blocks it`);
  const describe = ({ node, index }: { node: GraphNode; index: number }) => {
    const via = node.inputs[index] === valueId ? "" : ` (the value "${node.inputs[index]}", computed from "${valueId}")`;
    return `node "${node.id}" (${node.op}) through input "${getOp(node.op)?.inputs[index] ?? index}"${via}`;
  };
  const cut =
    found.length === 1
      ? `its only path to the loss enters ${describe(first)}, which has no gradient.`
      : `each of its paths to the loss enters a node through an input that has no gradient: ${found.map(describe).join("; ")}.`;
  const { node, index } = first;
  return new GraphError(
    `no gradient reaches "${valueId}": ${cut} The loss "${loss}" depends on "${valueId}", so a zero gradient would be wrong; ` +
      `connect "${valueId}" to the loss through an input that has a gradient, or leave it out.`,
    { nodeId: node.id, field: `inputs[${index}]` },
  );
}

/** The nodes that lie on some path from a value in `from` to `to` (both ends included). */
function nodesOnPaths(graph: Graph, from: readonly string[], to: string): Set<string> {
  const byId = new Map(graph.nodes.map((n) => [n.id, n]));
  const ancestors = new Set<string>();
  const stack = [to];
  while (stack.length > 0) {
    const id = stack.pop()!;
    if (ancestors.has(id)) continue;
    ancestors.add(id);
    stack.push(...byId.get(id)!.inputs);
  }
  const consumers = new Map<string, string[]>();
  for (const node of graph.nodes) for (const input of node.inputs) consumers.set(input, [...(consumers.get(input) ?? []), node.id]);
  const onPath = new Set<string>();
  const frontier = from.filter((id) => ancestors.has(id));
  while (frontier.length > 0) {
    const id = frontier.pop()!;
    if (onPath.has(id)) continue;
    onPath.add(id);
    for (const c of consumers.get(id) ?? []) if (ancestors.has(c)) frontier.push(c);
  }
  return onPath;
}

/** The backward nodes being built, their shapes, and the naming of gradient values. */
class BackwardNodes {
  readonly nodes: GraphNode[] = [];
  private readonly shapes: Map<string, Shape>;
  /** Nodes emitted by the gradient rule now running; they may still be renamed. */
  private ruleStart = 0;
  /** Renames made within the current rule, for a node returned as the gradient of two inputs. */
  private renamed = new Map<string, string>();

  constructor(forwardShapes: ReadonlyMap<string, Shape>) {
    this.shapes = new Map(forwardShapes);
  }

  add(id: string, op: string, inputs: readonly ValueRef[], attrs: Attrs = {}): ValueRef {
    const unique = this.uniqueId(id);
    const node: GraphNode = { id: unique, op, inputs: [...inputs], attrs };
    this.shapes.set(
      unique,
      inferNodeShape(
        node,
        inputs.map((i) => this.shapeOf(i)),
      ),
    );
    this.nodes.push(node);
    return unique;
  }

  shapeOf(value: ValueRef): Shape {
    const shape = this.shapes.get(value);
    if (!shape) throw new Error(`internal: no shape for "${value}"`);
    return shape;
  }

  builderFor(node: GraphNode, dy: ValueRef, needed: readonly boolean[]): GradientBuilder<any> {
    this.commitRule();
    let helper = 0;
    return {
      node,
      inputs: node.inputs,
      output: node.id,
      dy,
      needs: (i) => needed[i] === true,
      shapeOf: (value) => this.shapeOf(value),
      emit: (op, inputs, attrs = {}) => {
        if (!getOp(op)) throw new Error(`internal: the gradient rule of "${node.op}" emits unknown op "${op}"`);
        return this.add(`${gradientId(node.id)}.${++helper}`, op, inputs, attrs);
      },
    };
  }

  /**
   * The contribution `result` to an input of shape `target`, summed back over broadcast axes when the
   * op broadcast that input, and given the name it has in the mathematics when this rule made it.
   */
  shapedAs(result: ValueRef, target: Shape, name: string, node: GraphNode): ValueRef {
    const shape = this.shapeOf(result);
    let value = result;
    if (!sameShape(shape, target)) {
      try {
        value = this.add(name, "sum_to", [result], { shape: [...target] });
      } catch (err) {
        throw new GraphError(
          `the gradient rule of op "${node.op}" produced a gradient of shape ${formatShape(shape)} for an input of shape ${formatShape(target)}, which cannot be summed back to it (${(err as Error).message})`,
          { nodeId: node.id, field: "op" },
        );
      }
    }
    return this.rename(value, name);
  }

  /** The sum of a value's gradient contributions, as a chain of `add` nodes. */
  accumulate(valueId: string, parts: readonly ValueRef[]): ValueRef {
    if (parts.length === 0) throw new Error(`internal: no gradient reached "${valueId}"`);
    let sum = parts[0]!;
    for (let i = 1; i < parts.length; i++) {
      const name = i === parts.length - 1 ? gradientId(valueId) : `${gradientId(valueId)}+${i}`;
      sum = this.add(name, "add", [sum, parts[i]!]);
    }
    return sum;
  }

  /** Freeze the nodes of the rule just run: later renames must not touch them. */
  commitRule(): void {
    this.ruleStart = this.nodes.length;
    this.renamed.clear();
  }

  /** Rename a node made by the current rule (and the references to it); other values keep their id. */
  private rename(value: ValueRef, wanted: string): ValueRef {
    const earlier = this.renamed.get(value);
    if (earlier !== undefined) return earlier;
    let index = -1;
    for (let i = this.ruleStart; i < this.nodes.length && index < 0; i++) if (this.nodes[i]!.id === value) index = i;
    if (index < 0 || value === wanted) return value;
    // The node's own id is free to take: a value first named grad/b#2 (grad/b being taken) stays grad/b#2, not #3.
    const shape = this.shapes.get(value)!;
    this.shapes.delete(value);
    const id = this.uniqueId(wanted);
    const swap = (ref: string) => (ref === value ? id : ref);
    for (let i = this.ruleStart; i < this.nodes.length; i++) {
      const n = this.nodes[i]!;
      this.nodes[i] = { ...n, id: swap(n.id), inputs: n.inputs.map(swap) };
    }
    this.shapes.set(id, shape);
    this.renamed.set(value, id);
    return id;
  }

  private uniqueId(id: string): string {
    if (!this.shapes.has(id)) return id;
    let k = 2;
    while (this.shapes.has(`${id}#${k}`)) k++;
    return `${id}#${k}`;
  }
}
