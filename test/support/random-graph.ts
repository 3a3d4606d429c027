/**
 * A fast-check arbitrary of random computation graphs: a DAG of matmul (all transpose variants), add/sub/mul
 * with broadcasting, relu/sigmoid/tanh/softmax/neg/dropout, sum_to and broadcast_to over random parameters
 * and inputs, ending in a scalar loss (softmax_cross_entropy, cross_entropy of a softmax, or a weighted sum).
 *
 * Values are picked at random among those already built, so one value often feeds several nodes, parameters
 * of equal shape are often reused, and some branches do not reach the loss at all.
 */
import fc from "fast-check";
import type { Dim, Graph, GraphNode, Shape } from "../../src/graph/ir.js";
import { broadcastShapes } from "../../src/ops/broadcast.js";
import { Random } from "../../src/util/random.js";
import { inputNode, node, product } from "./run.js";

const UNARY = ["relu", "sigmoid", "tanh", "softmax", "neg", "dropout"] as const;
const BINARY = ["add", "mul", "sub"] as const;
const KINDS = ["unary", "unary", "binary", "binary", "matmul", "matmul", "reduce", "fanout", "tied"] as const;

interface Instruction {
  kind: (typeof KINDS)[number];
  op: number;
  a: number;
  b: number;
  variant: number;
  reuseParameter: boolean;
  width: number;
}

export interface RandomGraphRecipe {
  batch: number;
  features: number;
  instructions: Instruction[];
  lossKind: number;
}

export interface RandomGraph {
  graph: Graph;
  sizes: Record<string, number>;
  recipe: RandomGraphRecipe;
}

const instruction: fc.Arbitrary<Instruction> = fc.record({
  kind: fc.constantFrom(...KINDS),
  op: fc.nat(),
  a: fc.nat(),
  b: fc.nat(),
  variant: fc.nat(),
  reuseParameter: fc.boolean(),
  width: fc.integer({ min: 1, max: 3 }),
});

export const randomGraphRecipe: fc.Arbitrary<RandomGraphRecipe> = fc.record({
  batch: fc.integer({ min: 1, max: 3 }),
  features: fc.integer({ min: 1, max: 3 }),
  instructions: fc.array(instruction, { minLength: 1, maxLength: 9 }),
  lossKind: fc.nat(),
});

export const randomGraph: fc.Arbitrary<RandomGraph> = randomGraphRecipe.map(buildGraph);

interface Value {
  id: string;
  shape: Shape;
}

/** Interprets a recipe deterministically; every choice is taken modulo what is possible at that point. */
export function buildGraph(recipe: RandomGraphRecipe): RandomGraph {
  const nodes: GraphNode[] = [inputNode("x", ["batch", recipe.features], "features")];
  const values: Value[] = [{ id: "x", shape: ["batch", recipe.features] }];
  const parameters: Value[] = [];
  let counter = 0;
  const fresh = (prefix: string) => `${prefix}${++counter}`;
  const emit = (op: string, inputs: string[], shape: Shape, attrs: GraphNode["attrs"] = {}): Value => {
    const value = { id: fresh("n"), shape };
    nodes.push(node(value.id, op, inputs, attrs));
    values.push(value);
    return value;
  };
  const parameter = (shape: number[], reuse: boolean): string => {
    const same = parameters.find((p) => sameDims(p.shape, shape));
    if (reuse && same) return same.id;
    const id = fresh("W");
    nodes.push(node(id, "parameter", [], { shape, init: counter % 2 === 0 ? "xavier_normal" : "zeros" }));
    parameters.push({ id, shape });
    return id;
  };

  // A first layer, so that every graph has a parameter; later choices favour recent values, making chains.
  const width = 1 + (Math.floor(recipe.lossKind / 3) % 3);
  emit("matmul", ["x", parameter([recipe.features, width], false)], ["batch", width]);
  for (const ins of recipe.instructions) {
    const a = values[values.length - 1 - (ins.a % values.length)]!;
    switch (ins.kind) {
      case "unary": {
        let op: string = UNARY[ins.op % UNARY.length]!;
        if (op === "softmax" && a.shape.length === 0) op = "tanh";
        const attrs: GraphNode["attrs"] = op === "dropout" ? (ins.variant % 2 === 0 ? { rate: 0.3 } : { rate: 0.5, key: "shared" }) : {};
        emit(op, [a.id], a.shape, attrs);
        break;
      }
      case "binary": {
        const op = BINARY[ins.op % BINARY.length]!;
        const other = values[ins.b % values.length]!;
        let b: string;
        if (ins.variant % 3 === 0 && compatible(a.shape, other.shape)) b = other.id;
        else b = parameter(broadcastPattern(a.shape, ins.variant), ins.reuseParameter);
        const [left, right] = ins.variant % 2 === 0 ? [a.id, b] : [b, a.id];
        const shapeOf = (id: string) => [...values, ...parameters].find((v) => v.id === id)!.shape;
        emit(op, [left, right], broadcastShapes(shapeOf(left), shapeOf(right)));
        break;
      }
      case "matmul": {
        if (a.shape.length !== 2) {
          emit("sigmoid", [a.id], a.shape);
          break;
        }
        const [rows, cols] = a.shape as [Dim, Dim];
        const transposeA = ins.variant % 2 === 1;
        const transposeB = Math.floor(ins.variant / 2) % 2 === 1;
        const inner = transposeA ? rows : cols;
        const outer = transposeA ? cols : rows;
        if (typeof inner === "number") {
          const n = ins.width;
          const w = parameter(transposeB ? [n, inner] : [inner, n], ins.reuseParameter);
          emit("matmul", [a.id, w], [outer, n], { transpose_a: transposeA, transpose_b: transposeB });
        } else {
          // The inner dimension is the batch: contract over it with another batch-leading value (aᵀ·b),
          // the shape of a weight gradient; a itself qualifies, so aᵀ·a is possible.
          const partners = values.filter((v) => v.shape.length === 2 && v.shape[0] === inner);
          const b = partners[ins.b % partners.length]!;
          emit("matmul", [a.id, b.id], [outer, b.shape[1]!], { transpose_a: true, transpose_b: false });
        }
        break;
      }
      case "reduce": {
        if (ins.op % 3 === 0) {
          // broadcast_to a new leading axis of 2.
          emit("broadcast_to", [a.id], [2, ...a.shape], { shape: [2, ...a.shape] });
        } else {
          const target = reducePattern(a.shape, ins.variant);
          emit("sum_to", [a.id], target, { shape: [...target] });
        }
        break;
      }
      case "tied": {
        // One parameter used twice by one node: P·Pᵀ or Pᵀ·P for a matrix, P ⊙ P otherwise.
        const p = parameters[ins.b % parameters.length]!;
        if (p.shape.length === 2) {
          const [r, c] = p.shape as [number, number];
          const transposeA = ins.variant % 2 === 1;
          emit("matmul", [p.id, p.id], transposeA ? [c, c] : [r, r], { transpose_a: transposeA, transpose_b: !transposeA });
        } else emit("mul", [p.id, p.id], p.shape);
        break;
      }
      case "fanout": {
        // Fan-out on purpose: one value feeding two nodes that are combined again.
        const left = emit("tanh", [a.id], a.shape);
        const right = emit(ins.op % 2 === 0 ? "sigmoid" : "relu", [a.id], a.shape);
        emit(BINARY[ins.variant % BINARY.length]!, [left.id, right.id], a.shape);
        break;
      }
    }
  }

  const last = values[values.length - 1]!;
  const kind = recipe.lossKind % 3;
  if (kind !== 2 && last.shape.length === 2 && last.shape[0] === "batch") {
    nodes.push(inputNode("labels", last.shape, "labels"));
    if (kind === 0) nodes.push(node("loss", "softmax_cross_entropy", [last.id, "labels"]));
    else nodes.push(node("probs", "softmax", [last.id]), node("loss", "cross_entropy", ["probs", "labels"]));
  } else {
    // A weighted sum, so that the gradient of every element differs (a plain sum of a softmax is constant).
    nodes.push(inputNode("weights", last.shape), node("weighted", "mul", [last.id, "weights"]), node("loss", "sum_to", ["weighted"], { shape: [] }));
  }
  return { graph: { name: "random", nodes, loss: "loss" }, sizes: { batch: recipe.batch }, recipe };
}

function sameDims(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

function compatible(a: Shape, b: Shape): boolean {
  try {
    broadcastShapes(a, b);
    return true;
  } catch {
    return false;
  }
}

/**
 * A parameter shape that broadcasts against `shape`: leading axes dropped, others kept or set to 1, the
 * batch axis always dropped or 1 (a parameter's shape is fixed). Covers [n] and [1, n] against [m, n],
 * [m, 1] against [m, n], and scalars.
 */
function broadcastPattern(shape: Shape, variant: number): number[] {
  const drop = Math.floor(variant / 6) % (shape.length + 1);
  return shape.slice(drop).map((d, i) => (typeof d === "number" && ((variant >> (i + 2)) & 1) === 0 ? d : 1));
}

/** A sum_to target: leading axes dropped and some axes kept as 1. */
function reducePattern(shape: Shape, variant: number): Dim[] {
  const drop = variant % (shape.length + 1);
  return shape.slice(drop).map((d, i) => (((variant >> (i + 2)) & 1) === 0 ? d : 1));
}

/**
 * Values for every parameter and input of a graph, seeded: features U[0,1), labels one-hot rows, other
 * inputs U[−1,1), parameters N(0, 0.5²). Tests feed the same values to several plans.
 */
export function randomFeeds(graph: Graph, sizes: Record<string, number>, seed: number): Record<string, Float64Array> {
  const random = new Random(seed);
  const feeds: Record<string, Float64Array> = {};
  for (const n of graph.nodes) {
    if (n.op !== "input" && n.op !== "parameter") continue;
    const shape = (n.attrs.shape as Dim[]).map((d) => (typeof d === "number" ? d : sizes[d]!));
    const data = new Float64Array(product(shape));
    if (n.op === "parameter") for (let i = 0; i < data.length; i++) data[i] = 0.5 * random.normal();
    else if (n.attrs.feed === "labels") {
      const classes = shape[shape.length - 1]!;
      for (let row = 0; row < data.length; row += classes) data[row + random.int(classes)] = 1;
    } else if (n.attrs.feed === "features") for (let i = 0; i < data.length; i++) data[i] = random.uniform();
    else for (let i = 0; i < data.length; i++) data[i] = 2 * random.uniform() - 1;
    feeds[n.id] = data;
  }
  return feeds;
}
