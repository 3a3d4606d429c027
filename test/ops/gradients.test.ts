/**
 * Every built-in op's gradient rule, against a float64 central difference, on random shapes and values:
 * the op checker (src/check/op-check.ts, what `graphnet gradcheck` runs without a graph) drawing cases as
 * each op's own check hints say — broadcast patterns for add, sub and mul, all four transposes of matmul,
 * dropout in both modes, relu away from its kink, and so on. The op's output is weighted by random
 * numbers and summed, so that every element of its gradient matters (a plain sum of a softmax, for one,
 * would be constant).
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { checkGradients } from "../../src/check/gradcheck.js";
import { checkOp, formatOpFailure } from "../../src/check/op-check.js";
import type { Graph } from "../../src/graph/ir.js";
import { BUILTIN_OPS } from "../../src/ops/builtin.js";
import { shape, tensorOf } from "../support/arbitraries.js";
import { inputNode, node } from "../support/run.js";

/** More cases than the command's default for the ops with the most ways to go wrong. */
const RUNS: Record<string, number> = { add: 300, sub: 300, mul: 300, matmul: 300 };

describe("op gradients pass a float64 central-difference check", () => {
  const checked = BUILTIN_OPS.filter((op) => op.gradient !== undefined && op.role === undefined);

  it("covers every built-in op with a gradient rule", () => {
    expect(checked.map((op) => op.name).sort()).toEqual(
      [
        "add",
        "batch_norm",
        "broadcast_to",
        "conv2d",
        "cross_entropy",
        "dropout",
        "layer_norm",
        "matmul",
        "mul",
        "neg",
        "relu",
        "sigmoid",
        "softmax",
        "softmax_cross_entropy",
        "sub",
        "sum_to",
        "tanh",
        // Pooling and the shape ops (issue 13).
        "max_pool2d",
        "avg_pool2d",
        "global_avg_pool",
        "reshape",
        "flatten",
        "transpose",
        "concat",
        "slice",
        "sum",
        "mean",
        "exp",
        "log",
        "div",
        "sqrt",
        "abs",
        "sign",
        "pow",
        "maximum",
        "minimum",
        "leaky_relu",
        "gelu",
        "softplus",
        "log_softmax",
      ].sort(),
    );
  });

  it.each(checked.map((op) => [op.name, op] as const))("%s, on random cases drawn as its check hints say", (_name, op) => {
    const report = checkOp(op, { numRuns: RUNS[op.name] ?? 200 });
    expect(report.status, formatOpFailure(report)).toBe("pass");
    expect(report.cases).toBe(RUNS[op.name] ?? 200);
  });

  it("mul of a value by itself (both gradients summed into one)", () => {
    // A node reading one input twice: its two contributions must be summed.
    fc.assert(
      fc.property(tensorOf(shape(0, 3)), (x) => {
        const graph: Graph = {
          name: "square",
          nodes: [inputNode("x", x.shape), node("y", "mul", ["x", "x"]), node("loss", "sum_to", ["y"], { shape: [] })],
          loss: "loss",
        };
        const report = checkGradients(graph, { wrt: ["x"], feeds: { x: x.data }, sizes: {}, maxChecksPerValue: Infinity });
        expect(report.pass).toBe(true);
      }),
      { numRuns: 100 },
    );
  });
});
