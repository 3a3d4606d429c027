import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { GraphError } from "../../src/graph/errors.js";
import { loadGraphFile, parseGraph } from "../../src/graph-file/load.js";
import { graphErrorOf, MNIST_FILE, mnistText, positionOf, replaceOnce, tinyText } from "../graph/helpers.js";

const FILE = "models/net.graph.json";
const parse = (text: string) => () => parseGraph(text, FILE);

describe("loading a graph file", () => {
  it("returns the graph in the IR's form: inputs and attrs filled in, $schema dropped, the rest kept", () => {
    const graph = loadGraphFile(MNIST_FILE);
    expect(Object.keys(graph)).toEqual(["name", "description", "nodes", "loss", "outputs", "training"]);
    expect(graph.nodes.find((n) => n.id === "x")).toEqual({
      id: "x",
      op: "input",
      inputs: [],
      attrs: { shape: ["batch", 784], feed: "features" },
    });
    expect(graph.nodes.find((n) => n.id === "a1")).toEqual({ id: "a1", op: "relu", inputs: ["z1"], attrs: {} });
    expect(graph.loss).toBe("loss");
    expect(graph.outputs).toEqual({ probs: "probs" });
    expect(graph.training?.optimizer).toBe("adam");
  });

  it("accepts a file starting with a byte order mark", () => {
    expect(parseGraph(`\uFEFF${tinyText()}`, FILE).name).toBe("tiny");
  });

  it("names a missing file", () => {
    graphErrorOf(() => loadGraphFile("no/such/dir/missing.graph.json"), /^no\/such\/dir\/missing\.graph\.json: /, "cannot read the graph file", "no such file");
  });

  it("names a directory given in place of a file", () => {
    const dir = mkdtempSync(join(tmpdir(), "graphnet-"));
    graphErrorOf(() => loadGraphFile(dir), new RegExp(`^${dir}: `), "it is a folder, not a file (EISDIR)");
  });

  it("reads a file from disk and names it in errors", () => {
    const dir = mkdtempSync(join(tmpdir(), "graphnet-"));
    const path = join(dir, "broken.graph.json");
    writeFileSync(path, replaceOnce(tinyText(), '"op": "relu"', '"op": "rleu"'));
    graphErrorOf(() => loadGraphFile(path), `${path}:`, 'unknown op "rleu"');
  });
});

describe("JSON syntax errors say where, what was expected and what was found", () => {
  const text = tinyText();

  it("a trailing comma, pointing at the comma", () => {
    const broken = replaceOnce(text, '"a" }\n}', '"a" },\n}');
    const message = graphErrorOf(parse(broken), "trailing commas", "Remove this comma");
    expect(message.startsWith(`${FILE}:${positionOf(broken, ",\n}")}: invalid JSON:`)).toBe(true);
  });

  it("a trailing comma in an array", () => {
    const broken = replaceOnce(text, '["x","W"]', '["x","W",]');
    graphErrorOf(parse(broken), `${FILE}:${positionOf(broken, ",]")}:`, 'a comma before "]"');
  });

  it("a comment", () => {
    const broken = replaceOnce(text, '"nodes": [', '"nodes": [ // layers');
    graphErrorOf(parse(broken), `${FILE}:${positionOf(broken, "//")}:`, "comments are not allowed");
  });

  it("a missing comma between two nodes", () => {
    const broken = replaceOnce(text, '"init":"zeros"} },', '"init":"zeros"} }');
    graphErrorOf(parse(broken), `${FILE}:8:5:`, 'expected "," or "]" between the items of this array, found "{"', "comma missing");
  });

  it("a missing comma between two properties", () => {
    const broken = replaceOnce(text, '"loss": "loss",', '"loss": "loss"');
    graphErrorOf(
      parse(broken),
      `${FILE}:${positionOf(broken, '"outputs"')}:`,
      'expected "," or "}" between the properties of this object, found "\\"outputs\\""',
    );
  });

  it("an unclosed object, naming where it was opened", () => {
    const broken = text.slice(0, text.indexOf('{ "id": "W"') + '{ "id": "W"'.length);
    graphErrorOf(parse(broken), 'expected "}" to close the object opened at line 6, column 5', "found the end of the file");
  });

  it("single quotes", () => {
    graphErrorOf(parse(replaceOnce(text, '"name": "tiny"', "'name': 'tiny'")), `${FILE}:3:3:`, "double quotes");
  });

  it("NaN and other words JSON does not have", () => {
    graphErrorOf(parse(replaceOnce(text, '"loss": "loss"', '"loss": NaN')), "JSON has no NaN");
    graphErrorOf(parse(replaceOnce(text, '"loss": "loss"', '"loss": True')), "lower case", '"True"');
    graphErrorOf(parse(replaceOnce(text, '"loss": "loss"', "loss: 1")), "expected a property name in double quotes");
  });

  it("an incomplete number", () => {
    graphErrorOf(parse(replaceOnce(text, "[3,2]", "[3.,2]")), "not a complete number");
  });

  it("a missing colon", () => {
    const broken = replaceOnce(text, '"loss": "loss"', '"loss" "loss"');
    graphErrorOf(parse(broken), `${FILE}:${positionOf(broken, '"loss"', '"loss" ')}`, 'expected ":" after the property name, found "\\"loss\\""');
  });

  it("a missing value", () => {
    const broken = replaceOnce(text, '"loss": "loss"', '"loss": ');
    graphErrorOf(parse(broken), `${FILE}:${positionOf(broken, ",", '"loss": ')}:`, "expected a value", 'found ","');
  });

  it("an unclosed string", () => {
    graphErrorOf(parse(replaceOnce(text, '"name": "tiny"', '"name": "tiny')), `${FILE}:3:`, "string is not closed");
  });

  it("a raw tab and a bad escape inside a string, pointing at the character", () => {
    const tab = replaceOnce(text, '"name": "tiny"', '"name": "ti\tny"');
    graphErrorOf(parse(tab), `${FILE}:${positionOf(tab, "\t")}:`, "raw control character (a tab)", "\\t");
    const escape = replaceOnce(text, '"name": "tiny"', '"name": "ti\\ny\\q"');
    graphErrorOf(parse(escape), `${FILE}:${positionOf(escape, "\\q")}:`, 'invalid escape "\\\\q"');
    graphErrorOf(parse(replaceOnce(text, '"name": "tiny"', '"name": "\\u12"')), "four hexadecimal digits");
  });

  it("text after the top-level value", () => {
    graphErrorOf(parse(`${text}}`), `${FILE}:16:1:`, "expected the end of the file", "exactly one value");
  });

  it("an empty file", () => {
    graphErrorOf(parse(" \n"), `${FILE}:`, "the file is empty");
  });

  it("a key written twice in one object, naming both places", () => {
    const broken = replaceOnce(text, '"op": "relu"', '"op": "relu", "op": "tanh"');
    const [line, column] = positionOf(broken, '"op": "relu"').split(":");
    graphErrorOf(parse(broken), `${FILE}:${positionOf(broken, '"op": "tanh"')}:`, 'the key "op" appears twice', `first at line ${line}, column ${column}`);
  });

  it("nesting too deep for a graph", () => {
    const deep = text.replace('"outputs": { "activations": "a" }', `"description": ${"[".repeat(100_000)}${"]".repeat(100_000)}`);
    graphErrorOf(parse(deep), /^models\/net\.graph\.json(:\d+:\d+)?: /, /nest/);
  });
});

describe("errors about values give the line and column of the value", () => {
  const text = mnistText();

  it("an attribute", () => {
    const broken = replaceOnce(text, '"init": "he_normal"', '"init": "he_norml"');
    graphErrorOf(parse(broken), `${FILE}:${positionOf(broken, '"he_norml"')}: node "W1", field "attrs.init": must be one of`, 'Did you mean "he_normal"?');
  });

  it("a missing required attribute: the node's attrs object", () => {
    const broken = replaceOnce(text, '"shape": [128], "init": "zeros"', '"shape": [128]');
    graphErrorOf(parse(broken), `${FILE}:${positionOf(broken, '{ "shape": [128]')}: node "b1", field "attrs.init": is required but missing.`);
  });

  it("an error found by shape inference, deep in the engine", () => {
    const broken = replaceOnce(text, '"shape": [128, 64]', '"shape": [100, 64]');
    graphErrorOf(parse(broken), `${FILE}:${positionOf(broken, '["h1", "W2"]')}: node "xW2", field "inputs":`, "[batch, 128]", "[100, 64]");
  });

  it("a training setting", () => {
    const broken = replaceOnce(text, '"batch_size": 16', '"batch_size": 0');
    graphErrorOf(parse(broken), `${FILE}:${positionOf(broken, "0,", '"batch_size"')}: field "training.batch_size": must be >= 1 (found 0).`);
  });

  it("an entry of a differentiated graph's gradients", () => {
    const broken = replaceOnce(text, '"loss": "loss",', '"loss": "loss",\n  "gradients": { "W1": "W1", "b1": "W2" },');
    graphErrorOf(
      parse(broken),
      `${FILE}:${positionOf(broken, '"W2" }')}: field "gradients["b1"]": the gradient of "b1" must have its shape, [128], but node "W2" has shape [128, 64].`,
    );
  });

  it("a backward id in a graph without gradients", () => {
    const broken = replaceOnce(text, '"id": "a1",', '"id": "grad/a1",').replace('["a1"]', '["grad/a1"]');
    graphErrorOf(
      parse(broken),
      `${FILE}:${positionOf(broken, '"grad/a1"')}: node "grad/a1", field "id": the character "/" is reserved`,
      'only in a differentiated graph, one with "gradients"',
    );
    expect(parseGraph(replaceOnce(broken, '"loss": "loss",', '"loss": "loss",\n  "gradients": {},'), FILE).gradients).toEqual({});
  });

  it("a $schema that is not a string", () => {
    const broken = replaceOnce(text, '"./graph.schema.json"', "3");
    graphErrorOf(parse(broken), `${FILE}:2:14: field "$schema": must be a string`);
  });

  it("every error is a GraphError, a UserError the CLI prints without a stack", () => {
    try {
      parseGraph("[]", FILE);
    } catch (err) {
      expect(err).toBeInstanceOf(GraphError);
      expect((err as GraphError).location).toMatchObject({ file: FILE, line: 1, column: 1 });
      return;
    }
    expect.unreachable();
  });
});
