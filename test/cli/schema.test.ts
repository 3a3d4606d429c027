/**
 * `graphnet schema --write FILE --ops MODULE` writes an editor schema that knows a module's ops, as a graph
 * using them (examples/ops/mlp.graph.json) names; it still flags an op name that is neither built in nor
 * the module's.
 */
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Ajv } from "ajv";
import { describe, expect, it } from "vitest";
import { graphnetInProcess } from "../support/cli.js";

const MODULES = ["./examples/ops/leaky_relu.js", "./examples/ops/softplus.js", "./examples/ops/log_softmax.js"];

describe("graphnet schema --write FILE --ops MODULE", () => {
  it("writes the schema examples/ops/mlp.graph.json names: its ops known, a misspelt one flagged", async () => {
    const file = join(mkdtempSync(join(tmpdir(), "graphnet-schema-")), "graph.schema.json");
    const result = await graphnetInProcess("schema", "--write", file, ...MODULES.flatMap((m) => ["--ops", m]));
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    const written = readFileSync(file, "utf8");
    expect(written).toBe(readFileSync("examples/ops/graph.schema.json", "utf8"));

    const validate = new Ajv({ strict: false, allErrors: true }).compile(JSON.parse(written));
    const graph = JSON.parse(readFileSync("examples/ops/mlp.graph.json", "utf8"));
    expect(validate(graph), JSON.stringify(validate.errors)).toBe(true);
    const custom = graph.nodes.find((n: { op: string }) => n.op.startsWith("my_"));
    custom.op = custom.op.replace("my_", "my-");
    expect(validate(graph)).toBe(false);
    expect(validate.errors?.some((e) => e.keyword === "enum" && e.instancePath.endsWith("/op"))).toBe(true);
  });
});
