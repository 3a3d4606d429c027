/**
 * Every graph file shipped (graphs/, examples/) names the schema an editor checks it with, and passes it;
 * examples/ops/graph.schema.json, the schema that knows the example modules' ops, is up to date.
 */
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { Ajv } from "ajv";
import { describe, expect, it } from "vitest";
import { loadOpModules } from "../../cli/op-modules.js";
import { graphSchemaText, writeGraphSchema } from "../../src/graph-file/document-schema.js";

const EXAMPLE_OPS = ["examples/ops/leaky_relu.js", "examples/ops/softplus.js", "examples/ops/log_softmax.js"];
const EXAMPLE_SCHEMA = "examples/ops/graph.schema.json";

const graphFiles = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? graphFiles(join(dir, entry.name)) : entry.name.endsWith(".graph.json") ? [join(dir, entry.name)] : [],
  );

const FILES = [...graphFiles("graphs"), ...graphFiles("examples")];

describe("the graph files shipped", () => {
  it("are found (graphs/ and examples/)", () => {
    expect(FILES).toEqual(expect.arrayContaining(["graphs/mnist.graph.json", "examples/ops/mlp.graph.json", "examples/tabular/iris.graph.json"]));
  });

  it.each(FILES)("%s names its schema and passes it", (file) => {
    const graph = JSON.parse(readFileSync(file, "utf8"));
    expect(typeof graph.$schema, `${file} has no "$schema"`).toBe("string");
    const schema = JSON.parse(readFileSync(resolve(dirname(file), graph.$schema), "utf8"));
    const validate = new Ajv({ strict: false, allErrors: true }).compile(schema);
    expect(validate(graph), JSON.stringify(validate.errors)).toBe(true);
  });
});

// To regenerate: node dist/cli/main.js --ops examples/ops/leaky_relu.js --ops examples/ops/softplus.js
//   --ops examples/ops/log_softmax.js schema --write examples/ops/graph.schema.json
describe(EXAMPLE_SCHEMA, () => {
  it("is the editor schema with the example modules' ops registered, up to date", async () => {
    await loadOpModules(EXAMPLE_OPS);
    if (process.env.UPDATE_GRAPH_SCHEMA) writeGraphSchema(EXAMPLE_SCHEMA);
    expect(readFileSync(EXAMPLE_SCHEMA, "utf8") === graphSchemaText(), `${EXAMPLE_SCHEMA} is out of date: regenerate it (see this test)`).toBe(true);
  });
});
