/**
 * What a picture of a graph shows, as plain data: each node's box (kind, lines of text, size), each
 * edge with the shape it carries, each use of a block, and the kinds the legend explains. Made where the
 * graph's ops are registered (it asks them for roles, shapes and formulas); drawn anywhere, by a thread
 * that has none of the graph's op modules (graph.ts). Loads no picture library.
 */
import { isBackwardNode } from "../src/autodiff/differentiate.js";
import { GraphError } from "../src/graph/errors.js";
import { formatShape, type AttrValue, type Graph, type GraphNode, type Shape } from "../src/graph/ir.js";
import { DEFAULT_TRAINING } from "../src/graph/training.js";
import { blockGroups } from "../src/graph-file/blocks.js";
import { inferShapes } from "../src/graph-file/shapes.js";
import { formulaOf } from "../src/ops/op.js";
import { getOp } from "../src/ops/registry.js";
import { textWidth } from "./text-width.js";

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

export const FONT_SIZE = 12;
export const SMALL = 10.5;
/** Edge labels: a size smaller than the boxes' second lines. */
export const EDGE_LABEL_SIZE = SMALL - 1;
export const LINE = 15;
export const PAD_X = 10;
export const PAD_Y = 7;

export interface TextLine {
  readonly text: string;
  readonly size: number;
  readonly weight?: "bold";
  /** The line of a node's attributes, drawn apart from its op and shape. */
  readonly role?: "attributes";
}

export interface PictureNode {
  readonly id: string;
  readonly kind: NodeKind;
  readonly lines: readonly TextLine[];
  readonly width: number;
  readonly height: number;
}

export interface PictureEdge {
  /** `to:i`, the i-th input of `to`: unique, as a node may take the same input twice. */
  readonly id: string;
  readonly from: string;
  readonly to: string;
  /** Which of `to`'s inputs it is. */
  readonly input: number;
  /** The shape of the tensor the edge carries. */
  readonly label: string;
  readonly labelWidth: number;
  readonly labelHeight: number;
  readonly backward: boolean;
}

export interface PictureGroup {
  /** The use of a block: its id in the graph file. */
  readonly id: string;
  readonly label: string;
  readonly nodes: readonly string[];
}

export interface GraphPicture {
  readonly title: string;
  readonly nodes: readonly PictureNode[];
  readonly edges: readonly PictureEdge[];
  readonly groups: readonly PictureGroup[];
  /** The kinds of node drawn, in the legend's order. */
  readonly legend: readonly NodeKind[];
}

/**
 * The most nodes a picture draws. The layered layout's crossing minimisation grows faster than the graph
 * (seconds for a thousand nodes), and a picture of more than a thousand boxes is not one a person reads.
 */
export const MAX_RENDERED_NODES = 1_000;

/** The picture of a graph: its boxes, edges, blocks and legend. */
export function describeGraph(graph: Graph, title = graph.name): GraphPicture {
  if (graph.nodes.length > MAX_RENDERED_NODES) {
    const count = (n: number) => n.toLocaleString("en-US");
    throw new GraphError(
      `the picture would hold ${count(graph.nodes.length)} nodes, more than the ${count(MAX_RENDERED_NODES)} a graph picture is laid out for ` +
        `(its layout takes longer than the graph grows); list the nodes with graphnet inspect instead.`,
    );
  }
  const shapes = inferShapes(graph);
  const nodes = graph.nodes.map((node) => describeNode(graph, node, shapes.get(node.id)!));
  const edges = graph.nodes.flatMap((node) =>
    node.inputs.map((input, i): PictureEdge => {
      const label = formatShape(shapes.get(input)!);
      return {
        id: `${node.id}:${i}`,
        from: input,
        to: node.id,
        input: i,
        label,
        labelWidth: Math.ceil(textWidth(label, EDGE_LABEL_SIZE) + 6),
        labelHeight: 14,
        backward: isBackwardNode(node.id),
      };
    }),
  );
  const ids = new Set(graph.nodes.map((n) => n.id));
  const groups = blockGroups(graph)
    .map((group) => ({ id: group.id, label: `${group.id}: ${group.block}`, nodes: group.nodes.filter((id) => ids.has(id)) }))
    .filter((group) => group.nodes.length > 0);
  const drawn = new Set(nodes.map((n) => n.kind));
  const legend = (Object.keys(NODE_STYLES) as NodeKind[]).filter((kind) => drawn.has(kind));
  return { title, nodes, edges, groups, legend };
}

function describeNode(graph: Graph, node: GraphNode, shape: Shape): PictureNode {
  const op = getOp(node.op);
  const kind = nodeKind(graph, node);
  const attributes = attributeLine(graph, node);
  const formula = op && (kind === "backward" || kind === "gradient") ? formulaOf(op, node) : undefined;
  const lines: TextLine[] = [
    { text: node.id, size: FONT_SIZE, weight: "bold" },
    { text: node.op === "parameter" || node.op === "input" ? `${node.op} ${formatShape(shape)}` : `${node.op} → ${formatShape(shape)}`, size: SMALL },
    ...(attributes ? [{ text: attributes, size: SMALL, role: "attributes" as const }] : []),
    ...(formula ? [{ text: formula, size: SMALL }] : []),
  ];
  // Whole pixels, so that the layout's points (the middle of a side) fall on whole pixels as well.
  const width = Math.ceil(Math.max(...lines.map((l) => textWidth(l.text, l.size))) + 2 * PAD_X);
  return { id: node.id, kind, lines, width, height: lines.length * LINE + 2 * PAD_Y };
}

/** A value longer than this is cut (with "…"): a box is as wide as its longest line. */
const MAX_VALUE_CHARS = 32;

/**
 * The node's attributes on one line, "name value" apart by commas (a flag by its name alone when it is
 * set, not at all when it is not), leaving out its shape, which the line above shows. A dropout node that leaves its rate to the
 * training section says what that section makes of it.
 */
export function attributeLine(graph: Graph, node: GraphNode): string | undefined {
  const parts = Object.entries(node.attrs)
    .filter(([name, value]) => name !== "shape" && value !== undefined && value !== false)
    .map(([name, value]) => (value === true ? name : `${name} ${formatValue(value)}`));
  if (node.op === "dropout" && node.attrs.rate === undefined && !isBackwardNode(node.id)) parts.unshift(trainingDropout(graph));
  return parts.length > 0 ? parts.join(", ") : undefined;
}

function trainingDropout(graph: Graph): string {
  const on = graph.training?.use_dropout ?? DEFAULT_TRAINING.use_dropout;
  const rate = graph.training?.dropout_rate ?? DEFAULT_TRAINING.dropout_rate;
  return on ? `rate ${formatValue(rate)} (training's dropout_rate)` : "off (training's use_dropout)";
}

function formatValue(value: AttrValue): string {
  const text = Array.isArray(value) ? `[${value.map(formatValue).join(", ")}]` : typeof value === "string" ? value : JSON.stringify(value);
  return [...text].length > MAX_VALUE_CHARS ? `${[...text].slice(0, MAX_VALUE_CHARS - 1).join("")}…` : text;
}
