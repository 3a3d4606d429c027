/**
 * The graph's structure through graphology: topological order and cycle detection.
 *
 * Every algorithm here is iterative (graphology-dag's Kahn sort and cycle test, and the cycle's
 * localisation below): a graph may be a chain of 100,000 nodes, and recursion that follows the graph's
 * depth would overflow the stack long before that.
 *
 * Graphology keeps each node's neighbours in plain objects keyed by node key, where an id such as
 * "toString" or "__proto__" would find a property every object inherits (an edge that seems to exist,
 * or a prototype set). Validation refuses such ids, but autodiff and the planner also take graphs built
 * in code. So graphology never sees an id: its nodes are the positions of the ids ("0", "1", …), and
 * results are mapped back to ids.
 */
import { DirectedGraph } from "graphology";
import { hasCycle, topologicalSort } from "graphology-dag";
import type { Graph, GraphNode } from "./ir.js";

/** A graphology view of the dataflow, an edge from each input to the node consuming it, and the id of each of its nodes. */
interface IndexedGraph {
  readonly g: DirectedGraph;
  /** The id of graphology node `String(i)` is ids[i]. */
  readonly ids: readonly string[];
  /** inputsOf[i]: the positions of node i's inputs that are nodes of the graph, in the order it lists them (repeats kept). */
  readonly inputsOf: readonly (readonly number[])[];
}

function toGraphology(graph: Graph): IndexedGraph {
  const g = new DirectedGraph({ allowSelfLoops: true, multi: false });
  // One graphology node per distinct id, in the order of first appearance (a repeated id is one node, as before).
  const indexOf = new Map<string, number>();
  const ids: string[] = [];
  const inputsOf: number[][] = [];
  for (const node of graph.nodes) {
    if (indexOf.has(node.id)) continue;
    indexOf.set(node.id, ids.length);
    g.addNode(String(ids.length));
    ids.push(node.id);
    inputsOf.push([]);
  }
  for (const node of graph.nodes) {
    const target = indexOf.get(node.id)!;
    for (const input of node.inputs) {
      const source = indexOf.get(input);
      if (source === undefined) continue;
      inputsOf[target]!.push(source);
      g.mergeEdge(String(source), String(target));
    }
  }
  return { g, ids, inputsOf };
}

/**
 * The ids of one cycle, in dataflow order (each node consumes the one before it, and the first consumes
 * the last), starting at the cycle's node that comes first in the graph; or null when the graph is acyclic.
 */
export function findCycle(graph: Graph): string[] | null {
  return orderOrCycle(graph).cycle;
}

/**
 * In one pass over the graph (building graphology's view of 100,000 nodes takes a good part of a second):
 * the topological order of topologicalOrder, or the cycle of findCycle that prevents one.
 */
export function orderOrCycle(graph: Graph): { order: string[]; cycle: null } | { order: null; cycle: string[] } {
  const { g, ids, inputsOf } = toGraphology(graph);
  if (hasCycle(g)) return { order: null, cycle: locateCycle(inputsOf).map((i) => ids[i]!) };
  return { order: topologicalSort(g).map((key) => ids[Number(key)]!), cycle: null };
}

/**
 * One cycle of a graph known to have one, as positions in dataflow order.
 *
 * Peeling off, as Kahn's sort does, every node whose inputs are all peeled leaves exactly the nodes on
 * a cycle or downstream of one, and each of those has an input among them. So walking from any of them
 * to such an input, again and again, must come back to a node already met: the walk from there on is a
 * cycle. Linear in the size of the graph, without recursion.
 */
function locateCycle(inputsOf: readonly (readonly number[])[]): number[] {
  const n = inputsOf.length;
  const consumers: number[][] = Array.from({ length: n }, () => []);
  const waiting = new Int32Array(n); // inputs not yet peeled, repeats counted
  inputsOf.forEach((inputs, i) => {
    waiting[i] = inputs.length;
    for (const input of inputs) consumers[input]!.push(i);
  });
  const queue: number[] = [];
  for (let i = 0; i < n; i++) if (waiting[i] === 0) queue.push(i);
  for (let head = 0; head < queue.length; head++) {
    for (const consumer of consumers[queue[head]!]!) if (--waiting[consumer]! === 0) queue.push(consumer);
  }
  const start = waiting.findIndex((w) => w > 0);
  if (start < 0) throw new Error("internal: locateCycle was given an acyclic graph");

  // Walk against the dataflow, always to the first input not peeled, until a node comes round again.
  const visitedAt = new Map<number, number>();
  const walk: number[] = [];
  let current = start;
  while (!visitedAt.has(current)) {
    visitedAt.set(current, walk.length);
    walk.push(current);
    current = inputsOf[current]!.find((input) => waiting[input]! > 0)!;
  }
  // walk[k] consumes walk[k+1]: reversed, the loop reads in dataflow order.
  const cycle = walk.slice(visitedAt.get(current)!).reverse();
  // Start at its earliest node, so that the message does not depend on where the walk began.
  let first = 0;
  for (let k = 1; k < cycle.length; k++) if (cycle[k]! < cycle[first]!) first = k;
  return [...cycle.slice(first), ...cycle.slice(0, first)];
}

/** Node ids in an order where every node comes after its inputs (the file's order breaks ties). */
export function topologicalOrder(graph: Graph): string[] {
  const { g, ids } = toGraphology(graph);
  return topologicalSort(g).map((key) => ids[Number(key)]!);
}

/**
 * The given nodes and every node they are computed from, found with a loop (a graph may be 100,000 nodes
 * deep). An id `byId` lacks counts as a node without inputs.
 */
export function ancestorsOf(ids: readonly string[], byId: ReadonlyMap<string, GraphNode>): Set<string> {
  const seen = new Set(ids);
  const stack = [...ids];
  while (stack.length > 0) {
    for (const input of byId.get(stack.pop()!)?.inputs ?? []) {
      if (seen.has(input)) continue;
      seen.add(input);
      stack.push(input);
    }
  }
  return seen;
}
