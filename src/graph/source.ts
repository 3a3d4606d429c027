/**
 * A graph file as it was read: its name, where each of its values lies in its text, and its nodes. Errors
 * found while loading it name the file, the line and the column; errors found later — by training's
 * checks, by autodiff, by the planner — know only the node or the field they concern, and a GraphSource
 * places them in the file the same way.
 */
import { GraphError, type ErrorLocation } from "./errors.js";
import type { Graph } from "./ir.js";
import { parsePath, type JsonPath } from "./json-path.js";
import type { TextPosition } from "./json-text.js";

export class GraphSource {
  /** The position of each node in the file's list, by id (the first, should an id repeat). */
  private indexById: Map<string, number> | undefined;

  constructor(
    /** The file's name as messages print it. */
    readonly file: string,
    /** The graph the file holds (as validation leaves it, or still unvalidated while validation runs). */
    readonly graph: Graph,
    /** Where the value at a JSON path starts in the file's text; without it, messages name only the file. */
    private readonly locate?: (path: JsonPath) => TextPosition | undefined,
  ) {}

  /** Where a node (given by its id) or a value (given by its JSON path) lies: the file, and the line and column when known. */
  within(where: string | JsonPath): ErrorLocation {
    const path = typeof where === "string" ? this.pathOfNode(where) : where;
    const position = path === undefined ? undefined : this.locate?.(path);
    return { file: this.file, ...(position ? { line: position.line, column: position.column } : {}) };
  }

  /**
   * The error, placed in this file at what it is about: its JSON path if it has one, else its node's
   * field (node "W1", field "attrs.shape" → nodes[3].attrs.shape), its node, or its field of the
   * document. An error placed in another file already is returned as it is.
   */
  place(err: GraphError): GraphError {
    if (err.location.file !== undefined) return err;
    const { nodeId, field, path } = err.location;
    const fieldPath = field === undefined ? [] : parsePath(field);
    const target = path ?? (nodeId === undefined ? (field === undefined ? undefined : fieldPath) : this.pathOfNode(nodeId, fieldPath));
    return err.locatedAt(target === undefined ? { file: this.file } : this.within(target));
  }

  /** Runs `work`, placing in this file any GraphError that escapes it (see `place`). */
  guard<T>(work: () => T): T {
    try {
      return work();
    } catch (err) {
      throw err instanceof GraphError ? this.place(err) : err;
    }
  }

  /** nodes[i] followed by `rest`, for the node with this id; undefined when the file has no such node (a backward node). */
  private pathOfNode(id: string, rest: JsonPath = []): JsonPath | undefined {
    this.indexById ??= indexNodes(this.graph);
    const index = this.indexById.get(id);
    return index === undefined ? undefined : ["nodes", index, ...rest];
  }
}

/** Node positions by id, tolerating a document whose nodes are malformed (validation reports those). */
function indexNodes(graph: Graph): Map<string, number> {
  const index = new Map<string, number>();
  const nodes: unknown = graph?.nodes;
  if (!Array.isArray(nodes)) return index;
  nodes.forEach((node: unknown, i) => {
    const id = typeof node === "object" && node !== null ? (node as { id?: unknown }).id : undefined;
    if (typeof id === "string" && !index.has(id)) index.set(id, i);
  });
  return index;
}
