#!/usr/bin/env node
// npm run profile [-- --batch 256] [-- --threads 2] [-- --steps N]
//
// Where a training step of the report's network goes, kernel by kernel: trains on real MNIST batches as
// `npm run bench` does (WebAssembly backend, resident dataset), wraps each compiled step of the plan with
// a timer, and prints the median and the mean microseconds per step of every kernel, of the batch fill,
// of the rest of Model.step and of the optimizer's update. For finding the next thing to speed up; the
// timers add about 1 µs a kernel (shown apart), so the total is a little above the bench's figure. Not
// part of CI.
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
// Every timer keeps one sample per step, so that the report can give medians as well as means: on a shared
// machine a preempted thread adds milliseconds to a few steps, which moves a mean but not a median.
const steps = args.steps || Math.ceil(42_000 / args.batch);
const executor = model.trainingStep;
const timers = new Map();
const timer = (name) => {
  if (!timers.has(name)) timers.set(name, new Float64Array(steps));
  return timers.get(name);
};
let step = -1; // the step being timed; below 0 during the warm-up
const record = (name, ms) => {
  if (step >= 0) timer(name)[step] += ms;
};
// Kernels' timers under "step:" + the node's id, apart from the others ("run", "fill", …).
const stepTimer = (id) => `step:${id}`;
for (const s of executor.steps) timer(stepTimer(s.id));
for (const s of executor.steps) {
  const kernel = s.kernel;
  const name = stepTimer(s.id);
  s.kernel = (inputs, output, context) => {
    const t = performance.now();
    kernel(inputs, output, context);
    record(name, performance.now() - t);
  };
}
const run = executor.run.bind(executor);
executor.run = (options) => {
  const t = performance.now();
  run(options);
  record("run", performance.now() - t);
};
{
  const batches = executor.batches;
  const fill = batches.fill.bind(batches);
  batches.fill = (...a) => {
    const t = performance.now();
    fill(...a);
    record("fill", performance.now() - t);
  };
}

for (let b = -100; b < steps; b++) {
  step = b; // the first 100 steps warm up, untimed
  const t0 = performance.now();
  forwardBackward(b + 100);
  const t1 = performance.now();
  update();
  record("forward and backward", t1 - t0);
  record("optimizer", performance.now() - t1);
}

const kernelIds = executor.steps.map((s) => stepTimer(s.id));
const perStep = (f) => Float64Array.from({ length: steps }, (_, i) => f(i));
const sum = (ids) => perStep((i) => ids.reduce((acc, id) => acc + timers.get(id)[i], 0));
const kernels = sum(kernelIds);
const rows = [
  ...kernelIds.map((id) => [id, timers.get(id)]),
  ["kernels", kernels],
  ["the executor's loop, and these timers", perStep((i) => timers.get("run")[i] - kernels[i])],
  ["batch fill", timer("fill")],
  ["rest of Model.step (JavaScript)", perStep((i) => timers.get("forward and backward")[i] - timers.get("run")[i] - timer("fill")[i])],
  ["optimizer update", timers.get("optimizer")],
  ["step", sum(["forward and backward", "optimizer"])],
];
const median = (xs) => {
  const s = Float64Array.from(xs).sort();
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
const us = (ms) => (1000 * ms).toFixed(1).padStart(8);
const byId = new Map(executor.plan.steps.map((s) => [s.node.id, s]));
console.log(`batch ${args.batch}, ${args.threads} thread${args.threads > 1 ? "s" : ""}, µs per step over ${steps} steps (medians of the parts do not add up to the median step)\n`);
console.log(`  median      mean`);
for (const [id, times] of rows) {
  const s = id.startsWith("step:") ? byId.get(id.slice("step:".length)) : undefined;
  const what = s ? `${s.node.id.padEnd(12)} ${s.node.op.padEnd(28)} ${s.inputs.map((v) => `[${v.shape.join(",")}]`).join(" ")}` : id;
  console.log(`${us(median(times))}  ${us(mean(times))}  ${what}`);
}
process.exit(0);
