/**
 * reshape: the same values in row-major order under another shape, given by the attribute `shape`. One
 * entry may be −1, the size that makes the element counts agree. A symbolic size such as "batch" stays
 * symbolic: the target names it (["batch", -1], ["batch", 28, 28]), or −1 stands for it when the sizes
 * of the other axes already account for everything else ([-1, 784] from ["batch", 28, 28]).
 *
 * The kernel copies. The values could instead share the input's memory (a view), if the planner knew that
 * an output may alias an input that is not written afterwards; it does not today.
 *
 * Gradient: dy reshaped back to x's shape.
 */
import { Type, type Static } from "#typebox";
import { formatShape, sizeOf, type Dim, type Shape } from "../graph/ir.js";
import { ShapeError, defineOp, type Kernel } from "./op.js";

const ReshapeAttrs = Type.Object(
  {
    shape: Type.Array(
      Type.Union([
        Type.Integer({ minimum: 1, maximum: 2 ** 31 - 1, description: "a fixed size" }),
        Type.Literal(-1, { description: "the size that makes the element counts agree (at most one)" }),
        Type.String({ pattern: "^[A-Za-z_][A-Za-z0-9_]*$", description: 'a symbolic size of the input, such as "batch"' }),
      ]),
      { maxItems: 8, description: 'The new shape: sizes, at most one -1, and the input\'s symbols such as "batch" (["batch", -1] flattens each item).' },
    ),
  },
  { additionalProperties: false },
);
type ReshapeAttrs = Static<typeof ReshapeAttrs>;

/** The shape x takes under `target` (see the file's comment); a ShapeError on "shape" saying why not. */
export function reshapedShape(x: Shape, target: ReshapeAttrs["shape"]): Shape {
  const from = `cannot reshape ${formatShape(x)} to ${formatShape(target)}`;
  if (target.filter((d) => d === -1).length > 1) throw new ShapeError(`${from}: at most one size may be -1.`, "shape");
  // The input's symbols, each to be named once by the target or stood for by its −1.
  const unclaimed = x.filter((d): d is string => typeof d === "string");
  let inputSize = 1;
  for (const d of x) if (typeof d === "number") inputSize *= d;
  let targetSize = 1;
  for (const d of target) {
    if (typeof d === "number") {
      if (d !== -1) targetSize *= d;
    } else {
      const k = unclaimed.indexOf(d);
      if (k < 0) throw new ShapeError(`${from}: "${d}" is not a symbolic size of the input (its symbols: ${symbolList(x)}).`, "shape");
      unclaimed.splice(k, 1);
    }
  }
  const inferred = target.indexOf(-1);
  if (inferred < 0) {
    if (unclaimed.length > 0) {
      throw new ShapeError(
        `${from}: the input's symbolic size "${unclaimed[0]}" has no axis in the new shape; name it (for example ["${unclaimed[0]}", -1]).`,
        "shape",
      );
    }
    if (inputSize !== targetSize) throw new ShapeError(`${from}: ${inputSize} elements cannot become ${targetSize}.`, "shape");
    return target;
  }
  if (inputSize % targetSize !== 0) {
    throw new ShapeError(`${from}: the other sizes multiply to ${targetSize}, which does not divide the input's ${inputSize} elements.`, "shape");
  }
  const quotient = inputSize / targetSize;
  let size: Dim;
  if (unclaimed.length === 0) size = quotient;
  else if (unclaimed.length === 1 && quotient === 1) size = unclaimed[0]!;
  else {
    throw new ShapeError(
      `${from}: -1 would have to stand for ${[...unclaimed.map((s) => `"${s}"`), ...(quotient > 1 ? [quotient] : [])].join(" × ")}, which is not one size; name the symbol in the new shape (for example ["${unclaimed[0]}", -1]).`,
      "shape",
    );
  }
  return target.map((d) => (d === -1 ? size : d));
}

function symbolList(x: Shape): string {
  const symbols = x.filter((d) => typeof d === "string");
  return symbols.length > 0 ? symbols.map((s) => `"${s}"`).join(", ") : "none";
}

/** A kernel that copies its input: the reshape-like ops move no value. */
export function copyKernel(n: number): Kernel {
  return ([x], out) => {
    for (let k = 0; k < n; k++) out[k] = x![k]!;
  };
}

/** A random factoring of `n` elements into up to 3 sizes, one of them now and then −1: a target any shape of n elements accepts. */
function drawTarget(n: number, draw: { int(min: number, max: number): number; bool(): boolean; pick<T>(items: readonly T[]): T }): (number | string)[] {
  const rank = draw.int(n === 1 ? 0 : 1, 3);
  const dims: number[] = [];
  let rest = n;
  for (let i = 0; i < rank - 1; i++) {
    const divisors = Array.from({ length: rest }, (_, k) => k + 1).filter((d) => rest % d === 0);
    const d = draw.pick(divisors);
    dims.push(d);
    rest /= d;
  }
  if (rank > 0) dims.push(rest);
  const minus = rank > 0 && draw.bool() ? draw.int(0, rank - 1) : -1;
  return dims.map((d, i) => (i === minus ? -1 : d));
}

export const reshape = defineOp({
  name: "reshape",
  // ONNX's Reshape takes 0 for "the input's size on this axis" and one -1: a symbol is one or the other.
  onnx: {
    export: (c) => {
      const x = c.inputShapes[0]!;
      const target = c.node.attrs.shape;
      const symbols = target.filter((d) => typeof d === "string").length;
      const dims = target.map((d, i) => {
        if (typeof d === "number") return d;
        if (x[i] === d) return 0;
        if (symbols === 1 && !target.includes(-1)) return -1;
        throw new ShapeError(
          `reshape to ${formatShape(target)} has no ONNX lowering: the symbol "${d}" must stay on its axis (${i}) of the input, or be the one size inferred.`,
          "shape",
        );
      });
      c.emit("Reshape", [c.inputs[0]!, c.constant(dims, "int64", [dims.length])], {}, c.output);
    },
  },
  summary: 'the same values under another shape (one size may be -1; "batch" kept symbolic)',
  inputs: ["x"],
  attrs: ReshapeAttrs,
  shape: ([x], { shape }) => reshapedShape(x!, shape),
  kernel: ({ outputShape }) => copyKernel(sizeOf(outputShape)),
  gradient: (g) => [g.emit("reshape", [g.dy], { shape: [...g.shapeOf(g.inputs[0]!)] })],
  check: { attrs: ([x], draw) => ({ shape: drawTarget(sizeOf(x!), draw) }) },
});
