/**
 * Every graph shipped in graphs/ loads, and trains: a dozen Adam steps on a fixed batch of MNIST lower its
 * loss, on both backends, with every gradient finite.
 */
import { readdirSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { loadGraphFile, Model } from "../../src/index.js";
import { createOptimizer } from "../../src/train/optimizers.js";
import { REPORT_ADAM } from "../support/optimizer-settings.js";
import { mnist } from "../support/small-mnist.js";

const GRAPHS = readdirSync("graphs").filter((name) => name.endsWith(".graph.json"));

describe("the graphs shipped in graphs/", () => {
  it("are the ones this test knows of (a new one is checked too)", () => {
    expect(GRAPHS).toEqual(expect.arrayContaining(["mnist.graph.json", "mnist-blocks.graph.json", "mnist-cnn.graph.json", "mnist-cnn-best.graph.json"]));
  });

  it.each(GRAPHS.flatMap((name) => (["ts", "wasm"] as const).map((backend) => [name, backend] as const)))("%s trains on %s", (name, backend) => {
    const graph = loadGraphFile(`graphs/${name}`);
    const model = new Model(graph, { batchSize: 8, seed: 3, backend, threads: 1 });
    const optimizer = createOptimizer(REPORT_ADAM, model.parameterSizes(), model.parameterUpdates());
    const data = mnist();
    const order = Uint32Array.from({ length: 8 }, (_, i) => i * 101);
    const losses: number[] = [];
    for (let step = 0; step < 12; step++) {
      losses.push(model.step(data, order, 0, 8, step).loss);
      expect(
        model.gradients.every((g) => g.every(Number.isFinite)),
        `step ${step}: a gradient is not finite`,
      ).toBe(true);
      optimizer.step(model.parameters, model.gradients, 0.002);
    }
    expect(losses.every(Number.isFinite)).toBe(true);
    expect(losses.at(-1)!).toBeLessThan(losses[0]!);
    optimizer.release();
  });
});
