#!/usr/bin/env node
// node bench/tanh-exhaustive.mjs [DIST_ROOT]
//
// Every positive float32 below 10 (1,092,616,192 of them; from 9.01 on float32's tanh is 1, and the
// kernel is odd by construction) through the WebAssembly tanh kernel, against Math.tanh rounded to
// float32. Prints how many differ and by how many ulps at most. About 20 s. DIST_ROOT is a built checkout
// (default: this one). A measuring tool, not a test (test/exec/wasm-numerics.test.ts holds a sweep).
import { readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(process.argv[2] ?? join(dirname(fileURLToPath(import.meta.url)), ".."));
const memory = new WebAssembly.Memory({ initial: 1, maximum: 65536, shared: true });
const bytes = readFileSync(join(root, "dist", "asm", "kernels.wasm"));
const { tanh } = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory, abort() {} } }).exports;

const CHUNK = 1 << 22;
const x = 1 << 20; // past the module's own data
const out = x + 4 * CHUNK;
memory.grow(Math.ceil((out + 4 * CHUNK) / 65536));
const bits = new Uint32Array(memory.buffer);
const floats = new Float32Array(memory.buffer);
const rounded = new Float32Array(1);
const roundedBits = new Uint32Array(rounded.buffer);
const END = 0x41200000; // the bits of 10.0f
let differing = 0;
let worst = 0;
let example;
for (let start = 0; start < END; start += CHUNK) {
  const n = Math.min(CHUNK, END - start);
  for (let i = 0; i < n; i++) bits[x / 4 + i] = start + i;
  tanh(x, out, n);
  for (let i = 0; i < n; i++) {
    rounded[0] = Math.tanh(floats[x / 4 + i]);
    const ulps = Math.abs(bits[out / 4 + i] - roundedBits[0]);
    if (ulps === 0) continue;
    differing++;
    if (ulps > worst) [worst, example] = [ulps, floats[x / 4 + i]];
  }
}
console.log(
  `${root}: ${END.toLocaleString("en-US")} positive float32 inputs below 10, ${differing.toLocaleString("en-US")} differ from Math.tanh rounded to float32` +
    (differing > 0 ? ` (at most ${worst} ulps, e.g. at ${example})` : ""),
);
