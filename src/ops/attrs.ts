/** Attribute schemas shared by several ops. */
import { Type } from "#typebox";

/** The schema of an op that takes no attributes, and the type of its (empty) attrs. */
export const NO_ATTRS = Type.Object({}, { additionalProperties: false });
export type NoAttrs = Record<string, never>;

const DIM_SYMBOL = "^[A-Za-z_][A-Za-z0-9_]*$";

/** A tensor shape in a graph file: sizes, or a symbol such as "batch" fixed when a plan is compiled. */
export const ShapeAttr = Type.Array(
  Type.Union([
    Type.Integer({ minimum: 1, maximum: 2 ** 31 - 1, description: "a fixed size" }),
    Type.String({ pattern: DIM_SYMBOL, description: 'a symbolic size, such as "batch"' }),
  ]),
  { maxItems: 8, description: 'Dimensions, outermost first; ["batch", 784] is a batch of 784-vectors.' },
);
