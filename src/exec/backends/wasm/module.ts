/**
 * The WebAssembly SIMD kernels (asm/kernels.ts, built by asm/build.mjs, embedded in kernels.wasm.ts and
 * typed by kernels.exports.ts, both generated from it):
 * compiled once per process, instantiated once per arena over that arena's memory.
 */
import type { WasmKernels } from "./kernels.exports.js";
import { KERNELS_WASM_BASE64 } from "./kernels.wasm.js";

export type { WasmKernels };

let compiled: WebAssembly.Module | undefined;

function module(): WebAssembly.Module {
  compiled ??= new WebAssembly.Module(Buffer.from(KERNELS_WASM_BASE64, "base64"));
  return compiled;
}

/** The compiled module, to hand to a worker thread. */
export function kernelsModule(): WebAssembly.Module {
  return module();
}

export function instantiateKernels(memory: WebAssembly.Memory): WasmKernels {
  const instance = new WebAssembly.Instance(module(), { env: { memory } });
  return instance.exports as unknown as WasmKernels;
}
