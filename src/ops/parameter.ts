/**
 * parameter: trainable state (weights, biases). It lives across runs, is initialised once from its
 * `init` attribute and is updated by the optimizer.
 */
import { Type } from "#typebox";
import { ShapeAttr } from "./attrs.js";
import { ShapeError, defineOp } from "./op.js";

const INITIALIZERS = ["zeros", "ones", "he_normal", "xavier_normal", "normal"] as const;

export const parameter = defineOp({
  name: "parameter",
  summary: "trainable state, initialised once and updated by the optimizer",
  role: "parameter",
  inputs: [],
  attrs: Type.Object(
    {
      shape: ShapeAttr,
      init: Type.Union(
        INITIALIZERS.map((name) => Type.Literal(name)),
        {
          description:
            "zeros; ones (a batch norm's scale γ); he_normal: N(0, 2/fan_in) for relu layers; xavier_normal: N(0, 1/fan_in) otherwise (the report's " +
            "'adjusted normal distribution'); normal: N(0, std²).",
        },
      ),
      std: Type.Optional(Type.Number({ exclusiveMinimum: 0, description: 'Standard deviation for init "normal".' })),
    },
    { additionalProperties: false },
  ),
  shape: (_inputs, attrs) => {
    if (attrs.shape.some((d) => typeof d !== "number")) {
      throw new ShapeError(`a parameter's shape must be fixed sizes (no "batch"), got ${JSON.stringify(attrs.shape)}.`, "shape");
    }
    return attrs.shape;
  },
  kernel: () => () => {
    // Owned by the executor's parameter storage: nothing to compute.
  },
});
