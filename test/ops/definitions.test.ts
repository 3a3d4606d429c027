/** The new ops' definitions: registered, attributes validated, shape rules that refuse with reasons. */
import { describe, expect, it } from "vitest";
import { compileSchema } from "../../src/graph/schema-validator.js";
import { BUILTIN_OPS } from "../../src/ops/builtin.js";
import { attrValidator, getOp } from "../../src/ops/registry.js";
import { ShapeError } from "../../src/ops/op.js";

const NEW_OPS = [
  "mul",
  "sub",
  "neg",
  "sigmoid",
  "sigmoid_grad",
  "tanh",
  "tanh_grad",
  "softmax",
  "softmax_grad",
  "cross_entropy",
  "cross_entropy_grad",
  "softmax_cross_entropy",
  "softmax_cross_entropy_grad",
  "dropout",
];

describe("op definitions", () => {
  it("registers every new op, each forward op with a gradient rule", () => {
    const builtins = new Set(BUILTIN_OPS.map((op) => op.name));
    for (const name of NEW_OPS) {
      expect(builtins.has(name), name).toBe(true);
      expect(getOp(name)!.summary.length).toBeGreaterThan(0);
    }
    for (const name of ["mul", "sub", "neg", "sigmoid", "tanh", "softmax", "cross_entropy", "softmax_cross_entropy", "dropout"]) {
      expect(typeof getOp(name)!.gradient, name).toBe("function");
    }
    expect(getOp("softmax_cross_entropy_grad")!.formula).toBe("δ = (A − Y)/m");
  });

  it("compiles every built-in op's attribute schema (the registry compiles each on first use, not as it loads)", () => {
    for (const op of BUILTIN_OPS) expect(() => compileSchema(op.attrs), op.name).not.toThrow();
  });

  it("validates dropout's attributes: rate in [0, 1), an optional non-empty key, nothing else", () => {
    const validate = attrValidator("dropout")!;
    for (const ok of [{}, { rate: 0 }, { rate: 0.1 }, { rate: 0.999 }, { rate: 0.5, key: "layer1" }]) expect(validate(ok), JSON.stringify(ok)).toBeNull();
    for (const bad of [{ rate: 1 }, { rate: -0.1 }, { rate: "0.1" }, { key: "" }, { rate: 0.1, p: 0.1 }])
      expect(validate(bad), JSON.stringify(bad)).not.toBeNull();
    expect(attrValidator("softmax")!({ axis: 0 })).not.toBeNull();
  });

  it("infers shapes, symbolic batch included", () => {
    expect(getOp("mul")!.shape([["batch", 3], [3]], {})).toEqual(["batch", 3]);
    expect(
      getOp("sub")!.shape(
        [
          [4, 1],
          [1, 5],
        ],
        {},
      ),
    ).toEqual([4, 5]);
    expect(getOp("softmax")!.shape([["batch", 10]], {})).toEqual(["batch", 10]);
    expect(
      getOp("cross_entropy")!.shape(
        [
          ["batch", 10],
          ["batch", 10],
        ],
        {},
      ),
    ).toEqual([]);
    expect(getOp("softmax_cross_entropy_grad")!.shape([["batch", 10], ["batch", 10], []], {})).toEqual(["batch", 10]);
    expect(getOp("dropout")!.shape([["batch", 64]], { rate: 0.1 })).toEqual(["batch", 64]);
  });

  it("refuses shapes it cannot work on, saying what was expected", () => {
    const refuse = (op: string, shapes: (number | string)[][], message: RegExp) => {
      expect(() => getOp(op)!.shape(shapes, {})).toThrow(ShapeError);
      expect(() => getOp(op)!.shape(shapes, {})).toThrow(message);
    };
    refuse("mul", [[2, 3], [2]], /cannot be broadcast/);
    refuse("softmax", [[]], /at least one axis/);
    refuse(
      "softmax_grad",
      [
        [2, 3],
        [3, 2],
      ],
      /same shape/,
    );
    refuse(
      "cross_entropy",
      [
        ["batch", 10],
        ["batch", 9],
      ],
      /same shape/,
    );
    refuse("cross_entropy", [[10], [10]], /rank ≥ 2/);
    refuse("softmax_cross_entropy", [[10], [10]], /rank ≥ 2/);
    refuse("cross_entropy_grad", [[2, 3], [2, 3], [1]], /"dL" must be a scalar/);
    refuse("sigmoid_grad", [[2, 3], [3]], /same shape/);
  });
});
