/**
 * The graph's structure through graphology: topological order and cycle detection.
 */
import { DirectedGraph } from "graphology";
import { topologicalSort } from "graphology-dag";
import { stronglyConnectedComponents } from "graphology-components";
import type { Graph } from "./ir.js";

/** A graphology view of the dataflow: an edge from each input to the node consuming it. */
export function toGraphology(graph: Graph): DirectedGraph {
  const g = new DirectedGraph({ allowSelfLoops: true, multi: false });
  for (const node of graph.nodes) g.mergeNode(node.id);
  for (const node of graph.nodes) {
    for (const input of node.inputs) {
      if (g.hasNode(input)) g.mergeEdge(input, node.id);
    }
  }
  return g;
}

/**
 * The ids of one cycle, in dataflow order, or null when the graph is acyclic.
 * A strongly connected component with more than one node (or a node feeding itself) holds a cycle.
 */
export function findCycle(graph: Graph): string[] | null {
  const g = toGraphology(graph);
  for (const component of stronglyConnectedComponents(g)) {
    if (component.length > 1) return orderCycle(g, component);
    const only = component[0]!;
    if (g.hasEdge(only, only)) return [only];
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
  return topologicalSort(toGraphology(graph));
}
