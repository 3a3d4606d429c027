/**
 * Every picture is well-formed XML and holds what it should: the graph's nodes and edges with their
 * shapes, kinds told apart with a legend, boxes that do not overlap and labels that fit them; curves
 * with both series and the best epoch; the digits; the confusion counts; a self-contained report.
 */
import { rgb } from "d3";
import { JSDOM } from "jsdom";
import { describe, expect, it } from "vitest";
import { differentiate, loadGraphFile, parseGraph, type Graph } from "../../src/index.js";
import { CHAR_WIDTH } from "../../viz/svg.js";
import { renderConfusionSvg, renderCurvesSvg, renderGraphSvg, renderPredictionsSvg, renderReportHtml } from "../../viz/index.js";

function parseSvg(text: string): Document {
  const document = new new JSDOM("").window.DOMParser().parseFromString(text, "image/svg+xml");
  const error = document.querySelector("parsererror");
  if (error) throw new Error(`not well-formed XML: ${error.textContent}`);
  expect(document.documentElement.tagName).toBe("svg");
  expect(document.documentElement.getAttribute("xmlns")).toBe("http://www.w3.org/2000/svg");
  return document;
}

interface Placed {
  id: string;
  x: number;
  y: number;
  width: number;
  height: number;
  texts: { text: string; size: number }[];
}

function placedNodes(document: Document): Placed[] {
  return [...document.querySelectorAll("g.node")].map((g) => {
    const [, x, y] = /translate\(([-\d.]+), ([-\d.]+)\)/.exec(g.getAttribute("transform")!)!.map(Number) as [number, number, number];
    const rect = g.querySelector("rect")!;
    return {
      id: g.getAttribute("data-id")!,
      x,
      y,
      width: Number(rect.getAttribute("width")),
      height: Number(rect.getAttribute("height")),
      texts: [...g.querySelectorAll("text")].map((t) => ({ text: t.textContent!, size: Number(t.getAttribute("font-size")) })),
    };
  });
}

const mnist = loadGraphFile("graphs/mnist.graph.json");

describe("the graph picture", () => {
  const check = async (graph: Graph) => {
    const document = parseSvg(await renderGraphSvg(graph));
    const nodes = placedNodes(document);
    expect(nodes.map((n) => n.id).sort()).toEqual(graph.nodes.map((n) => n.id).sort());
    expect(document.querySelectorAll("g.edge")).toHaveLength(graph.nodes.reduce((n, node) => n + node.inputs.length, 0));
    // No two boxes overlap.
    for (const a of nodes)
      for (const b of nodes) {
        if (a === b) continue;
        const apart = a.x + a.width <= b.x || b.x + b.width <= a.x || a.y + a.height <= b.y || b.y + b.height <= a.y;
        expect(apart, `${a.id} and ${b.id} overlap`).toBe(true);
      }
    // Every label fits its box (monospace: a character is 0.6 em wide).
    for (const n of nodes)
      for (const t of n.texts) expect([...t.text].length * CHAR_WIDTH * t.size, `"${t.text}" in ${n.id}`).toBeLessThanOrEqual(n.width - 10);
    return document;
  };

  it("draws the forward graph: every node with op and shape, every edge with its tensor's shape, a legend of what it draws", async () => {
    const document = await check(mnist);
    const text = document.documentElement.textContent!;
    expect(text).toContain("matmul → [batch, 128]");
    expect(text).toContain("parameter [784, 128]");
    const edge = document.querySelector('g.edge[data-from="x"][data-to="xW1"]')!;
    expect(edge.querySelector("text")!.textContent).toBe("[batch, 784]");
    expect([...document.querySelectorAll(".legend-item text")].map((t) => t.textContent)).toEqual(["input (fed)", "parameter", "forward value", "loss"]);
    expect(document.querySelectorAll("g.node.parameter")).toHaveLength(6);
    expect(document.querySelectorAll("g.node.loss")).toHaveLength(1);
    expect(document.querySelectorAll("g.node.backward, g.node.gradient")).toHaveLength(0);
  });

  it("draws each use of a block as a labelled box around its nodes, and state apart in the legend when there is some", async () => {
    const document = await check(loadGraphFile("graphs/mnist-cnn-best.graph.json"));
    const blocks = [...document.querySelectorAll("g.block")];
    expect(blocks.map((b) => b.querySelector("text")!.textContent)).toEqual(["conv1: conv_bn", "conv2: conv_bn", "conv3: conv_bn"]);
    // Each box holds its nodes: conv1's nine node boxes lie inside conv1's rectangle.
    const boxOf = (g: Element) => {
      const [x, y] = g
        .getAttribute("transform")!
        .match(/-?[\d.]+/g)!
        .map(Number);
      const rect = g.querySelector("rect")!;
      return { x: x!, y: y!, w: Number(rect.getAttribute("width")), h: Number(rect.getAttribute("height")) };
    };
    const conv1 = boxOf(blocks[0]!);
    const members = [...document.querySelectorAll("g.node")].filter((g) => g.getAttribute("data-id")!.startsWith("conv1/"));
    expect(members).toHaveLength(9);
    for (const member of members.map(boxOf)) {
      expect(member.x >= conv1.x && member.y >= conv1.y && member.x + member.w <= conv1.x + conv1.w && member.y + member.h <= conv1.y + conv1.h).toBe(true);
    }
    expect(document.querySelectorAll("g.node.state")).toHaveLength(6);
    expect([...document.querySelectorAll(".legend-item text")].map((t) => t.textContent)).toContain("state (not trained)");
  });

  it("writes each node's attributes on a line of its own: init, strides and padding, windows, dropout rates, transposes", async () => {
    const graph = parseGraph(
      JSON.stringify({
        name: "attributes",
        nodes: [
          { id: "x", op: "input", attrs: { shape: ["batch", 1, 8, 8] } },
          { id: "W", op: "parameter", attrs: { shape: [4, 1, 3, 3], init: "he_normal" } },
          { id: "conv", op: "conv2d", inputs: ["x", "W"], attrs: { stride: 2, padding: 1, dilation: [2, 2] } },
          { id: "pool", op: "max_pool2d", inputs: ["conv"], attrs: { window: 2 } },
          { id: "flat", op: "flatten", inputs: ["pool"] },
          { id: "drop", op: "dropout", inputs: ["flat"], attrs: { rate: 0.3 } },
          { id: "V", op: "parameter", attrs: { shape: [10, 4], init: "normal", std: 0.05 } },
          { id: "out", op: "matmul", inputs: ["drop", "V"], attrs: { transpose_b: true, transpose_a: false } },
        ],
      }),
      "attributes.graph.json",
    );
    const attributes = (document: Document) =>
      Object.fromEntries([...document.querySelectorAll("g.node")].map((g) => [g.getAttribute("data-id"), g.querySelector("text.attributes")?.textContent]));
    expect(attributes(await check(graph))).toEqual({
      x: undefined,
      W: "init he_normal",
      conv: "stride 2, padding 1, dilation [2, 2]",
      pool: "window 2",
      flat: undefined,
      drop: "rate 0.3",
      V: "init normal, std 0.05",
      out: "transpose_b",
    });
    // A dropout node that leaves its rate to the training section says what the section makes of it.
    expect(attributes(await check(mnist)).h1).toBe("off (training's use_dropout)");
    const withDropout = { ...mnist, training: { ...mnist.training, use_dropout: true, dropout_rate: 0.2 } };
    expect(attributes(await check(withDropout)).h1).toBe("rate 0.2 (training's dropout_rate)");
  });

  it("draws the backward graph: backward values and parameter gradients apart, with the formulas they implement", async () => {
    const document = await check(differentiate(mnist));
    expect([...document.querySelectorAll(".legend-item text")].map((t) => t.textContent)).toEqual([
      "input (fed)",
      "parameter",
      "forward value",
      "loss",
      "backward value",
      "parameter gradient",
    ]);
    expect([...document.querySelectorAll("g.node.gradient")].map((g) => g.getAttribute("data-id")).sort()).toEqual(
      ["grad/W1", "grad/W2", "grad/W3", "grad/b1", "grad/b2", "grad/b3"].sort(),
    );
    const z3 = document.querySelector('g.node[data-id="grad/z3"]')!;
    expect(z3.classList.contains("backward")).toBe(true);
    expect(z3.textContent).toContain("δ = (A − Y)/m");
    expect(document.querySelector('g.node[data-id="grad/z1"]')!.textContent).toContain("δ ⊙ [Z > 0]");
  });
});

describe("the run pictures", () => {
  const history = [1, 2, 3, 4].map((epoch) => ({
    epoch,
    train_loss: 0.3 / epoch,
    val_loss: [0.2, 0.12, 0.1, 0.11][epoch - 1]!,
    train_accuracy: 0.9 + epoch / 100,
    val_accuracy: 0.95 + epoch / 200,
  }));

  it("curves: loss and accuracy panels, training and validation series, the best epoch marked", () => {
    const document = parseSvg(renderCurvesSvg(history));
    expect(document.querySelectorAll("g.panel")).toHaveLength(2);
    expect(document.querySelectorAll("path.series.training")).toHaveLength(2);
    expect(document.querySelectorAll("path.series.validation")).toHaveLength(2);
    expect(document.documentElement.textContent).toContain("best epoch (lowest validation loss): 3");
    expect(document.querySelectorAll(".x-axis .tick")).not.toHaveLength(0);
  });

  it("predictions: each digit as an embedded PNG with its label and prediction, the wrong ones marked", () => {
    const digit = (label: number, predicted: number) => ({ pixels: new Float64Array(784).fill(0.5), side: 28, label, predicted, probability: 0.9 });
    const document = parseSvg(renderPredictionsSvg([digit(1, 1), digit(2, 7), digit(3, 3)]));
    expect(document.querySelectorAll("g.digit")).toHaveLength(3);
    expect(document.querySelectorAll("g.digit.wrong")).toHaveLength(1);
    expect(document.querySelector("g.digit.wrong")!.textContent).toContain("true 2, predicted 7");
    expect(document.querySelector("image")!.getAttribute("href")).toMatch(/^data:image\/png;base64,/);
  });

  it("confusion: one cell per pair of classes with its count", () => {
    const confusion = [
      [5, 1, 0],
      [0, 7, 2],
      [1, 0, 9],
    ];
    const document = parseSvg(renderConfusionSvg(confusion));
    expect(document.querySelectorAll("g.cell")).toHaveLength(9);
    expect([...document.querySelectorAll("g.cell.diagonal text")].map((t) => t.textContent)).toEqual(["5", "7", "9"]);
    expect(document.documentElement.textContent).toContain("21 of 25 right (84.00 %)");
  });

  it("confusion: the errors off the diagonal show on a scale of their own, the largest deep, a single one tinted", () => {
    // As a good MNIST model's: about a thousand right per class, a few errors of 28 and 29, many of 1.
    const confusion = Array.from({ length: 10 }, (_, i) => Array.from({ length: 10 }, (_, j): number => (i === j ? 1000 : (i + j) % 4 === 0 ? 1 : 0)));
    confusion[4]![9] = 29;
    confusion[7]![2] = 28;
    const document = parseSvg(renderConfusionSvg(confusion));
    const cells = [...document.querySelectorAll("g.cell")];
    const cell = (i: number, j: number) => cells[i * 10 + j]!;
    // Relative luminance (0 black, 1 white) of a cell's fill.
    const luminance = (g: Element) => {
      const { r, g: green, b } = rgb(g.querySelector("rect")!.getAttribute("fill")!);
      const linear = (c: number) => ((c /= 255) <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4);
      return 0.2126 * linear(r) + 0.7152 * linear(green) + 0.0722 * linear(b);
    };
    expect(luminance(cell(4, 9))).toBeLessThan(0.25);
    expect(luminance(cell(7, 2))).toBeLessThan(0.25);
    const ones = cells.filter((g) => g.querySelector("text")!.textContent === "1");
    expect(ones.length).toBeGreaterThan(10);
    for (const one of ones) {
      expect(one.classList.contains("error")).toBe(true);
      expect(luminance(one)).toBeLessThan(0.85);
    }
    expect(luminance(cell(0, 1))).toBe(1); // no error: white
    for (let i = 0; i < 10; i++) expect(luminance(cell(i, i))).toBeLessThan(0.1);
    expect(cell(4, 9).querySelector("text")!.textContent).toBe("29");
    expect(document.querySelector(".key")!.textContent).toContain("square-root scale from 1 to 29");
  });

  it("report.html brings them together, self-contained: every picture inline, nothing fetched", () => {
    const html = renderReportHtml({
      title: "run <1>",
      summary: [["test accuracy", "0.9800"]],
      configuration: { learning_rate: 0.001, activation_functions: ["relu", "tanh"] },
      pictures: [
        { heading: "Curves", svg: renderCurvesSvg(history) },
        { heading: "Confusion", svg: renderConfusionSvg([[1]]) },
      ],
    });
    const document = new JSDOM(html).window.document;
    expect(document.querySelectorAll("figure > svg")).toHaveLength(2);
    expect(document.title).toBe("run <1>");
    expect(document.querySelector(".summary")!.textContent).toContain("0.9800");
    expect(document.querySelector(".configuration")!.textContent).toContain('["relu","tanh"]');
    expect(html).not.toMatch(/(src|href)="https?:/);
    expect(html).not.toContain("<?xml");
    // A finished run's page stays as it is; a run in progress reloads itself and says where it stands.
    expect(document.querySelector('meta[http-equiv="refresh"]')).toBeNull();
    const live = new JSDOM(
      renderReportHtml({ title: "run", summary: [], configuration: {}, pictures: [], refreshSeconds: 5, status: "training: 1 epoch of 3 done" }),
    ).window.document;
    expect(live.querySelector('meta[http-equiv="refresh"]')!.getAttribute("content")).toBe("5");
    expect(live.querySelector(".status")!.textContent).toBe("training: 1 epoch of 3 done");
  });
});

describe("the picture writers", () => {
  it("load their DOM (linkedom) only when a picture is drawn, so that a CLI start-up does not pay for it", async () => {
    const { spawnSync } = await import("node:child_process");
    const script = `
      import { createRequire } from "node:module";
      const loaded = () => Object.keys(createRequire(import.meta.url).cache).some((path) => path.includes("/node_modules/linkedom/"));
      const { renderConfusionSvg } = await import(${JSON.stringify(new URL("../../dist/viz/index.js", import.meta.url).href)});
      await import(${JSON.stringify(new URL("../../dist/cli/program.js", import.meta.url).href)});
      const before = loaded();
      renderConfusionSvg([[1, 0], [0, 1]]);
      console.log(JSON.stringify({ before, after: loaded() }));`;
    const r = spawnSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8" });
    expect(r.stderr).toBe("");
    expect(JSON.parse(r.stdout)).toEqual({ before: false, after: true });
  });

  it("load the graph's layout engine (elkjs) only when a graph is laid out, not for the run's other pictures", async () => {
    const { spawnSync } = await import("node:child_process");
    const script = `
      import { createRequire } from "node:module";
      const loaded = () => Object.keys(createRequire(import.meta.url).cache).some((path) => path.includes("/node_modules/elkjs/"));
      const { renderConfusionSvg, renderGraphSvg } = await import(${JSON.stringify(new URL("../../dist/viz/index.js", import.meta.url).href)});
      const { loadGraphFile } = await import(${JSON.stringify(new URL("../../dist/src/index.js", import.meta.url).href)});
      await import(${JSON.stringify(new URL("../../dist/cli/program.js", import.meta.url).href)});
      const before = loaded();
      renderConfusionSvg([[1, 0], [0, 1]]);
      const confusion = loaded();
      await renderGraphSvg(loadGraphFile("graphs/mnist.graph.json"));
      console.log(JSON.stringify({ before, confusion, after: loaded() }));`;
    const r = spawnSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8" });
    expect(r.stderr).toBe("");
    expect(JSON.parse(r.stdout)).toEqual({ before: false, confusion: false, after: true });
  });
});
