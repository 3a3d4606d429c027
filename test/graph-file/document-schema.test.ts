import { readFileSync } from "node:fs";
import { Ajv } from "ajv";
import { describe, expect, it } from "vitest";
import { differentiate } from "../../src/autodiff/differentiate.js";
import { parseGraph } from "../../src/graph-file/load.js";
import { graphDocumentSchema, graphSchemaText, graphStructureSchema, writeGraphSchema } from "../../src/graph-file/document-schema.js";
import { listOps } from "../../src/ops/registry.js";
import { MNIST_FILE, mnistText, replaceOnce, tinyText } from "../graph/helpers.js";

const SCHEMA_FILE = "graphs/graph.schema.json";

// To regenerate after adding or changing an op:  npm run schema
// or, without building:                         UPDATE_GRAPH_SCHEMA=1 npx vitest run test/graph-file/document-schema.test.ts
describe("graphs/graph.schema.json", () => {
  it("is up to date with the registered ops", () => {
    if (process.env.UPDATE_GRAPH_SCHEMA) writeGraphSchema(SCHEMA_FILE);
    const committed = readFileSync(SCHEMA_FILE, "utf8");
    const upToDate = committed === graphSchemaText();
    expect(
      upToDate,
      `${SCHEMA_FILE} is out of date with the op registry. Regenerate it with \`npm run schema\` ` +
        `(or \`UPDATE_GRAPH_SCHEMA=1 npx vitest run test/graph-file/document-schema.test.ts\`) and commit the result.`,
    ).toBe(true);
  });

  it("is what graphDocumentSchema returns, pretty-printed", () => {
    expect(graphSchemaText()).toBe(`${JSON.stringify(graphDocumentSchema(), null, 2)}\n`);
  });
});

describe("the editor schema", () => {
  const ajv = new Ajv({ strict: false, allErrors: true });
  const validate = ajv.compile(graphDocumentSchema());
  const accepts = (text: string) => validate(JSON.parse(text));

  it("is draft-07 and plain JSON", () => {
    const schema = graphDocumentSchema() as Record<string, unknown>;
    expect(schema.$schema).toBe("http://json-schema.org/draft-07/schema#");
    expect(JSON.parse(JSON.stringify(schema))).toEqual(schema);
    expect(Object.getOwnPropertySymbols(schema)).toEqual([]);
  });

  it("accepts the graph files", () => {
    expect(accepts(mnistText()), JSON.stringify(validate.errors)).toBe(true);
    expect(accepts(tinyText()), JSON.stringify(validate.errors)).toBe(true);
  });

  it("lists every registered op with its summary, and flags any other op — a misspelt one as it is typed", () => {
    const schema = graphDocumentSchema() as any;
    const op = schema.properties.nodes.items.properties.op;
    expect(op.enum).toEqual(listOps().map((o) => o.name));
    expect(op.enumDescriptions).toEqual(listOps().map((o) => o.summary));
    expect(accepts(replaceOnce(tinyText(), '"op": "relu"', '"op": "sigmiod"'))).toBe(false);
    expect(accepts(replaceOnce(tinyText(), '"op": "relu"', '"op": "sigmoid"'))).toBe(true);
    expect(accepts(replaceOnce(tinyText(), '"op": "relu"', '"op": "my_custom_op"'))).toBe(false);
  });

  it("flags a misspelt op inside a block too, and keeps an op a block's attribute names", () => {
    const blocks = readFileSync("graphs/mnist-blocks.graph.json", "utf8");
    expect(accepts(blocks), JSON.stringify(validate.errors)).toBe(true);
    expect(accepts(replaceOnce(blocks, '"op": "dropout",   "inputs": ["a"]', '"op": "dropuot",   "inputs": ["a"]'))).toBe(false);
    expect(validate.errors!.some((e) => e.instancePath === "/blocks/dense/nodes/5/op")).toBe(true);
    expect(accepts(replaceOnce(blocks, '"op": { "$attr": "activation" }', '"op": { "$attr": "activation", "x": 1 }'))).toBe(false);
  });

  it("checks each op's attributes and inputs, so editors flag them as they are typed", () => {
    expect(accepts(replaceOnce(mnistText(), '"init": "he_normal"', '"init": "he_norml"'))).toBe(false);
    expect(accepts(replaceOnce(mnistText(), '"shape": [128], "init": "zeros"', '"shape": [128]'))).toBe(false);
    expect(accepts(replaceOnce(mnistText(), '["xW1", "b1"]', '["xW1"]'))).toBe(false);
    expect(
      accepts(
        replaceOnce(mnistText(), '"id": "a1",    "op": "relu",      "inputs": ["z1"]', '"id": "a1",    "op": "relu",      "inputs": ["z1"], "attrs": {"x": 1}'),
      ),
    ).toBe(false);
  });

  it("accepts a differentiated graph, with its gradients and its backward ids, and backward ids only there", () => {
    const backward = differentiate(parseGraph(mnistText(), MNIST_FILE));
    const text = JSON.stringify({ $schema: "./graph.schema.json", ...backward }, null, 2);
    expect(accepts(text), JSON.stringify(validate.errors)).toBe(true);
    expect(text).toContain('"id": "grad/W1"');
    // The same nodes without `gradients` are a forward graph whose ids autodiff's names may not take.
    const { gradients: _, ...withoutGradients } = backward;
    expect(accepts(JSON.stringify(withoutGradients))).toBe(false);
    expect(validate.errors!.some((e) => e.instancePath.endsWith("/id") && e.keyword === "pattern")).toBe(true);
    expect(accepts(replaceOnce(mnistText(), '"id": "a1"', '"id": "grad/a1"').replace('["a1"]', '["grad/a1"]'))).toBe(false);
    // With gradients, backward ids are allowed, but forward ids keep their pattern and gradients map ids to ids.
    expect(accepts(replaceOnce(text, '"id": "xW1"', '"id": "x@W1"'))).toBe(false);
    expect(accepts(replaceOnce(text, '"W1": "grad/W1"', '"W1": 3'))).toBe(false);
  });

  it("describes the training section with the report's defaults", () => {
    const training = (graphDocumentSchema() as any).properties.training;
    expect(training.additionalProperties).toBe(false);
    expect(training.properties.batch_size).toMatchObject({ type: "integer", default: 16, minimum: 1, maximum: 65_536 });
    expect(training.properties.batch_size.description).toContain("at most 65,536");
    expect(typeof training.properties.batch_size.description).toBe("string");
  });

  it("is what mnist.graph.json points to", () => {
    expect(JSON.parse(readFileSync(MNIST_FILE, "utf8")).$schema).toBe("./graph.schema.json");
  });
});

describe("the structure schema validateGraph checks first", () => {
  it("leaves per-op rules to the precise checks that follow", () => {
    const text = JSON.stringify(graphStructureSchema());
    expect(text).not.toContain('"if"');
    expect(text).not.toContain('"pattern"');
    expect((graphStructureSchema() as any).properties.nodes.items.required).toEqual(["id", "op", "inputs", "attrs"]);
  });

  it("has an optional gradients object, value id → gradient id, like the editor schema", () => {
    const gradients = { type: "object", additionalProperties: { type: "string" } };
    expect((graphStructureSchema() as any).properties.gradients).toMatchObject(gradients);
    expect((graphDocumentSchema() as any).properties.gradients).toMatchObject(gradients);
    expect((graphStructureSchema() as any).required).toEqual(["name", "nodes"]);
  });
});
