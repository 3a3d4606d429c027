/**
 * Where a graph picture's boxes, blocks, edges and edge labels go: ELK's layered algorithm (elkjs), top
 * to bottom, with orthogonal edges routed around the boxes and each edge's label placed by the layout
 * beside its edge where it enters its target, in room the layout keeps for it (never on a box). Each use
 * of a block is a compound node, laid out in the same run as the rest of the graph so that edges into and
 * out of it are routed across its frame as any other.
 *
 * elkjs is loaded on the first layout, not with the picture writers: it takes a noticeable share of a
 * start-up, which drawing a run's curves alone does not need.
 */
import { createRequire } from "node:module";
import type { ELK, ElkExtendedEdge, ElkNode, ElkPoint, ElkPort } from "elkjs/lib/elk-api.js";
import { LINE, PAD_X, type GraphPicture } from "./graph-picture.js";

export interface Box {
  /** The top-left corner, in the picture's coordinates. */
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

export interface PlacedEdge {
  readonly id: string;
  /** The route, from the source's border to the target's: straight segments, each horizontal or vertical. */
  readonly points: readonly ElkPoint[];
  readonly label: Box;
}

export interface GraphLayout {
  readonly width: number;
  readonly height: number;
  readonly nodes: ReadonlyMap<string, Box>;
  readonly groups: ReadonlyMap<string, Box>;
  readonly edges: ReadonlyMap<string, PlacedEdge>;
}

let engine: ELK | undefined;

function elk(): ELK {
  if (engine === undefined) {
    const ElkConstructor = createRequire(import.meta.url)("elkjs/lib/elk.bundled.js") as new () => ELK;
    engine = new ElkConstructor();
  }
  return engine;
}

/** Loads the layout engine now rather than for the first layout: for a thread that draws later and has time now. */
export function preloadLayout(): void {
  elk();
}

/** The margin around the whole picture. */
const MARGIN = 20;
/** A block's frame leaves room above its nodes for its name. */
const GROUP_PADDING = `[top=${LINE + 14},left=${PAD_X},bottom=${PAD_X},right=${PAD_X}]`;

const LAYOUT_OPTIONS: Record<string, string> = {
  "elk.algorithm": "layered",
  "elk.direction": "DOWN",
  "elk.edgeRouting": "ORTHOGONAL",
  // A block is one box among the graph's, its nodes the layers of a graph of their own; one run lays out both.
  "elk.hierarchyHandling": "INCLUDE_CHILDREN",
  "elk.padding": `[top=${MARGIN},left=${MARGIN},bottom=${MARGIN},right=${MARGIN}]`,
  // Room between boxes and between layers for the edges and their labels.
  "elk.spacing.nodeNode": "28",
  "elk.layered.spacing.nodeNodeBetweenLayers": "26",
  "elk.spacing.edgeNode": "14",
  "elk.layered.spacing.edgeNodeBetweenLayers": "12",
  "elk.spacing.edgeEdge": "12",
  "elk.layered.spacing.edgeEdgeBetweenLayers": "10",
  "elk.spacing.edgeLabel": "3",
  // A label where its edge enters the target names the value that input receives, however long the edge.
  "elk.edgeLabels.placement": "HEAD",
  // The placement that weighs each edge's straightness (see the edges' priorities): a chain of values
  // runs down as a column rather than a staircase.
  "elk.layered.nodePlacement.strategy": "NETWORK_SIMPLEX",
  // The file's order breaks ties: a node's inputs left to right as it lists them.
  "elk.layered.considerModelOrder.strategy": "NODES_AND_EDGES",
  "elk.separateConnectedComponents": "false",
};

/** Lays the picture out: the position of every box, block frame, edge and edge label. */
export async function layoutGraph(picture: GraphPicture): Promise<GraphLayout> {
  return placeLayout(await runLayout(elkInput(picture)));
}

/** ELK's layout of a graph it was given (by elkInput): what a thread of its own runs (layout-thread.ts). */
export function runLayout(input: ElkNode): Promise<ElkNode> {
  return elk().layout(input);
}

/** The picture as ELK takes it: its boxes with their ports, its blocks as compound nodes, its edges with their labels. */
export function elkInput(picture: GraphPicture): ElkNode {
  const grouped = new Map(picture.groups.flatMap((group) => group.nodes.map((id) => [id, group.id] as const)));
  const inputs = new Map<string, number>();
  for (const e of picture.edges) inputs.set(e.to, (inputs.get(e.to) ?? 0) + 1);
  const leaf = (id: string): ElkNode => {
    const node = picture.nodes.find((n) => n.id === id)!;
    return {
      id,
      width: node.width,
      height: node.height,
      // The boxes of a layer end on one line, nearest the layer they feed: a parameter beside a block
      // sits by the block's last nodes, not half-way up its frame.
      layoutOptions: { "elk.portConstraints": "FIXED_POS", "elk.alignment": "BOTTOM" },
      ports: [
        ...inputPositions(inputs.get(id) ?? 0).map((at, i) => port(inputPort(id, i), at * node.width, 0, "NORTH")),
        port(outputPort(id), node.width / 2, node.height, "SOUTH"),
      ],
    };
  };
  const children: ElkNode[] = [
    ...picture.nodes.filter((n) => !grouped.has(n.id)).map((n) => leaf(n.id)),
    ...picture.groups.map((group) => ({
      id: groupKey(group.id),
      layoutOptions: { "elk.padding": GROUP_PADDING },
      children: group.nodes.map(leaf),
    })),
  ];
  const edges: ElkExtendedEdge[] = picture.edges.map((e) => ({
    id: e.id,
    sources: [outputPort(e.from)],
    targets: [inputPort(e.to, e.input)],
    labels: [{ text: e.label, width: e.labelWidth, height: e.labelHeight }],
    // A node's first input straight above it comes first: a chain of values reads as a column.
    layoutOptions: { "elk.layered.priority.straightness": e.input === 0 ? "10" : "1" },
  }));
  return { id: "root", layoutOptions: LAYOUT_OPTIONS, children, edges };
}

/** The picture's layout from ELK's result. */
export function placeLayout(root: ElkNode): GraphLayout {
  // ELK gives each node's position relative to its parent, and each edge's relative to its container.
  const origins = new Map<string, ElkPoint>([["root", { x: 0, y: 0 }]]);
  const nodes = new Map<string, Box>();
  const groups = new Map<string, Box>();
  const visit = (node: ElkNode, origin: ElkPoint) => {
    for (const child of node.children ?? []) {
      const box = { x: origin.x + child.x!, y: origin.y + child.y!, width: child.width!, height: child.height! };
      origins.set(child.id, box);
      if (child.children) groups.set(child.id.slice(GROUP_PREFIX.length), box);
      else nodes.set(child.id, box);
      visit(child, box);
    }
  };
  visit(root, { x: 0, y: 0 });

  const placed = new Map<string, PlacedEdge>();
  for (const edge of root.edges ?? []) {
    const origin = origins.get(edge.container ?? "root")!;
    const shift = (p: ElkPoint) => ({ x: origin.x + p.x, y: origin.y + p.y });
    const points = (edge.sections ?? []).flatMap((s, i) => [...(i === 0 ? [s.startPoint] : []), ...(s.bendPoints ?? []), s.endPoint]).map(shift);
    const label = edge.labels![0]!;
    const corner = shift({ x: label.x!, y: label.y! });
    placed.set(edge.id, { id: edge.id, points, label: { ...corner, width: label.width!, height: label.height! } });
  }
  return { width: root.width!, height: root.height!, nodes, groups, edges: placed };
}

/**
 * Where a node's inputs enter it, as shares of its width: its first input (the value it transforms: x
 * of x·W, the product of a product plus bias) at the middle of its top side, right above where its output
 * leaves it, so that a chain of values runs straight down; the others (weights, biases, labels) to the
 * right of it, then to the left, in turn.
 */
function inputPositions(count: number): number[] {
  const others = count - 1;
  const right = Math.ceil(others / 2);
  const left = others - right;
  return Array.from({ length: count }, (_, i) => {
    if (i === 0) return 0.5;
    const j = Math.floor((i - 1) / 2);
    return (i - 1) % 2 === 0 ? 0.5 + (0.5 * (j + 1)) / (right + 1) : 0.5 - (0.5 * (left - j)) / (left + 1);
  });
}

/** A point on the box's border where edges end: no size of its own, so that it adds nothing to the box's. */
function port(id: string, x: number, y: number, side: "NORTH" | "SOUTH"): ElkPort {
  return { id, x: Math.round(x), y, width: 0, height: 0, layoutOptions: { "elk.port.side": side } };
}

const inputPort = (node: string, i: number) => `${node}:in:${i}`;
const outputPort = (node: string) => `${node}:out`;

/** A block's compound node: a key no node id can take (ids have no ":"). */
const GROUP_PREFIX = "block:";
const groupKey = (id: string) => `${GROUP_PREFIX}${id}`;
