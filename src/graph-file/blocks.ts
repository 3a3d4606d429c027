/**
 * Blocks: a small graph defined once in a graph file's `blocks` section — named inputs, attributes,
 * nodes, an output — and used by nodes that name it (`"block": "dense"`) instead of an op. Loading
 * expands every use into ordinary nodes with readable ids (`hidden1/W`), so autodiff, the planner,
 * `inspect`, checkpoints and everything after see a plain graph; the graph keeps `groups`, which nodes
 * came from which use, for pictures.
 *
 * Inside a block's nodes, two kinds of value are filled in at each use:
 *   {"$attr": "units"}     the use's attribute (or the block's default for it), anywhere in `op` or `attrs`;
 *   {"$dim": ["x", -1]}    a dimension of the shape of one of the block's inputs (negative: from the end),
 *                          so that a dense block's W is [inputs, units] whatever it is given.
 * A block may use other blocks; ids then nest (`encoder/hidden1/W`).
 *
 * Errors point into the file: at the use (its block, inputs or attrs) or at the block's definition.
 */
import { GraphError } from "../graph/errors.js";
import type { Graph, Shape } from "../graph/ir.js";
import { parsePath, type JsonPath } from "../graph/json-path.js";
import { compileSchema, summarize, type SchemaValidator } from "../graph/schema-validator.js";
import { BLOCK_SEPARATOR, BLOCKS_SCHEMA } from "./document-schema.js";
import { inferShapes } from "./shapes.js";
import { validateGraph } from "./validate.js";

/** Which nodes came from which use of a block (for pictures): the use's id, the block's name, the nodes' ids. */
export interface BlockGroup {
  readonly id: string;
  readonly block: string;
  readonly nodes: readonly string[];
}

/** The document with every use of a block expanded, and where each of its nodes came from in the file. */
export interface Expanded {
  readonly document: Record<string, unknown>;
  /** For each node of the expanded list, the JSON path of the file's value that defines it. */
  readonly nodePaths: readonly JsonPath[];
}

interface BlockDefinition {
  readonly name: string;
  readonly inputs: readonly string[];
  readonly output: string;
  readonly nodes: readonly Record<string, unknown>[];
  readonly validateAttrs: SchemaValidator;
  readonly defaults: Readonly<Record<string, unknown>>;
  readonly path: JsonPath;
}

/**
 * Expands the uses of blocks in a graph document (already in the IR's form: nodes with `inputs` and
 * `attrs`). A document without `blocks` and without uses is returned as it is.
 */
export function expandBlocks(document: Record<string, unknown>): Expanded {
  const nodes = document.nodes as unknown[];
  if (!Array.isArray(nodes)) return { document, nodePaths: [] };
  const identity = (): Expanded => ({ document, nodePaths: nodes.map((_, i) => ["nodes", i]) });
  const uses = nodes.some((node) => isObject(node) && node.block !== undefined);
  if (document.blocks === undefined && !uses) return identity();
  const blocks = readBlocks(document.blocks);
  const expansion = new Expansion(blocks);
  nodes.forEach((node, i) => expansion.add(node, ["nodes", i], "", new Map(), []));
  const { blocks: _definitions, ...rest } = document;
  const resolve = (id: unknown) => (typeof id === "string" ? expansion.outputOf(id) : id);
  const outputs = isObject(document.outputs) ? Object.fromEntries(Object.entries(document.outputs).map(([name, id]) => [name, resolve(id)])) : document.outputs;
  // A use's id names its nodes and is how others refer to its output: no node may have it too.
  const ids = new Set(expansion.nodes.map((node) => (isObject(node) ? node.id : undefined)));
  for (const group of expansion.groups) {
    if (ids.has(group.id)) {
      const at = expansion.nodes.findIndex((node) => isObject(node) && node.id === group.id);
      throw new GraphError(`"${group.id}" names both a use of block "${group.block}" and a node; give one of them another id.`, {
        path: [...expansion.paths[at]!, "id"],
      });
    }
  }
  // References to a use (from anywhere, before or after it) reach its output.
  const resolved = expansion.nodes.map((node) => (isObject(node) && Array.isArray(node.inputs) ? { ...node, inputs: node.inputs.map(resolve) } : node));
  return {
    document: {
      ...rest,
      nodes: resolved,
      ...(document.loss !== undefined ? { loss: resolve(document.loss) } : {}),
      ...(outputs !== undefined ? { outputs } : {}),
      ...(expansion.groups.length > 0 ? { groups: expansion.groups } : {}),
    },
    nodePaths: expansion.paths,
  };
}

class Expansion {
  readonly nodes: Record<string, unknown>[] = [];
  readonly paths: JsonPath[] = [];
  readonly groups: BlockGroup[] = [];
  /** A use's id → the id of its output node (expanded), for references to the use. */
  private readonly outputs = new Map<string, string>();
  private readonly byId = new Map<string, Record<string, unknown>>();
  /** Where in the file each node added so far is defined. */
  private readonly pathOf = new Map<string, JsonPath>();
  private readonly shapes = new Map<string, Shape>();

  constructor(private readonly blocks: ReadonlyMap<string, BlockDefinition>) {}

  /** The id other nodes reach `id` by: a use's output node, or `id` itself. */
  outputOf(id: string): string {
    let seen = id;
    for (let next = this.outputs.get(seen); next !== undefined; next = this.outputs.get(seen)) seen = next;
    return seen;
  }

  /**
   * Adds a node of the file (or of a block, under `prefix`, its names of the block's inputs mapped by
   * `bound`): a plain node as it is, a use of a block by expanding it. `within`: the blocks being
   * expanded around it, to refuse a block that uses itself.
   */
  add(node: unknown, path: JsonPath, prefix: string, bound: ReadonlyMap<string, string>, within: readonly string[]): void {
    if (!isObject(node)) {
      this.push(node as Record<string, unknown>, path);
      return;
    }
    const id = typeof node.id === "string" ? prefix + node.id : node.id;
    // A use listed before reaches its output at once (a shape may be needed from it); later ones at the end.
    const inputs = Array.isArray(node.inputs)
      ? node.inputs.map((input) => (typeof input === "string" ? this.outputOf(bound.get(input) ?? prefix + input) : input))
      : node.inputs;
    if (node.block === undefined) {
      this.push({ ...node, id, inputs }, path);
      return;
    }
    if (node.op !== undefined) throw new GraphError(`a node names either an op or a block, not both.`, { path: [...path, "block"] });
    const unknown = Object.keys(node).find((key) => !["id", "block", "inputs", "attrs"].includes(key));
    if (unknown !== undefined) {
      throw new GraphError(`"${unknown}" is not a field of a node that uses a block (it has "id", "block", "inputs" and "attrs").`, {
        path: [...path, unknown],
      });
    }
    if (typeof id !== "string") throw new GraphError(`a node that uses a block needs an "id".`, { path });
    const block = this.blocks.get(String(node.block));
    if (typeof node.block !== "string" || !block) {
      const known = [...this.blocks.keys()];
      throw new GraphError(
        `${summarize(node.block)} is not a block of this file${known.length > 0 ? ` (its blocks: ${known.join(", ")})` : ' (it has no "blocks" section)'}.`,
        { path: [...path, "block"] },
      );
    }
    if (within.includes(block.name)) {
      throw new GraphError(`block "${block.name}" uses itself (${[...within, block.name].join(" → ")}): a block cannot contain itself.`, {
        path: [...path, "block"],
      });
    }
    if (id.split(BLOCK_SEPARATOR)[0] === "grad") {
      throw new GraphError(`a use of a block cannot be named "grad": its nodes' ids ("grad/…") are those of the backward nodes autodiff adds.`, {
        path: [...path, "id"],
      });
    }
    if (!Array.isArray(inputs) || inputs.length !== block.inputs.length || !inputs.every((i) => typeof i === "string")) {
      throw new GraphError(
        `block "${block.name}" takes ${block.inputs.length === 1 ? "one input" : `${block.inputs.length} inputs`} (${block.inputs.join(", ")}): give their ids in "inputs".`,
        { path: [...path, "inputs"] },
      );
    }
    const attrs = { ...block.defaults, ...(isObject(node.attrs) ? node.attrs : {}) };
    const problem = block.validateAttrs(attrs);
    if (problem) {
      const field = problem.path.length > 0 ? `, "${problem.path.join(".")}"` : "";
      throw new GraphError(`attributes of block "${block.name}"${field}: ${problem.message}`, { path: [...path, "attrs", ...problem.path] });
    }
    const ownInputs = new Map(block.inputs.map((name, i) => [name, this.outputOf(inputs[i] as string)]));
    const first = this.nodes.length;
    block.nodes.forEach((inner, j) => {
      const filled = this.fill(inner, attrs, ownInputs, [...block.path, "nodes", j], id);
      this.add(filled, [...block.path, "nodes", j], `${id}${BLOCK_SEPARATOR}`, ownInputs, [...within, block.name]);
    });
    this.outputs.set(id, `${id}${BLOCK_SEPARATOR}${block.output}`);
    this.groups.push({ id, block: block.name, nodes: this.nodes.slice(first).map((n) => String(n.id)) });
  }

  private push(node: Record<string, unknown>, path: JsonPath): void {
    this.nodes.push(node);
    this.paths.push(path);
    if (isObject(node) && typeof node.id === "string" && !this.byId.has(node.id)) {
      this.byId.set(node.id, node);
      this.pathOf.set(node.id, path);
    }
  }

  /** A block's node with its {"$attr"} and {"$dim"} values filled in for one use. */
  private fill(value: unknown, attrs: Record<string, unknown>, inputs: ReadonlyMap<string, string>, path: JsonPath, use: string): unknown {
    if (Array.isArray(value)) return value.map((item, i) => this.fill(item, attrs, inputs, [...path, i], use));
    if (!isObject(value)) return value;
    const keys = Object.keys(value);
    if (keys.length === 1 && keys[0] === "$attr") {
      const name = value.$attr;
      if (typeof name !== "string" || !(name in attrs)) {
        throw new GraphError(`{"$attr": ${summarize(name)}} names no attribute of the block (use "${use}" gives ${Object.keys(attrs).join(", ") || "none"}).`, {
          path,
        });
      }
      return attrs[name];
    }
    if (keys.length === 1 && keys[0] === "$dim") return this.dimension(value.$dim, inputs, path, use);
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, this.fill(item, attrs, inputs, [...path, key], use)]));
  }

  /** {"$dim": [input, axis]}: that dimension of the shape of the value the use gives for the block's input. */
  private dimension(spec: unknown, inputs: ReadonlyMap<string, string>, path: JsonPath, use: string): unknown {
    const [input, axis] = Array.isArray(spec) ? spec : [];
    if (typeof input !== "string" || !inputs.has(input) || !Number.isInteger(axis)) {
      throw new GraphError(
        `{"$dim": [input, axis]} takes one of the block's inputs (${[...inputs.keys()].join(", ")}) and an integer axis, not ${summarize(spec)}.`,
        {
          path,
        },
      );
    }
    const id = inputs.get(input)!;
    const shape = this.shapeOf(id, use);
    const index = (axis as number) < 0 ? shape.length + (axis as number) : (axis as number);
    if (index < 0 || index >= shape.length) {
      throw new GraphError(`{"$dim": ["${input}", ${String(axis)}]}: "${id}" has shape [${shape.join(", ")}], which has no axis ${String(axis)}.`, { path });
    }
    return shape[index];
  }

  /**
   * The shape of a node already added, from it and its ancestors, validated first (so that a mistake in
   * them is reported as it would be without blocks); a clear error for one not yet known.
   */
  private shapeOf(id: string, use: string): Shape {
    const known = this.shapes.get(id);
    if (known) return known;
    if (!this.byId.has(id)) {
      throw new GraphError(`use "${use}" of a block needs the shape of "${id}", which is not defined before it in the file; list "${id}" first.`, {
        nodeId: use,
      });
    }
    const ancestors = new Map<string, Record<string, unknown>>();
    const visit = (at: string) => {
      const node = this.byId.get(at);
      if (!node || ancestors.has(at)) return;
      ancestors.set(at, node);
      if (Array.isArray(node.inputs)) for (const input of node.inputs) if (typeof input === "string") visit(input);
    };
    visit(id);
    const partial = { name: `the inputs of "${use}"`, nodes: [...ancestors.values()] } as unknown as Graph;
    try {
      validateGraph(partial);
    } catch (err) {
      // Placed at the node it concerns, where the file defines it (its path is in the partial graph).
      if (err instanceof GraphError) {
        const { nodeId, field } = err.location;
        const at = nodeId === undefined ? undefined : this.pathOf.get(nodeId);
        throw new GraphError(err.problem, {
          ...(nodeId !== undefined ? { nodeId } : {}),
          ...(field !== undefined ? { field } : {}),
          ...(at ? { path: [...at, ...(field === undefined ? [] : parsePath(field))] } : {}),
        });
      }
      throw err;
    }
    for (const [at, shape] of inferShapes(partial)) this.shapes.set(at, shape);
    return this.shapes.get(id)!;
  }
}

/** The `blocks` section, checked: each block's inputs, attributes (a JSON Schema per attribute), nodes and output. */
function readBlocks(section: unknown): Map<string, BlockDefinition> {
  const blocks = new Map<string, BlockDefinition>();
  if (section === undefined) return blocks;
  if (!isObject(section)) throw new GraphError(`"blocks" must be an object: block name → its definition.`, { path: ["blocks"] });
  // The editor schema's rules for blocks, so that what loads is what an editor accepts.
  const problem = validateBlocksSection(section);
  if (problem) throw new GraphError(problem.message, { path: ["blocks", ...problem.path] });
  for (const [name, definition] of Object.entries(section)) {
    const path: JsonPath = ["blocks", name];
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new GraphError(`a block's name is letters, digits and "_", starting with a letter or "_".`, { path });
    if (!isObject(definition)) throw new GraphError(`a block is an object with "inputs", "nodes" and "output".`, { path });
    const { inputs, nodes, output, attrs = {} } = definition;
    if (!Array.isArray(inputs) || !inputs.every((i) => typeof i === "string")) {
      throw new GraphError(`"inputs" must list the names the block's nodes use for what each use gives it.`, { path: [...path, "inputs"] });
    }
    if (!Array.isArray(nodes) || nodes.length === 0) throw new GraphError(`"nodes" must list the block's nodes.`, { path: [...path, "nodes"] });
    const ids = nodes.map((n) => (isObject(n) ? n.id : undefined));
    if (typeof output !== "string" || !ids.includes(output)) {
      throw new GraphError(`"output" must be the id of one of the block's nodes (${ids.filter((i) => typeof i === "string").join(", ")}).`, {
        path: [...path, "output"],
      });
    }
    if (!isObject(attrs) || !Object.values(attrs).every(isObject)) {
      throw new GraphError(`"attrs" maps each attribute's name to its JSON Schema, such as {"units": {"type": "integer", "minimum": 1}}.`, {
        path: [...path, "attrs"],
      });
    }
    const properties = attrs as Record<string, Record<string, unknown>>;
    const defaults = Object.fromEntries(
      Object.entries(properties)
        .filter(([, s]) => s.default !== undefined)
        .map(([key, s]) => [key, s.default]),
    );
    const required = Object.keys(properties).filter((key) => properties[key]!.default === undefined);
    let validateAttrs: SchemaValidator;
    try {
      validateAttrs = compileSchema({ type: "object", properties, required, additionalProperties: false });
    } catch (err) {
      throw new GraphError(`"attrs" is not a valid JSON Schema: ${(err as Error).message}`, { path: [...path, "attrs"] });
    }
    blocks.set(name, {
      name,
      inputs: inputs as string[],
      output,
      nodes: nodes.map((n) => (isObject(n) ? { inputs: [], attrs: {}, ...n } : n)) as Record<string, unknown>[],
      validateAttrs,
      defaults,
      path,
    });
  }
  return blocks;
}

let blocksValidator: SchemaValidator | undefined;
function validateBlocksSection(section: unknown) {
  blocksValidator ??= compileSchema(BLOCKS_SCHEMA);
  return blocksValidator(section);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The groups of a graph that came from blocks (none for a graph written node by node). */
export function blockGroups(graph: Graph): readonly BlockGroup[] {
  return (graph as Graph & { groups?: readonly BlockGroup[] }).groups ?? [];
}
