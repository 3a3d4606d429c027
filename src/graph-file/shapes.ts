/**
 * Shape inference: every node's output shape from its inputs' shapes, by each op's shape rule.
 * Shapes may hold symbols (the batch dimension), so one inference serves every batch size.
 */
import { getOp } from "../ops/registry.js";
import { ShapeError } from "../ops/op.js";
import { GraphError } from "../graph/errors.js";
import { formatShape, type ConcreteShape, type Graph, type GraphNode, type Shape } from "../graph/ir.js";
import { topologicalOrder } from "../graph/topology.js";

/** Tensors larger than this are refused at validation: a typo such as 78400000 should not eat the machine. */
export const MAX_TENSOR_ELEMENTS = 2 ** 28;

/**
 * Shapes of all nodes. The graph must already be structurally valid (known ops, existing inputs, no cycle);
 * `order`, its topological order when the caller has it already.
 */
export function inferShapes(graph: Graph, order: readonly string[] = topologicalOrder(graph)): Map<string, Shape> {
  const byId = new Map(graph.nodes.map((n) => [n.id, n]));
  const shapes = new Map<string, Shape>();
  for (const id of order) {
    const node = byId.get(id)!;
    shapes.set(
      id,
      inferNodeShape(
        node,
        node.inputs.map((i) => shapes.get(i)!),
      ),
    );
  }
  return shapes;
}

/** One node's shape; wraps the op's ShapeError into a GraphError naming the node and the field. */
export function inferNodeShape(node: GraphNode, inputShapes: readonly Shape[]): Shape {
  const op = getOp(node.op);
  if (!op) throw new GraphError(`unknown op "${node.op}".`, { nodeId: node.id, field: "op" });
  let shape: Shape;
  try {
    shape = op.shape(inputShapes, node.attrs);
  } catch (err) {
    if (err instanceof ShapeError) {
      const given = inputShapes.length > 0 ? ` (input shapes: ${node.inputs.map((id, i) => `${id} ${formatShape(inputShapes[i]!)}`).join(", ")})` : "";
      throw new GraphError(`${err.message}${given}`, { nodeId: node.id, field: err.field === "inputs" ? "inputs" : `attrs.${err.field}` });
    }
    throw err;
  }
  checkSize(node, shape);
  return shape;
}

function checkSize(node: GraphNode, shape: Shape): void {
  let elements = 1;
  for (const d of shape) {
    if (typeof d === "number") {
      if (!Number.isInteger(d) || d < 1) {
        throw new GraphError(`the op's shape rule produced ${formatShape(shape)}; every dimension must be a positive integer or a symbol.`, {
          nodeId: node.id,
        });
      }
      elements *= d;
    }
  }
  if (elements > MAX_TENSOR_ELEMENTS) {
    throw new GraphError(
      `its output ${formatShape(shape)} would hold ${elements.toLocaleString("en-US")} elements per batch item, more than the limit of ${MAX_TENSOR_ELEMENTS.toLocaleString("en-US")}; check the sizes for a typo.`,
      { nodeId: node.id, field: "attrs.shape" },
    );
  }
}

/** Replace each symbol by its size, e.g. { batch: 16 }. Each size must be a positive integer. */
export function concretize(shape: Shape, sizes: Readonly<Record<string, number>>): ConcreteShape {
  return shape.map((d) => {
    if (typeof d === "number") return d;
    // Own keys only: a symbol such as "toString" must not find the function every object inherits.
    const size = Object.hasOwn(sizes, d) ? sizes[d] : undefined;
    if (size === undefined) throw new GraphError(`the dimension "${d}" needs a size when a plan is compiled (for example { ${d}: 16 }).`);
    checkDimensionSize(d, size);
    return size;
  });
}

/** Throws a GraphError unless `size`, given for the symbolic dimension `symbol`, is a positive integer. */
export function checkDimensionSize(symbol: string, size: unknown): asserts size is number {
  if (typeof size === "number" && Number.isInteger(size) && size >= 1) return;
  const found = typeof size === "number" ? String(size) : typeof size === "string" ? JSON.stringify(size) : size === null ? "null" : `a ${typeof size}`;
  throw new GraphError(`the size of the dimension "${symbol}" must be a positive integer, a number of elements along that axis (found ${found}).`);
}
