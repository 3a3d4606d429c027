/**
 * The backends an executor can run a plan on, by name: the one place that knows them all. A backend that
 * only takes some dtypes leaves the others to the reference.
 */
import type { BackendFactory, BackendName } from "../backend.js";
import type { DType } from "../plan.js";
import { referenceBackend } from "./reference.js";
import { wasmBackend } from "./wasm/backend.js";

export const BACKEND_FACTORIES: { readonly [name in BackendName]: { readonly create: BackendFactory; readonly dtypes: readonly DType[] } } = {
  ts: { create: referenceBackend, dtypes: ["float32", "float64"] },
  wasm: { create: wasmBackend, dtypes: ["float32"] },
};
