/**
 * Row chains (src/exec/backends/wasm/chain.ts): the part of a training step that goes row by row over the
 * batch handed to the worker as one job; and call groups (call-group.ts): the weight gradients after it as
 * another. The same bytes as one thread, and the hand-overs a step makes, counted by the pool (sharing
 * "always": every chain, group and big kernel shared, whatever the machine).
 */
import { describe, expect, it } from "vitest";
import { compilePlan, createOptimizer, differentiate, Executor, initializeParameters, loadGraphFile, Model } from "../../src/index.js";
import type { WasmBackend } from "../../src/exec/backends/wasm/backend.js";
import type { Way } from "../../src/exec/backends/wasm/step-governor.js";
import { REPORT_ADAM } from "../support/optimizer-settings.js";
import { mnist } from "../support/small-mnist.js";

/** A typed array's bytes, compared at once. */
const bytes = (a: ArrayBufferView) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

/**
 * Hand-overs per training step of the report's MLP on two threads (sharing "always"), Adam's update
 * included. Without chains and groups a step made 6, 7 and 16 at these batches: each big kernel of the
 * forward and backward passes one job.
 *   16:  the first layer's two partial sums (cut by features, not rows), the row chain (the layers from
 *        the second on, the head, the deltas), the weight gradients as one group, W1's Adam update;
 *   64:  the same and the batch's fill (cut by features as the first layer's product);
 *   256: the fill, the row chain (from the first layer on: its product is cut by rows at this size), the
 *        weight and bias gradients as one group, W1's Adam update.
 */
const HAND_OVERS: Record<number, number> = { 16: 4, 64: 5, 256: 4 };

describe("a training step of the report's MLP with its row chain and its group of gradients", () => {
  it.each([16, 64, 256])("at batch %i gives one thread's bytes, in fewer hand-overs", async (batch) => {
    const data = mnist();
    const graph = loadGraphFile("graphs/mnist.graph.json");
    const order = Uint32Array.from({ length: 8 * batch }, (_, i) => (i * 7_919) % 70_000);
    const train = async (threads: number) => {
      const model = new Model(graph, { batchSize: batch, seed: 5, backend: "wasm", threads, sharing: "always", data });
      await model.ready;
      const optimizer = createOptimizer(REPORT_ADAM, model.parameterSizes(), model.parameterUpdates());
      const losses: number[] = [];
      const handOvers: number[] = [];
      for (let s = 0; s < 6; s++) {
        const before = model.threadStats().handedOver;
        losses.push(model.step(data, order, s * batch, batch, optimizer.steps).loss);
        optimizer.step(model.parameters, model.gradients, 0.001);
        handOvers.push(model.threadStats().handedOver - before);
      }
      const gradients = model.gradients.map((g) => Buffer.from(bytes(g)));
      const weights = model.parameters.map((p) => Buffer.from(bytes(p)));
      const stats = model.threadStats();
      await model.close();
      return { losses, gradients, weights, handOvers, stats };
    };
    const one = await train(1);
    const two = await train(2);
    expect(two.losses).toEqual(one.losses);
    two.gradients.forEach((g, i) => expect(g.equals(one.gradients[i]!), `gradient ${i}`).toBe(true));
    two.weights.forEach((w, i) => expect(w.equals(one.weights[i]!), `parameter ${i}`).toBe(true));
    expect(two.handOvers).toEqual(Array(6).fill(HAND_OVERS[batch]));
    expect(two.stats).toMatchObject({ workerRan: two.stats.handedOver, takenBack: 0, failure: undefined });
  });
});

describe("a row chain whose worker sits out a step", () => {
  it("runs on the main thread alone, handing nothing over, with the same bytes", async () => {
    const graph = differentiate(loadGraphFile("graphs/mnist.graph.json"));
    const outputs = [graph.loss!, ...Object.values(graph.gradients!)];
    const plan = compilePlan(graph, { outputs, sizes: { batch: 256 }, dtype: "float32", gradientsLast: true });
    const clock = { now: 0 };
    const adaptive = new Executor(plan, { backend: "wasm", threads: 2, sharing: "adaptive", stepClock: () => clock.now });
    const alone = new Executor(plan, { backend: "wasm", threads: 1 });
    await adaptive.ready;
    const pool = (adaptive.runtime as WasmBackend).pool!;
    for (const e of [adaptive, alone]) initializeParameters(e, graph, 7);
    let seed = 1;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const handOvers: Record<Way, number> = { shared: 0, alone: 0 };
    const steps: Record<Way, number> = { shared: 0, alone: 0 };
    for (let step = 0; step < 60; step++) {
      const x = Float32Array.from({ length: 256 * 784 }, () => (random() < 0.8 ? 0 : random()));
      const y = new Float32Array(256 * 10);
      for (let r = 0; r < 256; r++) y[r * 10 + Math.floor(random() * 10)] = 1;
      const before = adaptive.threadStats().handedOver;
      for (const e of [adaptive, alone]) {
        e.feed("x", x);
        e.feed("y", y);
        e.run({ training: true, step });
      }
      const way = pool.governorState()!.way;
      handOvers[way] += adaptive.threadStats().handedOver - before;
      steps[way]++;
      // Alone looks faster: the governor keeps the worker out but for its tries.
      clock.now += (step === 0 ? 1000 : 0) + (way === "shared" ? 20 : 10); // the first step takes the governor's warm-up second
      for (const id of outputs) expect(bytes(adaptive.view(id)).equals(bytes(alone.view(id))), `${id} at step ${step} (${way})`).toBe(true);
    }
    expect(steps.alone).toBeGreaterThan(10);
    expect(handOvers.alone).toBe(0);
    // Shared steps do hand over (their chains and kernels share until alone is measured faster).
    expect(handOvers.shared).toBeGreaterThan(0);
    await adaptive.close();
  });
});

describe("planning the gradients last", () => {
  it("puts every weight gradient after the row-by-row part, whose values each keep their own memory until then", () => {
    const graph = differentiate(loadGraphFile("graphs/mnist.graph.json"));
    const outputs = [graph.loss!, ...Object.values(graph.gradients!)];
    const plan = compilePlan(graph, { outputs, sizes: { batch: 64 }, dtype: "float32", gradientsLast: true });
    const gradients = new Set(Object.values(graph.gradients!));
    const ids = plan.steps.map((s) => s.node.id);
    const first = ids.findIndex((id) => gradients.has(id));
    expect(ids.slice(first).every((id) => gradients.has(id))).toBe(true);
    expect(ids.slice(first)).toHaveLength(gradients.size);
    const before = plan.steps.slice(0, first).map((s) => s.output);
    for (const [i, a] of before.entries()) {
      for (const b of before.slice(i + 1)) {
        const overlap = a.offset < b.offset + b.elements && b.offset < a.offset + a.elements;
        expect(overlap, `${a.id} and ${b.id} share memory`).toBe(false);
      }
    }
  });

  it("is what a two-thread Model plans for a graph of rows, not for a graph of images (whose arena it would double)", async () => {
    const gradientsLast = async (file: string, threads: number) => {
      const graph = loadGraphFile(file);
      const model = new Model(graph, { batchSize: 16, seed: 1, backend: "wasm", threads });
      const plan = (model as unknown as { trainingStep: Executor }).trainingStep.plan;
      const gradients = new Set(Object.values(differentiate(graph).gradients!));
      const ids = plan.steps.map((s) => s.node.id);
      const first = ids.findIndex((id) => gradients.has(id));
      await model.close();
      return ids.slice(first).every((id) => gradients.has(id));
    };
    expect(await gradientsLast("graphs/mnist.graph.json", 2)).toBe(true);
    expect(await gradientsLast("graphs/mnist.graph.json", 1)).toBe(false);
    expect(await gradientsLast("graphs/mnist-cnn.graph.json", 2)).toBe(false);
  });
});
