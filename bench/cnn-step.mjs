#!/usr/bin/env node
// node bench/cnn-step.mjs [--graph graphs/mnist-cnn.graph.json] [--batch 64] [--threads 1,2] [--steps 200] [--kernels] [--dense]
//
// One training step of a CNN graph (--graph, relative to the repository: graphs/mnist-cnn.graph.json by
// default, graphs/mnist-cnn-best.graph.json for the one with batch norm; Model.step, then Adam's update)
// on the WebAssembly backend, on real MNIST batches (resident dataset), timed step by step after a
// warm-up: the median milliseconds per step for each thread count, and the epoch that makes (the report's
// 42,000 training images: 656 steps at batch 64). With --kernels, the median microseconds of every
// compiled step too (each kernel wrapped in a timer: about 1 µs a kernel more). --dense: the images not
// planned as mostly zeros (no zero-skipping). Run `npm run build` first. Not part of CI.
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const args = { graph: "graphs/mnist-cnn.graph.json", batch: "64", threads: "1,2", steps: "200", kernels: false, dense: false };
for (let i = 2; i < process.argv.length; i++) {
  const key = process.argv[i]?.replace(/^--/, "");
  if (!(key in args)) throw new Error(`unknown argument ${process.argv[i]}; known: --graph, --batch, --threads, --steps, --kernels, --dense`);
  if (key === "kernels" || key === "dense") args[key] = true;
  else args[key] = process.argv[++i];
}
const batch = Number(args.batch);
const steps = Number(args.steps);
const WARM_UP = 30;

const { Model, loadGraphFile, createOptimizer, trainingConfig, loadMnist, reportSplit, Random } = await import(join(ROOT, "dist/src/index.js"));
const data = loadMnist();
const order = new Random(1).shuffle(Uint32Array.from(reportSplit(data.count, 0.2, 0.25, 42).train));
const graph = loadGraphFile(join(ROOT, args.graph));
const config = trainingConfig(graph);
const epochSteps = Math.ceil(order.length / batch);
const median = (xs) => {
  const s = Float64Array.from(xs).sort();
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

for (const threads of args.threads.split(",").map(Number)) {
  const model = new Model(graph, { batchSize: batch, seed: 1, backend: "wasm", threads, data, zeroSkip: !args.dense });
  await model.ready;
  const optimizer = createOptimizer(config, model.parameterSizes(), model.parameterUpdates());
  const batches = Math.floor(order.length / batch);
  // Per-kernel timers (Model's internals, reached on purpose: a measuring tool).
  const kernelTimes = new Map();
  let current = -1;
  if (args.kernels) {
    for (const s of model.trainingStep.steps) {
      const times = new Float64Array(steps);
      kernelTimes.set(s.id, times);
      const kernel = s.kernel;
      s.kernel = (inputs, output, context) => {
        const t = performance.now();
        kernel(inputs, output, context);
        if (current >= 0) times[current] += performance.now() - t;
      };
    }
  }
  const stepTimes = new Float64Array(steps);
  for (let b = -WARM_UP; b < steps; b++) {
    current = b;
    const t = performance.now();
    model.step(data, order, ((b + WARM_UP) % batches) * batch, batch, optimizer.steps);
    optimizer.step(model.parameters, model.gradients, config.learning_rate);
    if (b >= 0) stepTimes[b] = performance.now() - t;
  }
  const ms = median(stepTimes);
  console.log(
    `wasm, ${threads} thread${threads > 1 ? "s" : ""}, batch ${batch}: ${ms.toFixed(2)} ms/step (median of ${steps}), epoch of ${epochSteps} steps ≈ ${((ms * epochSteps) / 1000).toFixed(1)} s`,
  );
  if (args.kernels) {
    const byId = new Map(model.trainingStep.plan.steps.map((s) => [s.node.id, s]));
    const rows = [...kernelTimes].map(([id, times]) => [id, median(times)]).sort((a, b) => b[1] - a[1]);
    for (const [id, t] of rows) {
      const s = byId.get(id);
      const what = s ? `${s.node.op.padEnd(22)} ${s.inputs.map((v) => `[${v.shape.join(",")}]`).join(" ")}` : "";
      console.log(`  ${(1000 * t).toFixed(0).padStart(7)} µs  ${id.padEnd(28)} ${what}`);
    }
  }
  await model.close?.();
}
process.exit(0);
