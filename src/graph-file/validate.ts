/**
 * Validation of a graph before anything is computed, for graphs read from files and graphs built in
 * code alike. The checks run in an order where each may rely on the ones before it: the document's
 * structure, then the ids, the ops, the wiring, the attributes, the absence of cycles, the shapes, and
 * last what needs shapes (a scalar loss, gradients of their values' shapes, the total size of the
 * parameters).
 *
 * Every failure is one GraphError naming the file, the node and the field, what was found and what
 * was expected; given a way to locate JSON paths in the file's text, also the line and column.
 */
import { attrValidator, getOp, listOps } from "../ops/registry.js";
import { abbreviate } from "../graph/abbreviate.js";
import { didYouMean } from "../graph/closest.js";
import { BACKWARD_ID_PREFIX, BACKWARD_NODE_ID_PATTERN, BLOCK_SEPARATOR, graphStructureSchema, NODE_ID_PATTERN } from "./document-schema.js";
import { GraphError } from "../graph/errors.js";
import { formatShape, sameShape, type Graph, type GraphNode, type Shape } from "../graph/ir.js";
import { formatPath, type JsonPath } from "../graph/json-path.js";
import type { TextPosition } from "../graph/json-text.js";
import { compileSchema, type SchemaProblem, type SchemaValidator } from "../graph/schema-validator.js";
import { inferShapes } from "./shapes.js";
import { checkStateUpdates } from "./state-updates.js";
import { GraphSource } from "../graph/source.js";
import { orderOrCycle } from "../graph/topology.js";

/** Parameters beyond this many elements in all (1 GiB in float32) are refused: surely a typo in a size. */
export const MAX_PARAMETER_ELEMENTS = 2 ** 28;

/** A graph nested deeper than this is not a graph a person wrote. */
const MAX_DEPTH = 64;

export interface ValidateOptions {
  /** Where a JSON path lies in the file's text; the loader passes it so that errors carry a line and column. */
  readonly locate?: (path: JsonPath) => TextPosition | undefined;
}

/**
 * Throws a GraphError at the first thing wrong with `graph`; `file` names it in the message. The
 * graph must be in the IR's form (every node with `inputs` and `attrs`), as parseGraph returns it.
 */
export function validateGraph(graph: Graph, file = "graph", options: ValidateOptions = {}): void {
  const context = new Context(graph, options.locate);
  try {
    checkDocument(context);
    checkUniqueIds(context);
    checkIdSyntax(context);
    checkOpsKnown(context);
    checkArity(context);
    checkInputsExist(context);
    checkStateUpdates(graph);
    checkAttrs(context);
    const order = checkAcyclic(context);
    const shapes = inferShapes(graph, order);
    checkLossAndOutputs(context, shapes);
    checkGradients(context, shapes);
    checkParameterTotal(context, shapes);
  } catch (err) {
    // Errors from deeper code (shape inference) know the node and field but not the file or the line.
    if (err instanceof GraphError) throw new GraphSource(file, graph, options.locate).place(err);
    throw err;
  }
}

/** The graph under validation, and how to point into its file. */
class Context {
  constructor(
    readonly graph: Graph,
    private readonly locate: ValidateOptions["locate"],
  ) {}

  get nodes(): readonly GraphNode[] {
    return this.graph.nodes;
  }

  /** " (line 12)" when the file's text is known, for messages that mention a second place. */
  lineOf(path: JsonPath): string {
    const position = this.locate?.(path);
    return position ? ` (line ${position.line})` : "";
  }
}

/** An error about the value at a JSON path: named by its node where the path goes through one. */
function errorAt(context: Context, path: JsonPath, problem: string): GraphError {
  const [top, index, ...rest] = path;
  const node = top === "nodes" && typeof index === "number" ? (context.nodes[index] as unknown) : undefined;
  const id = isObject(node) && typeof node.id === "string" && node.id !== "" ? node.id : undefined;
  if (id !== undefined && rest.length > 0) return new GraphError(problem, { nodeId: id, field: formatPath(rest), path });
  if (path.length === 0) return new GraphError(`the document ${problem}`, { path });
  return new GraphError(problem, { field: formatPath(path), path });
}

// ---------------------------------------------------------------------------------------------------
// 1. The document: plain JSON data of the right structure

let structureValidator: SchemaValidator | undefined;

function checkDocument(context: Context): void {
  const problem = findNonJsonValue(context.graph) ?? (structureValidator ??= compileSchema(graphStructureSchema()))(context.graph);
  if (problem) throw errorAt(context, problem.path, problem.message);
}

/**
 * A graph is data that must survive JSON: a graph built in code could hold NaN, a function, a Date or
 * a reference to itself, which the schema check would not notice (ajv counts NaN as a number).
 */
function findNonJsonValue(root: unknown): SchemaProblem | null {
  const ancestors = new Set<object>();
  const visit = (value: unknown, path: (string | number)[]): SchemaProblem | null => {
    const found = (what: string) => ({ path, message: `must be plain JSON data (found ${what}).` });
    switch (typeof value) {
      case "string":
      case "boolean":
        return null;
      case "number":
        return Number.isFinite(value) ? null : { path, message: `must be a finite number (found ${value}).` };
      case "object":
        break;
      default:
        return found(typeof value === "undefined" ? "undefined" : `a ${typeof value}`);
    }
    if (value === null) return null;
    if (ancestors.has(value)) return found("a reference to an object that contains it");
    if (path.length > MAX_DEPTH) return { path, message: `nests values more than ${MAX_DEPTH} levels deep, far more than any graph needs.` };
    const prototype = Object.getPrototypeOf(value) as unknown;
    if (!Array.isArray(value) && prototype !== Object.prototype && prototype !== null) return found(`an instance of ${value.constructor?.name ?? "a class"}`);
    ancestors.add(value);
    try {
      if (Array.isArray(value)) {
        for (let i = 0; i < value.length; i++) {
          const problem = visit(value[i], [...path, i]);
          if (problem) return problem;
        }
      } else {
        for (const [key, item] of Object.entries(value)) {
          // An undefined field is an absent field, as JSON.stringify treats it.
          const problem = item === undefined ? null : visit(item, [...path, key]);
          if (problem) return problem;
        }
      }
      return null;
    } finally {
      ancestors.delete(value);
    }
  };
  return visit(root, []);
}

// ---------------------------------------------------------------------------------------------------
// 2–3. Ids: unique, and of the form other nodes, loss and outputs can refer to

function checkUniqueIds(context: Context): void {
  const firstIndex = new Map<string, number>();
  context.nodes.forEach((node, index) => {
    const first = firstIndex.get(node.id);
    if (first === undefined) {
      firstIndex.set(node.id, index);
      return;
    }
    throw new GraphError(
      `the id "${node.id}" is used twice: by nodes[${first}]${context.lineOf(["nodes", first, "id"])} and by nodes[${index}]. ` +
        `Every node needs its own id, since inputs, loss and outputs refer to nodes by it.`,
      { nodeId: node.id, field: "id", path: ["nodes", index, "id"] },
    );
  });
}

const NODE_ID = new RegExp(NODE_ID_PATTERN);
const BACKWARD_NODE_ID = new RegExp(BACKWARD_NODE_ID_PATTERN);
const RESERVED_ID_CHARACTERS = ["/", "@", "+", "#"];
/**
 * "constructor", "toString", "__proto__" …: ids also serve as keys of plain objects (a graph's
 * `gradients`, a caller's feeds), where these names would find the property every object inherits
 * instead of a node.
 */
const OBJECT_PROPERTY_NAMES = new Set(Object.getOwnPropertyNames(Object.prototype));

/**
 * Forward ids follow NODE_ID_PATTERN. Backward ids ("grad/…", BACKWARD_NODE_ID_PATTERN) are accepted
 * only in a differentiated graph, one with `gradients` (see document-schema.ts for why).
 */
function checkIdSyntax(context: Context): void {
  const differentiated = context.graph.gradients !== undefined;
  context.nodes.forEach((node, index) => {
    const problem = problemWithId(node.id, differentiated);
    if (problem) throw new GraphError(problem, { nodeId: node.id, field: "id", path: ["nodes", index, "id"] });
  });
}

function problemWithId(id: string, differentiated: boolean): string | undefined {
  if (OBJECT_PROPERTY_NAMES.has(id)) {
    return `"${id}" is the name of a property every JavaScript object has, which graphnet could mistake for a node where ids are object keys; choose another id.`;
  }
  if (NODE_ID.test(id) || isBlockNodeId(id)) return undefined;
  if (differentiated && id.startsWith(BACKWARD_ID_PREFIX)) {
    if (BACKWARD_NODE_ID.test(id)) return undefined;
    const bad = [...id.slice(BACKWARD_ID_PREFIX.length)].find((c) => !/[A-Za-z0-9_.@+#/-]/.test(c));
    return (
      `${bad === undefined ? "the id has nothing after the prefix." : `the id contains the character ${JSON.stringify(bad)}.`} ` +
      `The id of a backward node is "${BACKWARD_ID_PREFIX}" followed by letters, digits, "_", ".", "@", "+", "#", "/" or "-".`
    );
  }
  return `${whatBreaksThePattern(id, differentiated)} An id starts with a letter or "_" and goes on with letters, digits, "_", "." or "-".`;
}

/**
 * A node a use of a block expanded into (src/graph-file/blocks.ts): the use's id, "/", the block's node's
 * id, each a forward id — never under "grad", the backward nodes' prefix.
 */
function isBlockNodeId(id: string): boolean {
  const segments = id.split(BLOCK_SEPARATOR);
  return segments.length > 1 && segments[0] !== BACKWARD_ID_PREFIX.slice(0, -1) && segments.every((segment) => NODE_ID.test(segment));
}

function whatBreaksThePattern(id: string, differentiated: boolean): string {
  if (id === "") return "the id is empty.";
  const reserved = [...id].find((c) => RESERVED_ID_CHARACTERS.includes(c));
  if (reserved !== undefined) {
    const where = differentiated
      ? `they appear only in ids that start with "${BACKWARD_ID_PREFIX}".`
      : `they appear only in a differentiated graph, one with "gradients".`;
    return `the character "${reserved}" is reserved for the backward nodes autodiff adds (such as grad/W1 and grad/v@n), so that they never clash with yours; ${where}`;
  }
  if (!/^[A-Za-z_]/.test(id)) return `the id starts with ${JSON.stringify(id[0])}.`;
  const bad = [...id].find((c) => !/[A-Za-z0-9_.-]/.test(c));
  return `the id contains the character ${JSON.stringify(bad)}.`;
}

// ---------------------------------------------------------------------------------------------------
// 4–6. Ops and wiring: a registered op, the right number of inputs, inputs that exist

function checkOpsKnown(context: Context): void {
  const names = listOps().map((op) => op.name);
  context.nodes.forEach((node, index) => {
    if (getOp(node.op)) return;
    const suggestion = didYouMean(node.op, names);
    const hint = suggestion || ` The registered ops are ${names.join(", ")}; a custom op must be registered (registerOp) before the graph is loaded.`;
    throw new GraphError(`unknown op "${node.op}".${hint}`, { nodeId: node.id, field: "op", path: ["nodes", index, "op"] });
  });
}

function checkArity(context: Context): void {
  context.nodes.forEach((node, index) => {
    const expected = getOp(node.op)!.inputs;
    if (node.inputs.length === expected.length) return;
    const takes = expected.length === 0 ? "takes no inputs" : `takes ${expected.length} input${expected.length === 1 ? "" : "s"} (${expected.join(", ")})`;
    throw new GraphError(`the op "${node.op}" ${takes}, found ${node.inputs.length}: ${JSON.stringify(node.inputs)}.`, {
      nodeId: node.id,
      field: "inputs",
      path: ["nodes", index, "inputs"],
    });
  });
}

function checkInputsExist(context: Context): void {
  const ids = new Set(context.nodes.map((n) => n.id));
  context.nodes.forEach((node, index) => {
    node.inputs.forEach((input, k) => {
      if (ids.has(input)) return;
      throw new GraphError(`refers to "${input}", but no node has that id.${didYouMean(input, ids)}`, {
        nodeId: node.id,
        field: `inputs[${k}]`,
        path: ["nodes", index, "inputs", k],
      });
    });
  });
}

// ---------------------------------------------------------------------------------------------------
// 7. Attributes, against each op's own schema

function checkAttrs(context: Context): void {
  context.nodes.forEach((node, index) => {
    const problem = attrValidator(node.op)!(node.attrs);
    if (problem) throw errorAt(context, ["nodes", index, "attrs", ...problem.path], problem.message);
  });
}

// ---------------------------------------------------------------------------------------------------
// 8. No cycles: every value must be computable from values that do not depend on it

/** Returns the graph's topological order. */
function checkAcyclic(context: Context): string[] {
  const { order, cycle } = orderOrCycle(context.graph);
  if (!cycle) return order;
  // In dataflow order a → b → … → a: the first node consumes the last one.
  const first = cycle[0]!;
  const last = cycle[cycle.length - 1]!;
  const index = context.nodes.findIndex((n) => n.id === first);
  const k = context.nodes[index]!.inputs.indexOf(last);
  const loop = abbreviate([...cycle, first], { separator: " → " });
  const problem =
    cycle.length === 1
      ? `the node takes its own output as an input (${loop}), so it could never be computed.`
      : `the graph has a cycle, ${loop}: each of these nodes waits for the one before it, so none could ever be computed.`;
  throw new GraphError(`${problem} A dataflow graph must be acyclic.`, { nodeId: first, field: `inputs[${k}]`, path: ["nodes", index, "inputs", k] });
}

// ---------------------------------------------------------------------------------------------------
// 9. Shapes: inferShapes, above. 10. What needs shapes: the loss, the outputs and the gradients

function checkLossAndOutputs(context: Context, shapes: ReadonlyMap<string, Shape>): void {
  const { loss, outputs = {} } = context.graph;
  if (loss !== undefined) {
    const shape = shapes.get(loss);
    if (shape === undefined)
      throw new GraphError(`refers to "${loss}", but no node has that id.${didYouMean(loss, shapes.keys())}`, { field: "loss", path: ["loss"] });
    if (shape.length !== 0) {
      throw new GraphError(
        `the loss must be a scalar (shape []), but node "${loss}" has shape ${formatShape(shape)}. Reduce it to one number, ` +
          `for example with a loss op such as softmax_cross_entropy, or with sum_to and {"shape": []}.`,
        { field: "loss", path: ["loss"] },
      );
    }
  }
  for (const [name, id] of Object.entries(outputs)) {
    if (shapes.has(id)) continue;
    const field = formatPath(["outputs", name]);
    throw new GraphError(`refers to "${id}", but no node has that id.${didYouMean(id, shapes.keys())}`, { field, path: ["outputs", name] });
  }
}

/**
 * A differentiated graph's `gradients`: each key a value of the graph, each value the node holding its
 * gradient, which has the value's shape. Fields are written gradients["W1"], the key quoted even when it
 * is an identifier, since a key is a node id.
 */
function checkGradients(context: Context, shapes: ReadonlyMap<string, Shape>): void {
  for (const [key, id] of Object.entries(context.graph.gradients ?? {})) {
    const where = { field: `gradients[${JSON.stringify(key)}]`, path: ["gradients", key] };
    const valueShape = shapes.get(key);
    if (valueShape === undefined) {
      throw new GraphError(`names the gradient of "${key}", but no node has that id.${didYouMean(key, shapes.keys())}`, where);
    }
    const gradientShape = shapes.get(id);
    if (gradientShape === undefined) throw new GraphError(`refers to "${id}", but no node has that id.${didYouMean(id, shapes.keys())}`, where);
    if (!sameShape(valueShape, gradientShape)) {
      throw new GraphError(
        `the gradient of "${key}" must have its shape, ${formatShape(valueShape)}, but node "${id}" has shape ${formatShape(gradientShape)}.`,
        where,
      );
    }
  }
}

// ---------------------------------------------------------------------------------------------------
// 11. Absurd sizes: each tensor is bounded by shape inference; here, the parameters in all

function checkParameterTotal(context: Context, shapes: ReadonlyMap<string, Shape>): void {
  let total = 0;
  let largest: { node: GraphNode; index: number; elements: number } | undefined;
  context.nodes.forEach((node, index) => {
    if (getOp(node.op)!.role !== "parameter") return;
    const elements = shapes.get(node.id)!.reduce<number>((n, d) => n * (typeof d === "number" ? d : 1), 1);
    total += elements;
    if (!largest || elements > largest.elements) largest = { node, index, elements };
  });
  if (total <= MAX_PARAMETER_ELEMENTS || !largest) return;
  const count = (n: number) => n.toLocaleString("en-US");
  throw new GraphError(
    `the parameters hold ${count(total)} elements in all, more than the limit of ${count(MAX_PARAMETER_ELEMENTS)} (1 GiB in float32); ` +
      `the largest is this one, ${formatShape(shapes.get(largest.node.id)!)} = ${count(largest.elements)} elements. Check the sizes for a typo.`,
    { nodeId: largest.node.id, field: "attrs.shape", path: ["nodes", largest.index, "attrs", "shape"] },
  );
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
