/**
 * Fuzzing the loader: valid graph files, mutated at random — as parsed JSON (fields deleted, replaced,
 * retyped, ids swapped, inputs rewired, sizes blown up) and as raw text (characters inserted, deleted,
 * replaced). Whatever comes out, the loader either accepts it or throws a GraphError that starts with
 * the file's name; never any other exception.
 */
import { readFileSync } from "node:fs";
import fc from "fast-check";
import { Ajv } from "ajv";
import { describe, expect, it } from "vitest";
import { graphDocumentSchema } from "../../src/graph-file/document-schema.js";
import { GraphError } from "../../src/graph/errors.js";
import type { Graph } from "../../src/graph/ir.js";
import { parseGraph } from "../../src/graph-file/load.js";
import { validateGraph } from "../../src/graph-file/validate.js";
import { mnistText, tinyText } from "../graph/helpers.js";

const FILE = "fuzz.graph.json";
// The report's network twice (written node by node, and with blocks) and a tiny graph.
const SEEDS = [mnistText(), readFileSync("graphs/mnist-blocks.graph.json", "utf8"), tinyText()];
const RUNS = Number(process.env.FUZZ_RUNS ?? 3000);

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Path = (string | number)[];

// ---------------------------------------------------------------------------------------------------
// The oracle

const editorSchema = new Ajv({ strict: false }).compile(graphDocumentSchema());

/** Accepted, or a GraphError naming the file (with a line within the text when it gives one). */
function acceptedOrGraphError(action: () => unknown, text?: string): boolean {
  try {
    action();
    return true;
  } catch (err) {
    if (!(err instanceof GraphError)) throw err;
    expect(err.message.startsWith(`${FILE}:`), err.message).toBe(true);
    const line = /^fuzz\.graph\.json:(\d+):(\d+): /.exec(err.message)?.[1];
    if (text !== undefined && line !== undefined) expect(Number(line)).toBeLessThanOrEqual(text.split("\n").length);
    return false;
  }
}

/** What an accepted file must also be: valid for editors, and loadable again once written back. */
function checkAccepted(text: string): void {
  const graph = parseGraph(text, FILE);
  // The loader drops a leading byte order mark (editors hide it); JSON.parse does not.
  expect(editorSchema(JSON.parse(text.replace(/^\uFEFF/, ""))), JSON.stringify(editorSchema.errors)).toBe(true);
  expect(parseGraph(JSON.stringify(graph), FILE)).toEqual(graph);
}

// ---------------------------------------------------------------------------------------------------
// Mutations of the parsed document

const NAMES = [
  "",
  "x",
  "y",
  "W1",
  "b1",
  "z1",
  "a",
  "loss",
  "probs",
  "batch",
  "relu",
  "grad/W1",
  "v@n",
  "__proto__",
  "constructor",
  "toString",
  "x".repeat(300),
];
const SIZES = [0, -1, 1, 2.5, 10, 784, 2 ** 28, 2 ** 31 - 1, 2 ** 31, 2 ** 53, 1e300, -0];

const payload: fc.Arbitrary<Json> = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }) as fc.Arbitrary<Json>,
  fc.string({ unit: "grapheme", maxLength: 12 }),
  fc.constantFrom(...NAMES),
  fc.constantFrom(...SIZES),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.array(fc.oneof(fc.integer({ min: -2, max: 2 ** 31 }), fc.constant("batch")), { maxLength: 10 }),
  fc.array(fc.constantFrom(...NAMES), { maxLength: 4 }),
  fc.constantFrom<Json>(null, true, false, [], {}),
);

const jsonMutation = fc.oneof(
  fc.record({ kind: fc.constant("delete" as const), at: fc.nat() }),
  fc.record({ kind: fc.constant("replace" as const), at: fc.nat(), value: payload }),
  fc.record({ kind: fc.constant("retype" as const), at: fc.nat(), to: fc.constantFrom("string", "number", "boolean", "null", "array", "object") }),
  fc.record({
    kind: fc.constant("addKey" as const),
    at: fc.nat(),
    key: fc.oneof(fc.constantFrom("inputs", "attrs", "rate", "shape", "id", "op", "$schema", "__proto__"), fc.string({ maxLength: 6 })),
    value: payload,
  }),
  fc.record({ kind: fc.constant("swapIds" as const), a: fc.nat(), b: fc.nat() }),
  fc.record({ kind: fc.constant("rewire" as const), node: fc.nat(), input: fc.nat(), target: fc.nat() }),
  fc.record({
    kind: fc.constant("resize" as const),
    node: fc.nat(),
    dim: fc.nat(),
    size: fc.oneof(fc.constantFrom(...SIZES), fc.integer({ min: 1, max: 2 ** 31 - 1 })),
  }),
  fc.record({ kind: fc.constant("duplicateNode" as const), node: fc.nat() }),
);
type JsonMutation = typeof jsonMutation extends fc.Arbitrary<infer M> ? M : never;

function isContainer(value: unknown): value is Json[] | { [key: string]: Json } {
  return typeof value === "object" && value !== null;
}

/** Every path in the document, the root first. */
function pathsOf(value: Json, prefix: Path = []): Path[] {
  const paths: Path[] = [prefix];
  if (Array.isArray(value)) value.forEach((item, i) => paths.push(...pathsOf(item, [...prefix, i])));
  else if (isContainer(value)) for (const [key, item] of Object.entries(value)) paths.push(...pathsOf(item, [...prefix, key]));
  return paths;
}

function getAt(root: Json, path: Path): Json {
  return path.reduce<Json>((value, key) => (value as Record<string | number, Json>)[key]!, root);
}

/** Sets as an own property, so that a key such as "__proto__" stays data, as JSON.parse makes it. */
function setAt(root: Json, path: Path, value: Json): Json {
  if (path.length === 0) return value;
  const parent = getAt(root, path.slice(0, -1)) as Record<string | number, Json>;
  Object.defineProperty(parent, path[path.length - 1]!, { value, enumerable: true, writable: true, configurable: true });
  return root;
}

function retype(value: Json, to: string): Json {
  switch (to) {
    case "string":
      return typeof value === "string" ? `${value}!` : JSON.stringify(value);
    case "number":
      return typeof value === "number" ? -value - 1 : typeof value === "string" ? value.length : 1;
    case "boolean":
      return !value;
    case "null":
      return null;
    case "array":
      return Array.isArray(value) ? [] : [value];
    default:
      return isContainer(value) && !Array.isArray(value) ? {} : { value };
  }
}

function nodesOf(doc: Json): Json[] {
  return isContainer(doc) && !Array.isArray(doc) && Array.isArray(doc.nodes) ? doc.nodes : [];
}

function pick<T>(items: readonly T[], n: number): T | undefined {
  return items.length === 0 ? undefined : items[n % items.length];
}

/** Applies one mutation in place. Generated values are copied in: fast-check may hand the same one out again. */
function mutate(doc: Json, m: JsonMutation): Json {
  const paths = pathsOf(doc);
  const objects = paths.filter((p) => isContainer(getAt(doc, p)) && !Array.isArray(getAt(doc, p)));
  const nodes = nodesOf(doc).filter((n): n is { [key: string]: Json } => isContainer(n) && !Array.isArray(n));
  switch (m.kind) {
    case "delete": {
      const path = pick(paths.slice(1), m.at);
      if (!path) return doc;
      const parent = getAt(doc, path.slice(0, -1));
      if (Array.isArray(parent)) parent.splice(path[path.length - 1] as number, 1);
      else delete (parent as Record<string, Json>)[path[path.length - 1] as string];
      return doc;
    }
    case "replace":
      return setAt(doc, pick(paths, m.at)!, structuredClone(m.value));
    case "retype": {
      const path = pick(paths, m.at)!;
      return setAt(doc, path, retype(getAt(doc, path), m.to));
    }
    case "addKey": {
      const path = pick(objects, m.at);
      return path ? setAt(doc, [...path, m.key], structuredClone(m.value)) : doc;
    }
    case "swapIds": {
      const [a, b] = [pick(nodes, m.a), pick(nodes, m.b)];
      if (a && b) [a.id, b.id] = [b.id!, a.id!];
      return doc;
    }
    case "rewire": {
      const node = pick(nodes, m.node);
      const target = pick(nodes, m.target)?.id;
      if (node && Array.isArray(node.inputs) && node.inputs.length > 0 && target !== undefined) node.inputs[m.input % node.inputs.length] = target;
      return doc;
    }
    case "resize": {
      const shaped = nodes.filter((n) => isContainer(n.attrs) && !Array.isArray(n.attrs) && Array.isArray(n.attrs.shape) && n.attrs.shape.length > 0);
      const shape = (pick(shaped, m.node)?.attrs as { shape: Json[] } | undefined)?.shape;
      if (shape) shape[m.dim % shape.length] = m.size;
      return doc;
    }
    case "duplicateNode": {
      const node = pick(nodes, m.node);
      if (node) (doc as { nodes: Json[] }).nodes.push(structuredClone(node));
      return doc;
    }
  }
}

// ---------------------------------------------------------------------------------------------------
// Mutations of the text

const fragment = fc.oneof(
  fc.constantFrom(..."{}[],:\"\\ \n\t0123456789-+.eE/*'tfnaxu".split("")),
  fc.constantFrom("//", "/*", "*/", "NaN", "true", "null", "\uFEFF", "\u0000", "\ud800", '"x":', ",]", '"\\u12'),
  fc.string({ maxLength: 4 }),
);

const textEdit = fc.oneof(
  fc.record({ kind: fc.constant("insert" as const), at: fc.nat(), text: fragment }),
  fc.record({ kind: fc.constant("delete" as const), at: fc.nat(), length: fc.integer({ min: 1, max: 8 }) }),
  fc.record({ kind: fc.constant("replace" as const), at: fc.nat(), text: fragment }),
);
type TextEdit = typeof textEdit extends fc.Arbitrary<infer E> ? E : never;

function edit(text: string, e: TextEdit): string {
  const at = e.at % (text.length + 1);
  if (e.kind === "insert") return text.slice(0, at) + e.text + text.slice(at);
  if (e.kind === "delete") return text.slice(0, at) + text.slice(at + e.length);
  return text.slice(0, at) + e.text + text.slice(at + e.text.length);
}

// ---------------------------------------------------------------------------------------------------

describe("fuzzing graph files: accepted, or a GraphError naming the file — nothing else", () => {
  it("the seeds are valid", () => {
    for (const seed of SEEDS) checkAccepted(seed);
  });

  it("mutated as JSON, loaded as files and validated as graphs built in code", () => {
    let accepted = 0;
    fc.assert(
      fc.property(fc.constantFrom(...SEEDS), fc.array(jsonMutation, { minLength: 1, maxLength: 4 }), fc.constantFrom(0, 2), (seed, mutations, indent) => {
        const doc = mutations.reduce<Json>(mutate, JSON.parse(seed) as Json);
        const text = JSON.stringify(doc, null, indent);
        if (acceptedOrGraphError(() => parseGraph(text, FILE), text)) {
          accepted++;
          checkAccepted(text);
        }
        acceptedOrGraphError(() => validateGraph(doc as unknown as Graph, FILE));
      }),
      { numRuns: RUNS },
    );
    // The mutations must not be so wild that nothing survives them.
    expect(accepted).toBeGreaterThan(RUNS / 50);
  });

  it("mutated as text", () => {
    let accepted = 0;
    fc.assert(
      fc.property(fc.constantFrom(...SEEDS), fc.array(textEdit, { minLength: 1, maxLength: 5 }), (seed, edits) => {
        const text = edits.reduce(edit, seed);
        if (acceptedOrGraphError(() => parseGraph(text, FILE), text)) {
          accepted++;
          checkAccepted(text);
        }
      }),
      { numRuns: RUNS },
    );
    expect(accepted).toBeGreaterThan(RUNS / 50);
  });
});
