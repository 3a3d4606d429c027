/**
 * The graph IR: plain, serializable data.
 *
 * A graph is a list of nodes. Every value in a model — a fed input, a trainable parameter, an
 * intermediate result, the loss, a gradient — is the single output of one node. A node names its
 * operation, the ids of the nodes whose outputs it consumes, and the operation's attributes.
 *
 * Nothing here is a class: a Graph can be written with JSON.stringify and read back with JSON.parse,
 * and every transformation (autodiff, later fusion) is a pure function Graph → Graph.
 */

/** A dimension is either a concrete size or a symbol (conventionally "batch") fixed when a plan is compiled. */
export type Dim = number | string;

/** A tensor shape, outermost dimension first. `[]` is a scalar. */
export type Shape = readonly Dim[];

/** A concrete shape, every symbol replaced by a size. */
export type ConcreteShape = readonly number[];

/** Attribute values are JSON values; each op validates its own with a JSON Schema. */
export type AttrValue = null | boolean | number | string | readonly AttrValue[] | { readonly [key: string]: AttrValue };
export type Attrs = { readonly [key: string]: AttrValue };

export interface GraphNode {
  /** Unique within the graph; other nodes refer to this node's output by it. */
  readonly id: string;
  /** The name of a registered op. */
  readonly op: string;
  /** The ids of the nodes whose outputs this node consumes, in the op's argument order. */
  readonly inputs: readonly string[];
  /** The op's attributes, validated against the op's attribute schema. */
  readonly attrs: Attrs;
}

/** The training section of a graph file: the report's configuration (Table 3), read by the trainer. */
export type TrainingConfig = { readonly [key: string]: AttrValue };

export interface Graph {
  readonly name: string;
  readonly description?: string;
  readonly nodes: readonly GraphNode[];
  /** The node whose output is minimised, when the graph is trained. */
  readonly loss?: string;
  /** Named values a caller usually wants (for example "probs" for predictions). */
  readonly outputs?: { readonly [name: string]: string };
  /**
   * Filled by autodiff: for each differentiated node id, the id of the node that holds
   * d(loss)/d(that node). A parameter's gradient is a named output of the backward graph.
   */
  readonly gradients?: { readonly [id: string]: string };
  readonly training?: TrainingConfig;
}

export function formatShape(shape: Shape): string {
  return `[${shape.join(", ")}]`;
}

/** Number of elements of a concrete shape (1 for a scalar). */
export function sizeOf(shape: ConcreteShape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** The multi-index of flat (row-major) index `flat` in an array of `shape`. */
export function unravelIndex(flat: number, shape: ConcreteShape): number[] {
  const index = new Array<number>(shape.length).fill(0);
  for (let d = shape.length - 1; d >= 0; d--) {
    index[d] = flat % shape[d]!;
    flat = Math.floor(flat / shape[d]!);
  }
  return index;
}

export function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}
