/**
 * A run folder's config.json that parses but is malformed is refused when read, with one line naming the
 * file, the field and what was expected: `eval`, `predict` and `--resume` never half use it.
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { UserError } from "../../src/graph/errors.js";
import { DEFAULT_TRAINING } from "../../src/graph/training.js";
import { loadGraphFile } from "../../src/graph-file/load.js";
import { loadRunRecord, readMetrics, readRunRecord } from "../../src/train/run-record.js";
import { expectRefusal as refused } from "../support/refusal.js";

const dir = mkdtempSync(join(tmpdir(), "graphnet-bad-config-"));
let files = 0;
const configFile = (text: string) => {
  const folder = join(dir, `run-${++files}`);
  mkdirSync(folder);
  writeFileSync(join(folder, "config.json"), text);
  return join(folder, "config.json");
};

/** A config.json as `graphnet train` writes it (the graph cut short: it is checked later, as a graph). */
const good = () => ({
  graph_file: "graphs/mnist.graph.json",
  graph: { name: "mnist-mlp", nodes: [] },
  training: { learning_rate: 0.001, num_epochs: 2, activation_functions: ["relu", "tanh"] },
  data: { dir: null, split: "report", train: 360, validation: 120, test: 120, classes: 10 },
  op_modules: ["/abs/ops.js"],
  created: "2025-01-01T00:00:00.000Z",
});

function expectRefusal(path: string, ...patterns: RegExp[]): void {
  refused(() => readRunRecord(path), `${path}: `, ...patterns);
}

describe("config.json", () => {
  it("as train writes it is read back", () => {
    const record = readRunRecord(configFile(JSON.stringify(good())));
    expect(record.data.split).toBe("report");
    expect(record.op_modules).toEqual(["/abs/ops.js"]);
  });

  it.each<[string, unknown, RegExp]>([
    ["an array", [], /^\S+: must be an object \(found \[\]\)\.$/],
    ["null", null, /^\S+: must be an object \(found null\)\.$/],
    ["without its graph", (({ graph: _, ...rest }) => rest)(good()), /field "graph": is required but missing/],
    ["a graph that is not an object", { ...good(), graph: "mnist" }, /field "graph": must be an object \(found "mnist"\)/],
    ["op_modules a number", { ...good(), op_modules: 5 }, /field "op_modules": must be an array \(found 5\)/],
    ["op_modules holding a number", { ...good(), op_modules: ["a.js", 5] }, /field "op_modules\[1\]": must be a string \(found 5\)/],
    [
      "a split that is not one of graphnet's",
      { ...good(), data: { ...good().data, split: "weird" } },
      /field "data\.split": must be one of "report", "official" \(found "weird"\)/,
    ],
    ["a data count that is a string", { ...good(), data: { ...good().data, test: "120" } }, /field "data\.test": must be an integer/],
    ["a data dir that is a number", { ...good(), data: { ...good().data, dir: 3 } }, /field "data\.dir": must be/],
    ["no data section", (({ data: _, ...rest }) => rest)(good()), /field "data": is required but missing/],
    ["an unknown field", { ...good(), splt: "report" }, /field "splt": is not a known field here/],
    ["a training value out of range", { ...good(), training: { learning_rate: -1 } }, /field "training\.learning_rate": must be > 0 \(found -1\)/],
  ])("%s is refused", (_name, value, message) => {
    expectRefusal(configFile(JSON.stringify(value)), message);
  });

  it("that is not JSON, or cannot be read, is refused naming it", () => {
    expectRefusal(configFile('{ "graph": '), /the run's configuration is not JSON/);
    const folder = join(dir, "a-folder");
    mkdirSync(join(folder, "config.json"), { recursive: true });
    expectRefusal(join(folder, "config.json"), /cannot read the run's configuration: it is a folder, not a file \(EISDIR\)/);
  });
});

describe("metrics.json", () => {
  const row = { epoch: 1, train_loss: 0.5, train_accuracy: 0.8, val_loss: 0.4, val_accuracy: 0.85, learning_rate: 0.001, seconds: 2, samples_per_s: 180 };
  const metricsFile = (value: unknown) => {
    const path = join(dir, `metrics-${++files}.json`);
    writeFileSync(path, JSON.stringify(value));
    return path;
  };
  const refusal = (path: string) => () => readMetrics(path);

  it("as train writes it is read back", () => {
    expect(readMetrics(metricsFile([row, { ...row, epoch: 2 }]))).toHaveLength(2);
  });

  it.each<[string, unknown, RegExp]>([
    ["an object", {}, /: must be an array \(found \{\}\)/],
    ["a row without val_loss", [(({ val_loss: _, ...rest }) => rest)(row)], /field "\[0\]\.val_loss": is required but missing/],
    ["an epoch that is a string", [{ ...row, epoch: "1" }], /field "\[0\]\.epoch": must be an integer \(found "1"\)/],
  ])("%s is refused, naming the file and the field", (_name, value, message) => {
    const path = metricsFile(value);
    expect(refusal(path)).toThrow(UserError);
    expect(refusal(path)).toThrow(message);
    expect(refusal(path)).toThrow(new RegExp(`^${path.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}: `));
  });
});

describe("the graph recorded in config.json", () => {
  const mnist = () => {
    const { $schema: _, ...graph } = JSON.parse(readFileSync("graphs/mnist.graph.json", "utf8"));
    return graph;
  };

  it("is parsed and validated as a graph file is", () => {
    const { graph } = loadRunRecord(configFile(JSON.stringify({ ...good(), graph: mnist() }, null, 2)));
    expect(graph.nodes.find((n) => n.id === "a1")!.op).toBe("relu");
  });

  it("is the graph the graph-file loader gives, less a training section (the record's settings stand beside it)", () => {
    const { training: _, ...fromFile } = loadGraphFile("graphs/mnist.graph.json");
    const record = loadRunRecord(configFile(JSON.stringify({ ...good(), graph: mnist() })));
    expect(record.graph).toEqual(fromFile);
    expect(record.training).toEqual({ ...DEFAULT_TRAINING, ...good().training });
  });

  it("an error in it gives its line and column in config.json", () => {
    const graph = mnist();
    graph.nodes.find((n: { id: string }) => n.id === "a1").op = "rleu";
    const text = JSON.stringify({ ...good(), graph }, null, 2);
    const path = configFile(text);
    const lines = text.split("\n");
    const line = lines.findIndex((l) => l.includes('"rleu"')) + 1;
    const column = lines[line - 1]!.indexOf('"rleu"') + 1;
    expect(line).toBeGreaterThan(20);
    expect(() => loadRunRecord(path)).toThrow(`${path}:${line}:${column}: node "a1", field "op": unknown op "rleu". Did you mean "relu"?`);
  });
});
