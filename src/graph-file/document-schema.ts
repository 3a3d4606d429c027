/**
 * The JSON Schema (draft-07) of a graph file, built from the op registry.
 *
 * Two variants come from one builder:
 *   - graphDocumentSchema(), for editors and for graphs/graph.schema.json: it lists the registered ops
 *     with their summaries and, per op, the attributes and the number of inputs, so that an editor
 *     completes and checks a node as it is typed;
 *   - graphStructureSchema(), which validateGraph runs first: the same document, without anything per
 *     op and without the id patterns. Those are checked right after, one rule at a time, and each rule
 *     says precisely what is wrong ("unknown op "rleu". Did you mean "relu"?", the attribute's own
 *     schema error). Run through ajv instead, a failing if/then or anyOf of twenty ops gives only "must
 *     match "then" schema" at the node. It also takes the IR's form — every node has `inputs` and
 *     `attrs` — since the loader fills in what a file may omit.
 */
import { writeFileSync } from "node:fs";
import type { OpDefinition } from "../ops/op.js";
import { listOps } from "../ops/registry.js";
import { TrainingSchema } from "../graph/training.js";

/**
 * What the id of a node a person writes (a forward node) may look like. "/", "@", "+" and "#" are kept
 * for the backward nodes autodiff adds.
 */
export const NODE_ID_PATTERN = "^[A-Za-z_][A-Za-z0-9_.-]*$";

/** The prefix of every node autodiff adds: grad/W1 is d(loss)/d(W1). */
export const BACKWARD_ID_PREFIX = "grad/";

/**
 * What the id of a backward node may look like: "grad/" and then letters, digits and "_.@+#/-" — grad/W1,
 * grad/h@a (the part of h's gradient that flows back through a), grad/h+1 (a partial sum), grad/z1.2 (a
 * helper of z1's gradient rule), grad/W1#2 (a second node that wanted the same name).
 *
 * How forward and backward nodes are told apart: such ids are accepted only in a graph that has a
 * `gradients` field, that is, one autodiff produced (differentiate sets it, even to {} when nothing was
 * wanted) and that was written out, by `graphnet inspect --backward --json` for one. A graph a person
 * writes has no `gradients`, so all its ids follow NODE_ID_PATTERN and none can take a name autodiff
 * will give a backward node. (Even where ids could meet — differentiating a graph again — autodiff
 * never reuses an id: it appends #2, #3 … to a name already taken.)
 */
export const BACKWARD_NODE_ID_PATTERN = "^grad/[A-Za-z0-9_.@+#/-]+$";

/** Either kind of id: what a node id may look like in a differentiated graph. */
const ANY_NODE_ID_PATTERN = `^(?:${NODE_ID_PATTERN.slice(1, -1)}|${BACKWARD_NODE_ID_PATTERN.slice(1, -1)})$`;

type Schema = Record<string, unknown>;

/** The schema of graph files for editors, as committed in graphs/graph.schema.json. */
export function graphDocumentSchema(): object {
  return buildSchema({ forEditors: true });
}

/** The structural schema validateGraph checks first (see the module comment for how it differs). */
export function graphStructureSchema(): object {
  return buildSchema({ forEditors: false });
}

/** graphs/graph.schema.json's exact content: the editor schema, pretty-printed, with a final newline. */
export function graphSchemaText(): string {
  return `${JSON.stringify(graphDocumentSchema(), null, 2)}\n`;
}

/** Writes the editor schema to a file; `npm run schema` regenerates graphs/graph.schema.json with it. */
export function writeGraphSchema(path: string): void {
  writeFileSync(path, graphSchemaText());
}

function buildSchema({ forEditors }: { forEditors: boolean }): object {
  const ops = listOps();
  const schema = {
    $schema: "http://json-schema.org/draft-07/schema#",
    title: "graphnet graph",
    description: "A model as a dataflow graph: every value (an input, a parameter, an intermediate result, the loss) is the output of one node.",
    type: "object",
    required: ["name", "nodes"],
    additionalProperties: false,
    properties: {
      $schema: {
        type: "string",
        description:
          'The schema of this file, for editors, relative to it: "./graph.schema.json" beside the graphs shipped with graphnet; ' +
          '"./node_modules/graphnet/graphs/graph.schema.json" in a project that installed graphnet; ' +
          'or the one "graphnet schema --write FILE --ops MODULE" writes, for a graph using ops of its own.',
      },
      name: { type: "string", minLength: 1, description: "Name of the model, as `graphnet inspect` and the reports show it." },
      description: { type: "string", description: "What this graph is, for people." },
      nodes: {
        type: "array",
        minItems: 1,
        description: "The computation, one node per value. A node may refer to nodes listed after it; the order of evaluation follows the inputs.",
        items: forEditors ? editorNodeSchema(ops) : structureNodeSchema(),
      },
      loss: { type: "string", description: "Id of the node whose output, a scalar, training minimises." },
      outputs: {
        type: "object",
        additionalProperties: { type: "string" },
        description: 'Named values a caller wants, name → node id; for example {"probs": "probs"} for the predicted probabilities.',
      },
      gradients: {
        type: "object",
        additionalProperties: { type: "string" },
        description:
          'Written by autodiff, in a differentiated graph: value id → id of the node holding d(loss)/d(value), for example {"W1": "grad/W1"}. ' +
          'Its presence allows the ids of backward nodes ("grad/…").',
      },
      training: TrainingSchema,
      ...(forEditors
        ? { blocks: blocksSchema(ops.map((op) => op.name)) }
        : {
            groups: {
              type: "array",
              description: "Written by loading: which nodes each use of a block expanded into (for pictures).",
              items: {
                type: "object",
                required: ["id", "block", "nodes"],
                additionalProperties: false,
                properties: { id: { type: "string" }, block: { type: "string" }, nodes: { type: "array", items: { type: "string" } } },
              },
            },
          }),
    },
    // Backward ids ("grad/…") only in a differentiated graph: without `gradients`, every id is a forward id.
    ...(forEditors
      ? {
          if: { required: ["gradients"] },
          else: { properties: { nodes: { items: { properties: { id: { pattern: NODE_ID_PATTERN } } } } } },
        }
      : {}),
  };
  // Plain JSON: TypeBox keeps bookkeeping under symbol keys, which a schema file has no use for.
  return JSON.parse(JSON.stringify(schema)) as object;
}

const NODE_FIELDS = {
  id: { type: "string", description: "Unique name of this node; other nodes, loss and outputs refer to its output by it." },
  op: { type: "string", description: "The operation this node computes." },
  inputs: { type: "array", items: { type: "string" }, description: "Ids of the nodes whose outputs this node consumes, in the op's argument order." },
  attrs: { type: "object", description: "The op's attributes." },
};

function structureNodeSchema(): Schema {
  return { type: "object", required: ["id", "op", "inputs", "attrs"], additionalProperties: false, properties: NODE_FIELDS };
}

/** A value filled in at each use of a block: one of its attributes, or a dimension of one of its inputs. */
const BLOCK_VALUE = {
  anyOf: [
    {
      type: "object",
      required: ["$attr"],
      additionalProperties: false,
      properties: { $attr: { type: "string", description: "The use's value of this attribute of the block." } },
    },
    {
      type: "object",
      required: ["$dim"],
      additionalProperties: false,
      properties: {
        $dim: {
          type: "array",
          minItems: 2,
          maxItems: 2,
          items: [{ type: "string" }, { type: "integer" }],
          description: 'A dimension of the shape of one of the block\'s inputs: ["x", -1] is the last dimension of x.',
        },
      },
    },
  ],
};

/** The separator of the ids of a block's nodes from their use's id (hidden1/W): forward ids written in a file never contain it. */
export const BLOCK_SEPARATOR = "/";

/**
 * The `blocks` section of a graph file (src/graph-file/blocks.ts). With the known ops' names (the editor
 * schema), a block's node names one of them or an attribute of the block, so a misspelt op inside a block is
 * flagged as typed too; without (the loader's first check), any string, which the loader then checks op by
 * op with a message of its own ("unknown op … Did you mean").
 */
function blocksSchema(opNames?: readonly string[]) {
  return {
    type: "object",
    description:
      'Reusable small graphs. A node {"id": "hidden1", "block": "dense", "inputs": [...], "attrs": {...}} is expanded on loading into the ' +
      "block's nodes with ids \"hidden1/<node id>\"; other nodes refer to the block's output by the use's id.",
    propertyNames: { pattern: "^[A-Za-z_][A-Za-z0-9_]*$" },
    additionalProperties: {
      type: "object",
      required: ["inputs", "nodes", "output"],
      additionalProperties: false,
      properties: {
        description: { type: "string" },
        inputs: { type: "array", items: { type: "string" }, description: "The names the block's nodes use for the values each use gives it." },
        attrs: {
          type: "object",
          additionalProperties: { type: "object" },
          description: 'Each attribute\'s JSON Schema; one with a "default" may be left out by a use. Its nodes read it as {"$attr": "name"}.',
        },
        nodes: {
          type: "array",
          minItems: 1,
          items: {
            type: "object",
            required: ["id"],
            anyOf: [{ required: ["op"] }, { required: ["block"] }],
            additionalProperties: false,
            properties: {
              id: { type: "string", pattern: NODE_ID_PATTERN },
              op: { anyOf: [opNames ? { enum: opNames } : { type: "string" }, BLOCK_VALUE], description: "An op, or an attribute naming one." },
              block: { type: "string", description: "Another block, used inside this one." },
              inputs: { type: "array", items: { type: "string" }, description: "The block's inputs' names, or ids of its own nodes." },
              attrs: { type: "object", description: 'The op\'s attributes; any value may be {"$attr": …} or {"$dim": […]}.' },
            },
          },
        },
        output: { type: "string", description: "The id of the node whose output the block gives." },
      },
    },
  };
}

/** The `blocks` section as the loader checks it first. */
export const BLOCKS_SCHEMA = blocksSchema();

function editorNodeSchema(ops: readonly OpDefinition<any>[]): Schema {
  return {
    type: "object",
    required: ["id"],
    anyOf: [{ required: ["op"] }, { required: ["block"] }],
    additionalProperties: false,
    properties: {
      ...NODE_FIELDS,
      block: { type: "string", description: 'A block of this file\'s "blocks" section, used in place of an op.' },
      // Either kind here; the document's `else` above narrows it to forward ids when there is no `gradients`.
      id: { ...NODE_FIELDS.id, pattern: ANY_NODE_ID_PATTERN },
      op: {
        description: NODE_FIELDS.op.description,
        // Only the ops known here, so that an editor flags a misspelt one as it is typed. A file using ops of
        // its own points at a schema generated with them: graphnet --ops MODULE schema --write FILE.
        enum: ops.map((op) => op.name),
        enumDescriptions: ops.map((op) => op.summary),
      },
    },
    allOf: ops.map(perOpRule),
  };
}

/** When `op` is this op: its attributes' schema, its number of inputs, and attrs required if it has required attributes. */
function perOpRule(op: OpDefinition<any>): Schema {
  const attrs = op.attrs as Schema;
  const arity = op.inputs.length;
  const needsAttrs = Array.isArray(attrs.required) && attrs.required.length > 0;
  return {
    if: { properties: { op: { const: op.name } }, required: ["op"] },
    then: {
      description: `${op.name}: ${op.summary}`,
      properties: {
        inputs: {
          minItems: arity,
          maxItems: arity,
          description:
            arity === 0 ? `${op.name} takes no inputs.` : `${op.name} takes ${arity === 1 ? "one input" : `${arity} inputs`}: ${op.inputs.join(", ")}.`,
        },
        attrs: { description: `Attributes of ${op.name}.`, ...attrs },
      },
      ...(needsAttrs ? { required: ["attrs"] } : {}),
    },
  };
}
