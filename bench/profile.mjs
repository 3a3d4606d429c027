#!/usr/bin/env node
// npm run profile [-- --batch 256] [-- --threads 2] [-- --steps N]
//
// Where a training step of the report's network goes, kernel by kernel: trains on real MNIST batches as
// `npm run bench` does (WebAssembly backend, resident dataset), wraps each compiled step of the plan with
// a timer, and prints the mean microseconds per step of every kernel, of the batch fill, of the rest of
// Model.step and of the optimizer's update. For finding the next thing to speed up; the timers add about
// 1 µs a kernel (shown apart), so the total is a little above the bench's figure. Not part of CI.
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { graphnetTrainer, loadWorkload } from "./workload.mjs";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const args = { batch: 256, threads: 2, steps: 0 };
for (let i = 2; i < process.argv.length; i += 2) {
  const key = process.argv[i]?.replace(/^--/, "");
  if (!(key in args)) throw new Error(`unknown argument ${process.argv[i]}; known: --batch, --threads, --steps`);
  args[key] = Number(process.argv[i + 1]);
}
const { model, forwardBackward, update } = await graphnetTrainer(ROOT, await loadWorkload(ROOT), { batch: args.batch, threads: args.threads });

// Model's internals, reached on purpose: this is a measuring tool, not a user of the API.
const executor = model.train;
const kernelTime = new Map(executor.steps.map((s) => [s.id, 0]));
for (const step of executor.steps) {
  const kernel = step.kernel;
  step.kernel = (inputs, output, context) => {
    const t = performance.now();
    kernel(inputs, output, context);
    kernelTime.set(step.id, kernelTime.get(step.id) + performance.now() - t);
  };
}
let runTime = 0;
const run = executor.run.bind(executor);
executor.run = (options) => {
  const t = performance.now();
  run(options);
  runTime += performance.now() - t;
};
let fillTime = 0;
if (model.resident) {
  const fill = model.resident.fill.bind(model.resident);
  model.resident.fill = (...a) => {
    const t = performance.now();
    fill(...a);
    fillTime += performance.now() - t;
  };
}

const steps = args.steps || Math.ceil(42_000 / args.batch);
let stepTime = 0;
let optimizerTime = 0;
for (let b = -100; b < steps; b++) {
  if (b === 0) {
    // After 100 warm-up steps: the timers start from zero.
    for (const id of kernelTime.keys()) kernelTime.set(id, 0);
    [fillTime, runTime, stepTime, optimizerTime] = [0, 0, 0, 0];
  }
  const t0 = performance.now();
  forwardBackward(b + 100);
  const t1 = performance.now();
  update();
  stepTime += t1 - t0;
  optimizerTime += performance.now() - t1;
}

const us = (ms) => ((1000 * ms) / steps).toFixed(1).padStart(8);
const byId = new Map(executor.plan.steps.map((s) => [s.node.id, s]));
console.log(`batch ${args.batch}, ${args.threads} thread${args.threads > 1 ? "s" : ""}, mean µs per step over ${steps} steps\n`);
let kernels = 0;
for (const [id, time] of kernelTime) {
  kernels += time;
  const s = byId.get(id);
  console.log(`${us(time)}  ${id.padEnd(12)} ${s.node.op.padEnd(28)} ${s.inputs.map((v) => `[${v.shape.join(",")}]`).join(" ")}`);
}
console.log(`${us(kernels)}  kernels`);
console.log(`${us(runTime - kernels)}  the executor's loop, and these timers`);
console.log(`${us(fillTime)}  batch fill`);
console.log(`${us(stepTime - runTime - fillTime)}  rest of Model.step (JavaScript)`);
console.log(`${us(optimizerTime)}  optimizer update`);
console.log(`${us(stepTime + optimizerTime)}  step`);
process.exit(0);
