/**
 * Errors found after a graph file has loaded — a graph training cannot use, a training section that
 * disagrees with the graph, a gradient autodiff cannot derive — are placed in the file as load-time errors
 * are: the file's name, the line and column of the node or field at fault. A long list in such a message
 * is cut to its ends. Run through the CLI's `main` in-process (what a user sees, without a process each).
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { main } from "../../cli/program.js";
import { writeSmallMnist } from "../support/small-mnist.js";

/** A node as a file writes it (inputs and attrs may be left out), open to change. */
type NodeDoc = { id: string; op: string; inputs?: string[]; attrs?: Record<string, unknown> };

const MNIST = JSON.parse(
  JSON.stringify({
    name: "late",
    nodes: [
      { id: "x", op: "input", attrs: { shape: ["batch", 784], feed: "features" } },
      { id: "y", op: "input", attrs: { shape: ["batch", 10], feed: "labels" } },
      { id: "W", op: "parameter", attrs: { shape: [784, 10], init: "xavier_normal" } },
      { id: "z", op: "matmul", inputs: ["x", "W"] },
      { id: "a", op: "tanh", inputs: ["z"] },
      { id: "probs", op: "softmax", inputs: ["a"] },
      { id: "loss", op: "softmax_cross_entropy", inputs: ["a", "y"] },
    ],
    loss: "loss",
    outputs: { probs: "probs" },
  }),
) as { nodes: NodeDoc[]; [key: string]: unknown };

type Doc = typeof MNIST;
const variant = (change: (doc: Doc) => void): Doc => {
  const doc = structuredClone(MNIST);
  change(doc);
  return doc;
};

let dir: string;
let data: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "graphnet-late-"));
  data = writeSmallMnist(60, 20);
});

/** Writes the document as a person would (two-space indent) and returns its path and text. */
function file(name: string, doc: Doc): { path: string; text: string } {
  const text = `${JSON.stringify(doc, null, 2)}\n`;
  const path = join(dir, name);
  writeFileSync(path, text);
  return { path, text };
}

/** "line:col" of the first occurrence of `value` after the first occurrence of `after` in `text`. */
function positionOf(text: string, after: string, value: string): string {
  const offset = text.indexOf(value, text.indexOf(after) + after.length - value.length);
  const before = text.slice(0, offset).split("\n");
  return `${before.length}:${before.at(-1)!.length + 1}`;
}

let stderr: string[];
afterEach(() => vi.restoreAllMocks());

/** Runs graphnet with these arguments in this process; its exit code and what it wrote to stderr. */
async function graphnet(...args: string[]): Promise<{ code: number; stderr: string }> {
  stderr = [];
  vi.spyOn(process.stderr, "write").mockImplementation((chunk: string | Uint8Array) => {
    stderr.push(String(chunk));
    return true;
  });
  const code = await main(args);
  vi.restoreAllMocks();
  return { code, stderr: stderr.join("") };
}

const train = (path: string) => graphnet("train", path, "--data", data, "--epochs", "1", "--quiet", "--out", join(dir, `run-${Math.random()}`));

describe("a graph that training cannot use is refused at its line", () => {
  it("without a loss: at the document that lacks it", async () => {
    const { path } = file(
      "noloss.json",
      variant((d) => delete d.loss),
    );
    const r = await train(path);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `graphnet: ${path}:1:1: field "loss": training needs a "loss": the id of the scalar to minimise, such as softmax_cross_entropy(logits, labels).\n`,
    );
  });

  it("without an input fed the labels: at the nodes", async () => {
    const { path, text } = file(
      "nolabels.json",
      variant((d) => delete d.nodes[1]!.attrs!.feed),
    );
    const r = await train(path);
    expect(r.stderr).toBe(
      `graphnet: ${path}:${positionOf(text, '"nodes": [', "[")}: field "nodes": training needs an input with "feed": "labels", which the one-hot labels are fed to; no input has it.\n`,
    );
  });

  it("with two inputs fed the images: at the second one's feed", async () => {
    const doc = variant((d) => d.nodes.splice(1, 0, { id: "x2", op: "input", attrs: { shape: ["batch", 784], feed: "features" } }));
    const { path, text } = file("twofeatures.json", doc);
    const r = await train(path);
    expect(r.stderr).toContain(
      `graphnet: ${path}:${positionOf(text, '"id": "x2"', '"features"')}: node "x2", field "attrs.feed": training needs exactly one input`,
    );
    expect(r.stderr).toContain(`but 2 have it (x, x2)`);
  });

  it("whose loss is an input: at the loss", async () => {
    const doc = variant((d) => {
      d.nodes.push({ id: "fed", op: "input", attrs: { shape: [] } });
      d.loss = "fed";
    });
    const { path, text } = file("lossinput.json", doc);
    const r = await train(path);
    expect(r.stderr).toBe(
      `graphnet: ${path}:${positionOf(text, '"loss": "fed"', '"fed"')}: field "loss": the loss "fed" is an input, fed from outside: training needs it computed by the graph from the images.\n`,
    );
  });

  it("whose loss does not depend on the labels: at the loss", async () => {
    const doc = variant((d) => {
      d.nodes[6] = { id: "loss", op: "sum_to", inputs: ["a"], attrs: { shape: [] } };
    });
    const { path, text } = file("unlabelled.json", doc);
    const r = await train(path);
    expect(r.stderr).toBe(
      `graphnet: ${path}:${positionOf(text, '"loss": "loss"', '"loss"')}: field "loss": the loss "loss" does not depend on the labels (input "y"): ` +
        `it must compare the predictions with them, as softmax_cross_entropy(logits, y) does.\n`,
    );
  });
});

describe("a training section whose activations disagree with a long chain of them", () => {
  const LENGTH = 2_000;
  /** The network with LENGTH tanh layers instead of one, and the training section listing them. */
  const chain = (listed: string[]): Doc =>
    variant((d) => {
      const layers: NodeDoc[] = Array.from({ length: LENGTH }, (_, i) => ({ id: `a${i}`, op: "tanh", inputs: [i === 0 ? "z" : `a${i - 1}`] }));
      d.nodes.splice(4, 1, ...layers);
      d.nodes.at(-2)!.inputs = [`a${LENGTH - 1}`];
      d.nodes.at(-1)!.inputs = [`a${LENGTH - 1}`, "y"];
      d.training = { activation_functions: listed };
    });

  it("is refused at the first entry that differs, the lists shown by their ends", async () => {
    const listed = Array.from({ length: LENGTH }, (_, i) => (i === 1234 ? "relu" : "tanh"));
    const { path, text } = file("acts.json", chain(listed));
    const r = await train(path);
    const entry = text.indexOf('"relu"');
    const lines = text.slice(0, entry).split("\n");
    expect(r.stderr).toBe(
      `graphnet: ${path}:${lines.length}:${lines.at(-1)!.length + 1}: field "training.activation_functions[1234]": ` +
        `entry 1234 is "relu", but the graph's activation node number 1234 (counting from 0, in data-flow order), "a1234", is tanh: ` +
        `the training section lists [tanh, tanh, tanh, tanh, tanh, … 1,992 more …, tanh, tanh, tanh] and the graph has [tanh, tanh, tanh, tanh, tanh, … 1,992 more …, tanh, tanh, tanh]; ` +
        `make them agree, or choose with --activations.\n`,
    );
  });

  it("is refused at the list when the counts differ, the nodes shown by their ends", async () => {
    const { path, text } = file("short.json", chain(["tanh", "tanh"]));
    const r = await train(path);
    expect(r.stderr).toBe(
      `graphnet: ${path}:${positionOf(text, '"activation_functions": [', "[")}: field "training.activation_functions": ` +
        `the training section lists 2 activation functions (tanh, tanh), but the graph has 2,000 activation nodes, in data-flow order ` +
        `a0 (tanh), a1 (tanh), a2 (tanh), a3 (tanh), a4 (tanh), … 1,992 more …, a1997 (tanh), a1998 (tanh), a1999 (tanh); make them agree, or choose with --activations.\n`,
    );
  });
});

describe("an error autodiff finds", () => {
  it("is placed at the node whose input blocks the gradient", async () => {
    // W reaches the loss only as its labels, which have no gradient.
    const doc = variant((d) => {
      d.nodes[6] = { id: "loss", op: "softmax_cross_entropy", inputs: ["y", "a"] };
    });
    const { path, text } = file("blocked.json", doc);
    const r = await graphnet("inspect", path, "--backward");
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      new RegExp(`^graphnet: ${path}:${positionOf(text, '"id": "loss"', '"a"')}: node "loss", field "inputs\\[1\\]": no gradient reaches "W"`),
    );
  });
});
