/**
 * The graph's structure through graphology: topological order and cycle detection.
 *
 * Graphology keeps each node's neighbours in plain objects keyed by node key, where an id such as
 * "toString" or "__proto__" would find a property every object inherits (an edge that seems to exist,
 * or a prototype set). Validation refuses such ids, but autodiff and the planner also take graphs built
 * in code. So graphology never sees an id: its nodes are the positions of the ids ("0", "1", …), and
 * results are mapped back to ids.
 */
import { DirectedGraph } from "graphology";
import { topologicalSort } from "graphology-dag";
import { stronglyConnectedComponents } from "graphology-components";
import type { Graph } from "./ir.js";

/** A graphology view of the dataflow, an edge from each input to the node consuming it, and the id of each of its nodes. */
interface IndexedGraph {
  readonly g: DirectedGraph;
  /** The id of graphology node `String(i)` is ids[i]. */
  readonly ids: readonly string[];
}

function toGraphology(graph: Graph): IndexedGraph {
  const g = new DirectedGraph({ allowSelfLoops: true, multi: false });
  // One graphology node per distinct id, in the order of first appearance (a repeated id is one node, as before).
  const indexOf = new Map<string, string>();
  const ids: string[] = [];
  for (const node of graph.nodes) {
    if (indexOf.has(node.id)) continue;
    const key = String(ids.length);
    indexOf.set(node.id, key);
    ids.push(node.id);
    g.addNode(key);
  }
  for (const node of graph.nodes) {
    const target = indexOf.get(node.id)!;
    for (const input of node.inputs) {
      const source = indexOf.get(input);
      if (source !== undefined) g.mergeEdge(source, target);
    }
  }
  return { g, ids };
}

/**
 * The ids of one cycle, in dataflow order, or null when the graph is acyclic.
 * A strongly connected component with more than one node (or a node feeding itself) holds a cycle.
 */
export function findCycle(graph: Graph): string[] | null {
  const { g, ids } = toGraphology(graph);
  for (const component of stronglyConnectedComponents(g)) {
    if (component.length > 1) return orderCycle(g, component).map((key) => ids[Number(key)]!);
    const only = component[0]!;
    if (g.hasEdge(only, only)) return [ids[Number(only)]!];
  }
  return null;
}

/** The shortest way round from the component's first node back to itself, found breadth-first. */
function orderCycle(g: DirectedGraph, component: string[]): string[] {
  const members = new Set(component);
  const start = component[0]!;
  const cameFrom = new Map<string, string>();
  const queue = [start];
  for (let head = 0; head < queue.length; head++) {
    const current = queue[head]!;
    for (const next of g.outNeighbors(current)) {
      if (next === start) {
        const path = [current];
        while (path[0] !== start) path.unshift(cameFrom.get(path[0]!)!);
        return path;
      }
      if (members.has(next) && !cameFrom.has(next)) {
        cameFrom.set(next, current);
        queue.push(next);
      }
    }
  }
  return component; // unreachable for a strongly connected component
}

/** Node ids in an order where every node comes after its inputs (the file's order breaks ties). */
export function topologicalOrder(graph: Graph): string[] {
  const { g, ids } = toGraphology(graph);
  return topologicalSort(g).map((key) => ids[Number(key)]!);
}
