/**
 * The graph picture's geometry, read back from the SVG it writes: edges run in horizontal and vertical
 * segments and never through a box; each edge's label sits beside its own edge and on no box; the boxes
 * of one layer end on one line; a chain of values runs straight down. For the MLP and the CNN, forward
 * only and with the backward graph.
 */
import { JSDOM } from "jsdom";
import { describe, expect, it } from "vitest";
import { differentiate, loadGraphFile, type Graph } from "../../src/index.js";
import { renderGraphSvg } from "../../viz/index.js";

interface Rect {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

interface Point {
  readonly x: number;
  readonly y: number;
}

interface Drawn {
  readonly nodes: Map<string, Rect>;
  /** The frames of the uses of blocks. */
  readonly blocks: Map<string, Rect>;
  readonly edges: { from: string; to: string; points: Point[]; label: Rect; text: string }[];
}

function translation(element: Element): Point {
  const match = /translate\(([-\d.]+), ([-\d.]+)\)/.exec(element.getAttribute("transform") ?? "");
  if (!match) throw new Error(`no translation on ${element.outerHTML.slice(0, 80)}`);
  return { x: Number(match[1]), y: Number(match[2]) };
}

function rectOf(group: Element): Rect {
  const { x, y } = translation(group);
  const rect = group.querySelector("rect")!;
  return { x, y, width: Number(rect.getAttribute("width")), height: Number(rect.getAttribute("height")) };
}

/** A path of straight segments only ("M x y L x y …"): anything else (a curve) is not a route this test reads. */
function pointsOf(d: string): Point[] {
  const commands = d.trim().split(/(?=[A-Za-z])/);
  return commands.map((command) => {
    const match = /^([ML])\s*([-\d.]+)[ ,]([-\d.]+)\s*$/.exec(command.trim());
    if (!match) throw new Error(`an edge is not drawn in straight segments: "${command}" in "${d}"`);
    return { x: Number(match[2]), y: Number(match[3]) };
  });
}

function read(svg: string): Drawn {
  const document = new new JSDOM("").window.DOMParser().parseFromString(svg, "image/svg+xml");
  const nodes = new Map([...document.querySelectorAll("g.node")].map((g) => [g.getAttribute("data-id")!, rectOf(g)]));
  const edges = [...document.querySelectorAll("g.edge")].map((g) => ({
    from: g.getAttribute("data-from")!,
    to: g.getAttribute("data-to")!,
    points: pointsOf(g.querySelector("path")!.getAttribute("d")!),
    label: rectOf(g.querySelector("g.edge-label")!),
    text: g.querySelector("text")!.textContent!,
  }));
  const blocks = new Map([...document.querySelectorAll("g.block")].map((g) => [g.getAttribute("data-id")!, rectOf(g)]));
  return { nodes, blocks, edges };
}

const EPSILON = 0.5;

/** Whether the segment a–b (horizontal or vertical) passes through the inside of the rectangle. */
function crosses(a: Point, b: Point, r: Rect): boolean {
  const [x0, x1] = [Math.min(a.x, b.x), Math.max(a.x, b.x)];
  const [y0, y1] = [Math.min(a.y, b.y), Math.max(a.y, b.y)];
  return x1 > r.x + EPSILON && x0 < r.x + r.width - EPSILON && y1 > r.y + EPSILON && y0 < r.y + r.height - EPSILON;
}

function overlaps(a: Rect, b: Rect): boolean {
  return a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;
}

/** The distance between a rectangle and a segment (0 when they touch). */
function distance(r: Rect, a: Point, b: Point): number {
  // Along one axis a segment of an orthogonal route is a point, along the other an interval.
  const gap = (lo: number, hi: number, from: number, to: number) => Math.max(0, from - hi, lo - to);
  const dx = gap(Math.min(a.x, b.x), Math.max(a.x, b.x), r.x, r.x + r.width);
  const dy = gap(Math.min(a.y, b.y), Math.max(a.y, b.y), r.y, r.y + r.height);
  return Math.hypot(dx, dy);
}

const segments = (points: readonly Point[]) => points.slice(1).map((b, i) => [points[i]!, b] as const);

/** How far a label may sit from its edge: ELK puts it beside the edge, edgeLabel spacing (3 px) away. */
const LABEL_DISTANCE = 4;

const mnist = loadGraphFile("graphs/mnist.graph.json");
const cnn = loadGraphFile("graphs/mnist-cnn.graph.json");
const pictures: [string, Graph][] = [
  ["the MLP", mnist],
  ["the MLP with its backward graph", differentiate(mnist)],
  ["the CNN", cnn],
  ["the CNN with its backward graph", differentiate(cnn)],
];

describe.each(pictures)("%s's picture", (_name, graph) => {
  let drawn: Drawn;
  const picture = async () => (drawn ??= read(await renderGraphSvg(graph)));

  it("routes every edge in horizontal and vertical segments, through no box", async () => {
    const { nodes, edges } = await picture();
    expect(edges).toHaveLength(graph.nodes.reduce((n, node) => n + node.inputs.length, 0));
    const through: string[] = [];
    for (const edge of edges) {
      for (const [a, b] of segments(edge.points)) {
        expect(Math.abs(a.x - b.x) < 0.01 || Math.abs(a.y - b.y) < 0.01, `${edge.from} → ${edge.to}: a slanted segment`).toBe(true);
        for (const [id, box] of nodes) if (crosses(a, b, box)) through.push(`${edge.from} → ${edge.to} passes through ${id}`);
      }
    }
    expect(through).toEqual([]);
  });

  it("starts each edge at its source's box and ends it at its target's", async () => {
    const { nodes, edges } = await picture();
    for (const edge of edges) {
      const [first, last] = [edge.points[0]!, edge.points.at(-1)!];
      const source = nodes.get(edge.from)!;
      const target = nodes.get(edge.to)!;
      expect(distance(source, first, first), `${edge.from} → ${edge.to} starts away from ${edge.from}`).toBeLessThanOrEqual(2);
      expect(distance(target, last, last), `${edge.from} → ${edge.to} ends away from ${edge.to}`).toBeLessThanOrEqual(2);
    }
  });

  it("puts each edge's label beside its own edge, on no box", async () => {
    const { nodes, edges } = await picture();
    const misplaced: string[] = [];
    for (const edge of edges) {
      const near = Math.min(...segments(edge.points).map(([a, b]) => distance(edge.label, a, b)));
      if (near > LABEL_DISTANCE) misplaced.push(`${edge.text} of ${edge.from} → ${edge.to} is ${near.toFixed(1)} px from it`);
      for (const [id, box] of nodes) if (overlaps(edge.label, box)) misplaced.push(`${edge.text} of ${edge.from} → ${edge.to} lies on ${id}`);
    }
    expect(misplaced).toEqual([]);
  });

  it("aligns the boxes of one layer: boxes side by side end on one line, nearest the layer below", async () => {
    const { nodes, blocks } = await picture();
    // A block is laid out as one box among the graph's, and its nodes as the layers of their own graph.
    const inside = (box: Rect, frame: Rect) =>
      box.x >= frame.x && box.y >= frame.y && box.x + box.width <= frame.x + frame.width && box.y + box.height <= frame.y + frame.height;
    const blockOf = (box: Rect) => [...blocks].find(([, frame]) => frame !== box && inside(box, frame))?.[0];
    const levels = new Map<string | undefined, [string, Rect][]>();
    for (const entry of [...nodes, ...blocks]) {
      const level = blockOf(entry[1]);
      levels.set(level, [...(levels.get(level) ?? []), entry]);
    }
    const drifting: string[] = [];
    let layers = 0;
    for (const boxes of levels.values()) {
      // Boxes whose heights overlap are in one layer (layers are stacked top to bottom, apart).
      const rows: [string, Rect][][] = [];
      for (const entry of boxes.sort(([, a], [, b]) => a.y - b.y)) {
        const row = rows.find((r) => r.some(([, box]) => entry[1].y < box.y + box.height && box.y < entry[1].y + entry[1].height));
        if (row) row.push(entry);
        else rows.push([entry]);
      }
      layers += rows.length;
      const bottom = (r: Rect) => r.y + r.height;
      for (const row of rows) {
        for (const [id, box] of row) if (Math.abs(bottom(box) - bottom(row[0]![1])) > EPSILON) drifting.push(`${id} is off the line of ${row[0]![0]}`);
      }
    }
    expect(drifting).toEqual([]);
    expect(layers).toBeGreaterThan(8);
  });
});

describe.each(pictures.filter(([, graph]) => graph.gradients === undefined))("%s, forward only", (_name, graph) => {
  it("runs a chain of values straight down: a value used once enters its user's box right below it", async () => {
    const { nodes, edges } = read(await renderGraphSvg(graph));
    const uses = new Map<string, number>();
    for (const node of graph.nodes) for (const input of node.inputs) uses.set(input, (uses.get(input) ?? 0) + 1);
    const chain = graph.nodes.filter((node) => node.inputs.length > 0 && uses.get(node.inputs[0]!) === 1);
    expect(chain.length).toBeGreaterThanOrEqual(10);
    const bent: string[] = [];
    for (const node of chain) {
      const edge = edges.find((e) => e.to === node.id && e.from === node.inputs[0])!;
      const x = edge.points[0]!.x;
      const straight = edge.points.every((p) => Math.abs(p.x - x) < EPSILON);
      // From the middle of one box to the middle of the other (to the pixel: a box's width may be odd).
      const middle = (box: Rect) => Math.abs(box.x + box.width / 2 - x) <= 0.5 + EPSILON;
      if (!straight || !middle(nodes.get(edge.from)!) || !middle(nodes.get(edge.to)!)) bent.push(`${edge.from} → ${node.id}`);
    }
    expect(bent).toEqual([]);
  });
});
