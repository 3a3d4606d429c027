/**
 * The dataflow graph as a picture: a layered layout (dagre) drawn with d3. Each node is a box with its
 * id, op and shape (and, for a backward node, the formula it implements); each edge carries the shape
 * of the tensor flowing along it; the kinds of node are told apart by colour, with a legend.
 */
import { Graph as LayoutGraph, layout } from "@dagrejs/dagre";
import { blockGroups } from "../src/graph-file/blocks.js";
import { curveBasis, line, type Selection } from "d3";
import { isBackwardNode } from "../src/autodiff/differentiate.js";
import { GraphError } from "../src/graph/errors.js";
import { formatShape, type Graph, type GraphNode, type Shape } from "../src/graph/ir.js";
import { inferShapes } from "../src/graph-file/shapes.js";
import { formulaOf } from "../src/ops/op.js";
import { getOp } from "../src/ops/registry.js";
import { svgDocument, textWidth } from "./svg.js";

export type NodeKind = "input" | "parameter" | "state" | "forward" | "loss" | "backward" | "gradient";

export const NODE_STYLES: Record<NodeKind, { readonly label: string; readonly fill: string; readonly stroke: string; readonly dash?: string }> = {
  input: { label: "input (fed)", fill: "#dbeafe", stroke: "#1d4ed8" },
  parameter: { label: "parameter", fill: "#fef3c7", stroke: "#b45309" },
  state: { label: "state (not trained)", fill: "#ccfbf1", stroke: "#0f766e", dash: "2 2" },
  forward: { label: "forward value", fill: "#f3f4f6", stroke: "#374151" },
  loss: { label: "loss", fill: "#fee2e2", stroke: "#b91c1c" },
  backward: { label: "backward value", fill: "#ede9fe", stroke: "#6d28d9", dash: "5 3" },
  gradient: { label: "parameter gradient", fill: "#dcfce7", stroke: "#15803d" },
};

const FONT_SIZE = 12;
const SMALL = 10.5;
const LINE = 15;
const PAD_X = 10;
const PAD_Y = 7;

export function nodeKind(graph: Graph, node: GraphNode): NodeKind {
  const gradientIds = new Set(Object.values(graph.gradients ?? {}));
  if (gradientIds.has(node.id)) return "gradient";
  if (isBackwardNode(node.id)) return "backward";
  const role = getOp(node.op)?.role;
  if (role === "input") return "input";
  if (role === "parameter") return "parameter";
  if (role === "state") return "state";
  if (node.id === graph.loss) return "loss";
  return "forward";
}

interface Box {
  readonly node: GraphNode;
  readonly kind: NodeKind;
  readonly lines: readonly { text: string; size: number; weight?: string }[];
  readonly width: number;
  readonly height: number;
}

function box(graph: Graph, node: GraphNode, shape: Shape): Box {
  const op = getOp(node.op);
  const kind = nodeKind(graph, node);
  const lines = [
    { text: node.id, size: FONT_SIZE, weight: "bold" },
    { text: node.op === "parameter" || node.op === "input" ? `${node.op} ${formatShape(shape)}` : `${node.op} → ${formatShape(shape)}`, size: SMALL },
    ...formulaLine(op && (kind === "backward" || kind === "gradient") ? formulaOf(op, node) : undefined),
  ];
  const width = Math.max(...lines.map((l) => textWidth(l.text, l.size))) + 2 * PAD_X;
  return { node, kind, lines, width, height: lines.length * LINE + 2 * PAD_Y };
}

function formulaLine(formula: string | undefined): { text: string; size: number }[] {
  return formula ? [{ text: formula, size: SMALL }] : [];
}

/**
 * The most nodes a picture draws. dagre's layout recurses along the graph's depth (a chain of 2,000 nodes
 * overflows the stack) and grows slower than linearly with its size; a picture of more than a thousand
 * boxes is not one a person reads anyway.
 */
const MAX_RENDERED_NODES = 1_000;

/** The graph as a standalone SVG document. */
export function renderGraphSvg(graph: Graph, title = graph.name): string {
  if (graph.nodes.length > MAX_RENDERED_NODES) {
    const count = (n: number) => n.toLocaleString("en-US");
    throw new GraphError(
      `the picture would hold ${count(graph.nodes.length)} nodes, more than the ${count(MAX_RENDERED_NODES)} a graph picture is laid out for ` +
        `(its layout recurses along the graph's depth); list the nodes with graphnet inspect instead.`,
    );
  }
  const shapes = inferShapes(graph);
  const boxes = new Map(graph.nodes.map((n) => [n.id, box(graph, n, shapes.get(n.id)!)]));

  const g = new LayoutGraph({ multigraph: true, compound: true });
  g.setGraph({ rankdir: "TB", nodesep: 28, ranksep: 46, edgesep: 14, marginx: 20, marginy: 20 });
  for (const b of boxes.values()) g.setNode(b.node.id, { width: b.width, height: b.height });
  // Each use of a block is a cluster around its nodes (a key no node id can take: ids have no ":").
  const groups = blockGroups(graph).filter((group) => group.nodes.some((id) => boxes.has(id)));
  for (const group of groups) {
    g.setNode(`block:${group.id}`, { paddingTop: LINE + 6 });
    for (const id of group.nodes) if (boxes.has(id)) g.setParent(id, `block:${group.id}`);
  }
  for (const node of graph.nodes) {
    node.inputs.forEach((input, i) => {
      const label = formatShape(shapes.get(input)!);
      g.setEdge(input, node.id, { width: textWidth(label, SMALL - 1) + 6, height: 14, labelpos: "c" }, `${node.id}:${i}`);
    });
  }
  layout(g);

  const legendHeight = 34;
  const size = g.graph() as { width: number; height: number };
  const legend = legendKinds(new Set([...boxes.values()].map((b) => b.kind)));
  const width = Math.max(size.width, legendWidth(legend) + 40);
  const { svg, serialize } = svgDocument(width, size.height + legendHeight, `${title}: ${graph.nodes.length} nodes`);
  drawLegend(svg.append("g").attr("class", "legend").attr("transform", "translate(20, 12)"), legend);

  const canvas = svg.append("g").attr("transform", `translate(0, ${legendHeight})`);
  canvas
    .append("defs")
    .selectAll("marker")
    .data(["forward", "backward"])
    .join("marker")
    .attr("id", (d) => `arrow-${d}`)
    .attr("viewBox", "0 0 10 10")
    .attr("refX", 9)
    .attr("refY", 5)
    .attr("markerWidth", 7)
    .attr("markerHeight", 7)
    .attr("orient", "auto-start-reverse")
    .append("path")
    .attr("d", "M 0 0 L 10 5 L 0 10 z")
    .attr("fill", (d) => (d === "backward" ? NODE_STYLES.backward.stroke : "#4b5563"));

  const clusters = canvas.append("g").attr("class", "blocks");
  for (const group of groups) {
    const { x, y, width: w, height: h } = g.node(`block:${group.id}`) as { x: number; y: number; width: number; height: number };
    const cluster = clusters
      .append("g")
      .attr("class", "block")
      .attr("data-id", group.id)
      .attr("transform", `translate(${x - w / 2}, ${y - h / 2})`);
    cluster.append("rect").attr("width", w).attr("height", h).attr("rx", 8).attr("fill", "#f9fafb").attr("stroke", "#9ca3af").attr("stroke-dasharray", "4 3");
    cluster.append("text").attr("x", PAD_X).attr("y", LINE).attr("font-size", SMALL).attr("fill", "#4b5563").text(`${group.id}: ${group.block}`);
  }

  const path = line<{ x: number; y: number }>()
    .x((p) => p.x)
    .y((p) => p.y)
    .curve(curveBasis);
  const edges = canvas.append("g").attr("class", "edges");
  for (const e of g.edges()) {
    const label = g.edge(e) as { points: { x: number; y: number }[]; x: number; y: number };
    const backward = isBackwardNode(e.w);
    const colour = backward ? NODE_STYLES.backward.stroke : "#4b5563";
    const group = edges.append("g").attr("class", "edge").attr("data-from", e.v).attr("data-to", e.w);
    group
      .append("path")
      .attr("d", path(label.points))
      .attr("fill", "none")
      .attr("stroke", colour)
      .attr("stroke-width", 1.2)
      .attr("marker-end", `url(#arrow-${backward ? "backward" : "forward"})`);
    const text = formatShape(shapes.get(e.v)!);
    const w = textWidth(text, SMALL - 1) + 6;
    group
      .append("rect")
      .attr("x", label.x - w / 2)
      .attr("y", label.y - 7)
      .attr("width", w)
      .attr("height", 14)
      .attr("rx", 3)
      .attr("fill", "white")
      .attr("fill-opacity", 0.9);
    group
      .append("text")
      .attr("x", label.x)
      .attr("y", label.y + 3.5)
      .attr("text-anchor", "middle")
      .attr("font-size", SMALL - 1)
      .attr("fill", colour)
      .text(text);
  }

  const nodes = canvas.append("g").attr("class", "nodes");
  for (const b of boxes.values()) {
    const { x, y } = g.node(b.node.id) as { x: number; y: number };
    const style = NODE_STYLES[b.kind];
    const group = nodes
      .append("g")
      .attr("class", `node ${b.kind}`)
      .attr("data-id", b.node.id)
      .attr("transform", `translate(${x - b.width / 2}, ${y - b.height / 2})`);
    group
      .append("rect")
      .attr("width", b.width)
      .attr("height", b.height)
      .attr("rx", 6)
      .attr("fill", style.fill)
      .attr("stroke", style.stroke)
      .attr("stroke-width", b.kind === "loss" || b.kind === "gradient" ? 2 : 1.2)
      .attr("stroke-dasharray", style.dash ?? null);
    b.lines.forEach((l, i) => {
      group
        .append("text")
        .attr("x", PAD_X)
        .attr("y", PAD_Y + (i + 1) * LINE - 4)
        .attr("font-size", l.size)
        .attr("font-weight", l.weight ?? null)
        .attr("fill", i === 0 ? "#111827" : "#374151")
        .text(l.text);
    });
  }
  return serialize();
}

const SWATCH = 14;

/** The kinds the legend explains: every kind but state, which only a graph that has some shows. */
function legendKinds(kinds: ReadonlySet<NodeKind>): NodeKind[] {
  return (Object.keys(NODE_STYLES) as NodeKind[]).filter((kind) => kind !== "state" || kinds.has("state"));
}

function legendWidth(kinds: readonly NodeKind[]): number {
  return kinds.reduce((w, kind) => w + SWATCH + 6 + textWidth(NODE_STYLES[kind].label, SMALL) + 18, 0);
}

function drawLegend(legend: Selection<SVGGElement, unknown, null, undefined>, kinds: readonly NodeKind[]): void {
  let x = 0;
  for (const style of kinds.map((kind) => NODE_STYLES[kind])) {
    const item = legend.append("g").attr("class", "legend-item").attr("transform", `translate(${x}, 0)`);
    item
      .append("rect")
      .attr("width", SWATCH)
      .attr("height", SWATCH)
      .attr("rx", 3)
      .attr("fill", style.fill)
      .attr("stroke", style.stroke)
      .attr("stroke-dasharray", style.dash ?? null);
    item
      .append("text")
      .attr("x", SWATCH + 6)
      .attr("y", SWATCH - 3)
      .attr("font-size", SMALL)
      .text(style.label);
    x += SWATCH + 6 + textWidth(style.label, SMALL) + 18;
  }
}
