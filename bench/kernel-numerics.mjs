#!/usr/bin/env node
// node bench/kernel-numerics.mjs [DIST_ROOT] [--rounds N]
//
// Microseconds per call of the WebAssembly kernels whose numerics issue 11 changed, at the sizes of the
// report's network at batch 256: tanh over 256 × 64 values (the second hidden layer) and the bias
// gradient's column sums, sum_to [256, 128] → [128]. One thread; the fastest of many rounds (on a shared
// machine other work only ever adds time to a round), and their median. DIST_ROOT is
// a built checkout (default: this one), so a build of an older commit can be measured the same way.
// A measuring tool, not a test.
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const argv = process.argv.slice(2);
const roundsAt = argv.indexOf("--rounds");
const rounds = roundsAt >= 0 ? Number(argv[roundsAt + 1]) : 41;
const positional = argv.filter((a, i) => !a.startsWith("--") && argv[i - 1] !== "--rounds");
const root = resolve(positional[0] ?? join(dirname(fileURLToPath(import.meta.url)), ".."));
const { Executor, compilePlan } = await import(pathToFileURL(join(root, "dist", "src", "index.js")).href);

function oneOp(op, shape, attrs = {}) {
  return {
    name: op,
    nodes: [
      { id: "x", op: "input", inputs: [], attrs: { shape } },
      { id: "out", op, inputs: ["x"], attrs },
    ],
  };
}

/** The fastest and the median µs per call of the plan's kernel over the rounds, `calls` calls per round. */
function measure(graph, fill, calls) {
  const executor = new Executor(compilePlan(graph, { outputs: ["out"], dtype: "float32" }), { backend: "wasm" });
  if (!executor.fastNodes.includes("out")) throw new Error(`${graph.name}: the WebAssembly kernel did not run`);
  const x = executor.view("x");
  for (let i = 0; i < x.length; i++) x[i] = fill(i);
  for (let i = 0; i < calls; i++) executor.run({ training: false }); // warm-up
  const times = [];
  for (let r = 0; r < rounds; r++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < calls; i++) executor.run({ training: false });
    times.push(Number(process.hrtime.bigint() - start) / 1e3 / calls);
  }
  times.sort((a, b) => a - b);
  return `${times[0].toFixed(2)} µs per call (median ${times[rounds >> 1].toFixed(2)})`;
}

// Pre-activations of a hidden layer: mostly within ±3, some beyond.
const spread = (i) => Math.sin(i * 0.7373) * 3 + Math.sin(i * 0.0131) * 2;
const tanh = measure(oneOp("tanh", [256, 64]), spread, 2000);
const sumTo = measure(oneOp("sum_to", [256, 128], { shape: [128] }), spread, 2000);
console.log(`${root}\n  tanh [256, 64]: ${tanh}\n  sum_to [256, 128] → [128]: ${sumTo}`);
