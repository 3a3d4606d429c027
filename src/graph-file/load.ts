/**
 * Loading a graph file: read the text, parse it strictly as JSON, bring it into the IR's form and
 * validate it. Every error names the file and, where it concerns a value in the file, its line and
 * column.
 */
import { readFileSync } from "node:fs";
import { GraphError } from "../graph/errors.js";
import type { Graph } from "../graph/ir.js";
import { readJsonText, type JsonText } from "../graph/json-text.js";
import { GraphSource } from "../graph/source.js";
import { summarize } from "../graph/schema-validator.js";
import type { JsonPath } from "../graph/json-path.js";
import { expandBlocks } from "./blocks.js";
import { validateGraph } from "./validate.js";
import { fileSystemReason } from "../util/fs-errors.js";

/** Reads, parses and validates the graph file at `path`. */
export function loadGraphFile(path: string): Graph {
  return loadGraphSource(path).graph;
}

/** Parses and validates a graph file's content; `file` names it in error messages. */
export function parseGraph(text: string, file: string): Graph {
  return parseGraphSource(text, file).graph;
}

/** loadGraphFile, keeping where the graph's values lie in the file, to place errors found later (GraphSource.guard). */
export function loadGraphSource(path: string): GraphSource {
  return parseGraphSource(readText(path), path);
}

/** parseGraph, keeping where the graph's values lie in the text, to place errors found later (GraphSource.guard). */
export function parseGraphSource(text: string, file: string): GraphSource {
  // A byte order mark is invisible in an editor, and JSON.parse refuses it.
  return graphSourceOf(readJsonText(text.replace(/^\uFEFF/, ""), file), file);
}

/**
 * The graph in a JSON document already read: a graph file's, or a graph stored inside another file (a
 * run's config.json), whose `locate` then places the graph's values in that file. Errors name `file`.
 */
export function graphSourceOf(json: JsonText, file: string): GraphSource {
  checkSchemaReference(json.value, file, json.locate);
  const document = toIR(json.value);
  // Blocks expanded first, their errors placed in the file; then every expanded node is located at the
  // value in the file that defines it (a plain node, or a node of a block's definition).
  const { document: expanded, nodePaths } = isObject(document)
    ? new GraphSource(file, document as unknown as Graph, json.locate).guard(() => expandBlocks(document))
    : { document, nodePaths: [] };
  const locate = (path: JsonPath) => {
    const [first, index, ...rest] = path;
    const defined = first === "nodes" && typeof index === "number" ? nodePaths[index] : undefined;
    return json.locate(defined ? [...defined, ...rest] : path);
  };
  const graph = expanded as unknown as Graph;
  validateGraph(graph, file, { locate });
  return new GraphSource(file, graph, locate);
}

function readText(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (err) {
    const reason = fileSystemReason(err) ?? (err as Error).message;
    throw new GraphError(`cannot read the graph file: ${reason}.`, { file: path });
  }
}

/** `$schema` is for editors only, so it is dropped; still, a value there that is not a string is a mistake. */
function checkSchemaReference(document: unknown, file: string, locate: JsonText["locate"]): void {
  if (!isObject(document) || document.$schema === undefined || typeof document.$schema === "string") return;
  throw new GraphError(`must be a string, the path or URL of the graph schema such as "./graph.schema.json" (found ${summarize(document.$schema)}).`, {
    file,
    field: "$schema",
    ...locate(["$schema"]),
  });
}

/**
 * The IR's form of a graph file: `$schema` dropped, and `inputs: []` and `attrs: {}` for nodes that
 * omit them (sources and attribute-less ops). Anything malformed is passed through for validation to
 * report.
 */
function toIR(document: unknown): unknown {
  if (!isObject(document)) return document;
  const { $schema: _forEditors, ...graph } = document;
  if (!Array.isArray(graph.nodes)) return graph;
  return { ...graph, nodes: graph.nodes.map(withDefaults) };
}

function withDefaults(node: unknown): unknown {
  if (!isObject(node)) return node;
  return { ...node, inputs: node.inputs === undefined ? [] : node.inputs, attrs: node.attrs === undefined ? {} : node.attrs };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
