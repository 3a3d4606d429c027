/**
 * state: non-trainable state, such as a batch norm's running mean and variance. Like a parameter it
 * lives across runs (beside the parameters in the arena), is initialised once from its `init` attribute
 * and is saved in checkpoints; unlike one it is never differentiated nor touched by the optimizer: in
 * training mode the one node that lists it among its op's `updates` rewrites it, once per run.
 */
import { Type } from "#typebox";
import { ShapeAttr } from "./attrs.js";
import { ShapeError, defineOp } from "./op.js";

export const STATE_INITIALIZERS = { zeros: 0, ones: 1 } as const;

export const state = defineOp({
  name: "state",
  summary: "non-trainable state (running averages), initialised once and updated in training mode by the node that reads it",
  role: "state",
  inputs: [],
  attrs: Type.Object(
    {
      shape: ShapeAttr,
      init: Type.Union(
        Object.keys(STATE_INITIALIZERS).map((name) => Type.Literal(name as keyof typeof STATE_INITIALIZERS)),
        { description: "zeros (a running mean's start) or ones (a running variance's start)." },
      ),
    },
    { additionalProperties: false },
  ),
  shape: (_inputs, attrs) => {
    if (attrs.shape.some((d) => typeof d !== "number")) {
      throw new ShapeError(`a state's shape must be fixed sizes (no "batch"), got ${JSON.stringify(attrs.shape)}.`, "shape");
    }
    return attrs.shape;
  },
  kernel: () => () => {
    // Owned by the executor's state storage and written by the node that updates it: nothing to compute.
  },
  check: { skip: "non-trainable state, not computed" },
});
