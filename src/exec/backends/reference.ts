/**
 * The reference backend ("ts"): the plan's values in one plain typed array of its dtype, every step by
 * its op's own kernel, batches and updates by JavaScript loops, one thread. The other backends are held
 * equal to it.
 */
import { ONE_THREAD, type Backend, type BackendFactory } from "../backend.js";
import { referenceBatches } from "../batches.js";
import { referenceParameterUpdates } from "../parameter-updates.js";

export const referenceBackend: BackendFactory = (plan): Backend => ({
  values: plan.dtype === "float64" ? new Float64Array(plan.arenaElements) : new Float32Array(plan.arenaElements),
  kernelFor: () => undefined,
  fuse: (steps) => steps,
  batches: referenceBatches,
  parameterUpdates: referenceParameterUpdates,
  ready: Promise.resolve(),
  threadStats: () => ONE_THREAD,
  close: () => Promise.resolve(),
});
