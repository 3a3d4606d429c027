/**
 * The dataflow graph as a picture, drawn with d3 where graph-layout.ts (ELK) puts things: each node is a
 * box with its id, op and shape, its attributes (and, for a backward node, the formula it implements);
 * each edge, routed around the boxes, carries the shape of the tensor flowing along it; each use of a
 * block is a frame around its nodes; the kinds of node drawn are told apart by colour, with a legend.
 */
import type { Selection } from "d3";
import type { Graph } from "../src/graph/ir.js";
import { layoutGraph, type GraphLayout } from "./graph-layout.js";
import { describeGraph, EDGE_LABEL_SIZE, LINE, NODE_STYLES, PAD_X, PAD_Y, SMALL, type GraphPicture, type NodeKind } from "./graph-picture.js";
import { svgDocument, textWidth } from "./svg.js";

export { describeGraph, nodeKind, NODE_STYLES, type GraphPicture, type NodeKind } from "./graph-picture.js";

/**
 * The graph as a standalone SVG document. A graph the picture cannot hold (see describeGraph) throws at
 * once; the layout then runs asynchronously, as ELK's does.
 */
export function renderGraphSvg(graph: Graph, title = graph.name): Promise<string> {
  return drawGraphPicture(describeGraph(graph, title));
}

const LEGEND_HEIGHT = 34;
const EDGE_COLOUR = "#4b5563";
/** A node's attributes, in a colour apart from its op and shape. */
const ATTRIBUTE_COLOUR = "#9a3412";

/**
 * A picture described by describeGraph, laid out and drawn: a standalone SVG document. `laidOut`: its
 * layout when it was begun elsewhere (a thread of its own, layout-thread.ts).
 */
export async function drawGraphPicture(picture: GraphPicture, laidOut?: Promise<GraphLayout>): Promise<string> {
  const layout = await (laidOut ?? layoutGraph(picture));
  const width = Math.max(layout.width, legendWidth(picture.legend) + 40);
  const { svg, serialize } = svgDocument(width, layout.height + LEGEND_HEIGHT, `${picture.title}: ${picture.nodes.length} nodes`);
  drawLegend(svg.append("g").attr("class", "legend").attr("transform", "translate(20, 12)"), picture.legend);

  const canvas = svg.append("g").attr("transform", `translate(0, ${LEGEND_HEIGHT})`);
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
    .attr("fill", (d) => (d === "backward" ? NODE_STYLES.backward.stroke : EDGE_COLOUR));

  const frames = canvas.append("g").attr("class", "blocks");
  for (const group of picture.groups) {
    const { x, y, width: w, height: h } = layout.groups.get(group.id)!;
    const frame = frames.append("g").attr("class", "block").attr("data-id", group.id).attr("transform", `translate(${x}, ${y})`);
    frame.append("rect").attr("width", w).attr("height", h).attr("rx", 8).attr("fill", "#f9fafb").attr("stroke", "#9ca3af").attr("stroke-dasharray", "4 3");
    frame
      .append("text")
      .attr("x", PAD_X)
      .attr("y", LINE + 2)
      .attr("font-size", SMALL)
      .attr("fill", "#4b5563")
      .text(group.label);
  }

  const edges = canvas.append("g").attr("class", "edges");
  for (const edge of picture.edges) {
    const placed = layout.edges.get(edge.id)!;
    const colour = edge.backward ? NODE_STYLES.backward.stroke : EDGE_COLOUR;
    const group = edges.append("g").attr("class", "edge").attr("data-from", edge.from).attr("data-to", edge.to);
    group
      .append("path")
      .attr("d", placed.points.map((p, i) => `${i === 0 ? "M" : "L"} ${round(p.x)} ${round(p.y)}`).join(" "))
      .attr("fill", "none")
      .attr("stroke", colour)
      .attr("stroke-width", 1.2)
      .attr("marker-end", `url(#arrow-${edge.backward ? "backward" : "forward"})`);
    const { x, y, width: w, height: h } = placed.label;
    const label = group
      .append("g")
      .attr("class", "edge-label")
      .attr("transform", `translate(${round(x)}, ${round(y)})`);
    label.append("rect").attr("width", w).attr("height", h).attr("rx", 3).attr("fill", "white").attr("fill-opacity", 0.9);
    label
      .append("text")
      .attr("x", w / 2)
      .attr("y", h / 2 + EDGE_LABEL_SIZE * 0.35)
      .attr("text-anchor", "middle")
      .attr("font-size", EDGE_LABEL_SIZE)
      .attr("fill", colour)
      .text(edge.label);
  }

  const nodes = canvas.append("g").attr("class", "nodes");
  for (const node of picture.nodes) {
    const { x, y } = layout.nodes.get(node.id)!;
    const style = NODE_STYLES[node.kind];
    const group = nodes
      .append("g")
      .attr("class", `node ${node.kind}`)
      .attr("data-id", node.id)
      .attr("transform", `translate(${round(x)}, ${round(y)})`);
    group
      .append("rect")
      .attr("width", node.width)
      .attr("height", node.height)
      .attr("rx", 6)
      .attr("fill", style.fill)
      .attr("stroke", style.stroke)
      .attr("stroke-width", node.kind === "loss" || node.kind === "gradient" ? 2 : 1.2)
      .attr("stroke-dasharray", style.dash ?? null);
    node.lines.forEach((l, i) => {
      group
        .append("text")
        .attr("class", l.role ?? null)
        .attr("x", PAD_X)
        .attr("y", PAD_Y + (i + 1) * LINE - 4)
        .attr("font-size", l.size)
        .attr("font-weight", l.weight ?? null)
        .attr("fill", i === 0 ? "#111827" : l.role === "attributes" ? ATTRIBUTE_COLOUR : "#374151")
        .text(l.text);
    });
  }
  return serialize();
}

/** Coordinates to a hundredth of a pixel: shorter files, the same picture. */
const round = (v: number) => Math.round(v * 100) / 100;

const SWATCH = 14;

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
