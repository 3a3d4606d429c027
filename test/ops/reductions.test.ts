/**
 * sum and mean over axes: the shape rule on random shapes and axes (symbolic dims kept where not reduced,
 * bad axes refused naming the field), the kernels against a naive nested-loop formula, float64
 * accumulation in a float32 plan, the mean of a symbolic batch dividing by the batch fed, and gradients
 * that checkOp passes — while the same ops with a wrong gradient are rejected.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { differentiate } from "../../src/autodiff/differentiate.js";
import { checkOp, formatOpFailure } from "../../src/check/op-check.js";
import { inferShapes } from "../../src/graph-file/shapes.js";
import { GraphError } from "../../src/graph/errors.js";
import type { Graph, Shape } from "../../src/graph/ir.js";
import { ShapeError, type OpDefinition } from "../../src/ops/op.js";
import { getOp, registerOp } from "../../src/ops/registry.js";
import { dataFor, shape } from "../support/arbitraries.js";
import { indices, inputNode, node, run, runOp } from "../support/run.js";

const sum = getOp("sum")!;
const mean = getOp("mean")!;

/** A shape of rank 0–4 whose dims are sizes or symbols, and a valid axes attribute for it (or none). */
const shapeAndAxes = fc.array(fc.oneof(fc.integer({ min: 1, max: 9 }), fc.constantFrom("batch", "n")), { maxLength: 4 }).chain((x) =>
  fc.record({
    x: fc.constant(x as Shape),
    axes: fc.option(
      fc
        .subarray(x.map((_, i) => i))
        .chain((axes) =>
          fc.tuple(...axes.map((a) => fc.constantFrom(a, a - x.length))).chain((signed) => fc.shuffledSubarray(signed, { minLength: signed.length })),
        ),
      { nil: undefined },
    ),
    keepdims: fc.option(fc.boolean(), { nil: undefined }),
  }),
);

describe("sum and mean: the shape rule", () => {
  it("drops each reduced axis (sets it to 1 with keepdims) and keeps the others as they are, symbols too", () => {
    fc.assert(
      fc.property(shapeAndAxes, ({ x, axes, keepdims }) => {
        const attrs = { ...(axes ? { axes } : {}), ...(keepdims !== undefined ? { keepdims } : {}) };
        const reduced = new Set((axes ?? x.map((_, i) => i)).map((a) => (a < 0 ? a + x.length : a)));
        const expected = keepdims ? x.map((d, i) => (reduced.has(i) ? 1 : d)) : x.filter((_, i) => !reduced.has(i));
        expect(sum.shape([x], attrs)).toEqual(expected);
        expect(mean.shape([x], attrs)).toEqual(expected);
      }),
      { numRuns: 300 },
    );
  });

  it("reduces every axis by default, none with axes []", () => {
    expect(sum.shape([["batch", 3, 4]], {})).toEqual([]);
    expect(sum.shape([["batch", 3, 4]], { keepdims: true })).toEqual([1, 1, 1]);
    expect(mean.shape([["batch", 3, 4]], { axes: [] })).toEqual(["batch", 3, 4]);
    expect(mean.shape([["batch", 3, 4]], { axes: [-1] })).toEqual(["batch", 3]);
    expect(mean.shape([[]], {})).toEqual([]);
  });

  it("refuses an axis out of range or named twice, with field axes", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 5 }), { maxLength: 4 }), fc.integer({ min: 0, max: 3 }), (x, beyond) => {
        for (const axis of [x.length + beyond, -x.length - 1 - beyond]) {
          const err = catchShapeError(() => sum.shape([x], { axes: [axis] }));
          expect(err.field).toBe("axes");
          expect(err.message).toContain(`axis ${axis} is out of range for an input of rank ${x.length}`);
        }
        if (x.length > 0) {
          const err = catchShapeError(() => mean.shape([x], { axes: [0, -x.length] }));
          expect(err.field).toBe("axes");
          expect(err.message).toBe(`axis 0 is given twice (as 0 and ${-x.length}).`);
        }
      }),
      { numRuns: 100 },
    );
  });

  it("names the node and the field in a graph", () => {
    const graph: Graph = { name: "bad", nodes: [inputNode("x", ["batch", 10]), node("s", "sum", ["x"], { axes: [2] })] };
    expect(() => inferShapes(graph)).toThrow(GraphError);
    try {
      inferShapes(graph);
    } catch (err) {
      expect((err as GraphError).location).toMatchObject({ nodeId: "s", field: "attrs.axes" });
      expect((err as GraphError).message).toMatch(/axis 2 is out of range for an input of rank 2: the axes are 0 … 1, or −2 … −1/);
    }
  });
});

function catchShapeError(f: () => unknown): ShapeError {
  try {
    f();
  } catch (err) {
    expect(err).toBeInstanceOf(ShapeError);
    return err as ShapeError;
  }
  throw new Error("no ShapeError thrown");
}

/** The naive formula: for each output index, loop over every input index that maps to it. */
function naiveReduce(x: { shape: number[]; data: number[] }, axes: number[], kind: "sum" | "mean"): number[] {
  const keptShape = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
  const out: number[] = [];
  for (const o of indices(keptShape)) {
    let s = 0;
    let count = 0;
    for (const i of indices(x.shape)) {
      if (!i.every((c, d) => axes.includes(d) || c === o[d])) continue;
      let flat = 0;
      for (let d = 0; d < i.length; d++) flat = flat * x.shape[d]! + i[d]!;
      s += x.data[flat]!;
      count++;
    }
    out.push(kind === "sum" ? s : s / count);
  }
  return out;
}

describe("sum and mean: the kernels", () => {
  it("agree with the naive formula on random shapes and axes", () => {
    const cases = shape(0, 4).chain((s) =>
      fc.record({
        shape: fc.constant(s),
        data: dataFor(s),
        axes: fc.subarray(s.map((_, i) => i)),
        keepdims: fc.boolean(),
        kind: fc.constantFrom("sum" as const, "mean" as const),
      }),
    );
    fc.assert(
      fc.property(cases, ({ shape: s, data, axes, keepdims, kind }) => {
        const out = runOp(kind, [{ shape: s, data }], { attrs: { axes, keepdims } });
        const expected = naiveReduce({ shape: s, data }, axes, kind);
        expect(out.length).toBe(expected.length);
        expected.forEach((v, k) => expect(out[k]).toBeCloseTo(v, 12));
      }),
      { numRuns: 200 },
    );
  });

  it("accumulate in float64 in a float32 plan: 1e8 + 1 − 1e8 + 1 is 2, as each term is exactly a float32", () => {
    const data = [1e8, 1, -1e8, 1];
    expect(Array.from(runOp("sum", [{ shape: [4], data }], { dtype: "float32" }))).toEqual([2]);
    expect(Array.from(runOp("mean", [{ shape: [2, 2], data }], { dtype: "float32", attrs: { axes: [0, 1] } }))).toEqual([0.5]);
  });

  it("follow IEEE: a NaN or ±∞ term gives the plain sum's value", () => {
    expect(Array.from(runOp("sum", [{ shape: [2, 2], data: [1, Infinity, NaN, 2] }], { attrs: { axes: [1] } }))).toEqual([Infinity, NaN]);
    expect(Array.from(runOp("mean", [{ shape: [3], data: [Infinity, -Infinity, 1] }]))).toEqual([NaN]);
  });

  it("the mean over a symbolic batch divides by the batch fed, and so does its gradient", () => {
    const graph: Graph = {
      name: "mean over batch",
      nodes: [inputNode("x", ["batch", 3]), node("m", "mean", ["x"], { axes: [0] }), node("loss", "sum", ["m"])],
      loss: "loss",
    };
    const backward = differentiate(graph, { wrt: ["x"] });
    for (const batch of [1, 4, 7]) {
      const x = Array.from({ length: batch * 3 }, (_, k) => k);
      const out = run(backward, { outputs: ["m", "loss", "grad/x"], feeds: { x }, sizes: { batch } });
      expect(Array.from(out.m!)).toEqual(naiveReduce({ shape: [batch, 3], data: x }, [0], "mean"));
      expect(Array.from(out["grad/x"]!)).toEqual(new Array(batch * 3).fill(1 / batch));
    }
    expect(backward.nodes.find((n) => n.id === "grad/x")).toMatchObject({ op: "mean_grad", attrs: { shape: ["batch", 3], axes: [0], keepdims: false } });
  });
});

describe("sum and mean: gradients", () => {
  it.each([
    ["sum", sum],
    ["mean", mean],
  ])("%s passes checkOp on 300 random shapes and axes", (_name, op) => {
    const report = checkOp(op, { numRuns: 300 });
    expect(report.status, formatOpFailure(report)).toBe("pass");
  });

  /** The op under another name with another gradient rule: checkOp must reject it. */
  function wrongVariant(op: OpDefinition<any>, name: string, gradient: OpDefinition<any>["gradient"]): OpDefinition<any> {
    const def = { ...op, name, gradient };
    registerOp(def, { replace: true });
    return def;
  }

  it.each([
    // sum spread back as a mean: off by the count wherever more than one element is summed.
    ["sum", "sum_grad_as_mean", "mean_grad"],
    // mean spread back as a sum: the division by the count forgotten.
    ["mean", "mean_grad_as_sum", "sum_grad"],
  ])("%s with a wrong gradient (%s) is rejected", (forward, name, backwardOp) => {
    const op = forward === "sum" ? sum : mean;
    const wrong = wrongVariant(op, name, (g) => {
      const x = g.shapeOf(g.inputs[0]!);
      const axes = g.node.attrs.axes === undefined ? x.map((_, i) => i) : g.node.attrs.axes.map((a: number) => (a < 0 ? a + x.length : a)).sort();
      return [g.emit(backwardOp, [g.dy], { shape: [...x], axes, keepdims: g.node.attrs.keepdims ?? false })];
    });
    const report = checkOp(wrong);
    expect(report.status).toBe("fail");
    expect(report.failure!.kind).toBe("gradient");
  });

  it("a gradient ignoring keepdims cannot even be built: its backward op refuses dy's shape", () => {
    const wrong = wrongVariant(sum, "sum_grad_without_keepdims", (g) => {
      const x = g.shapeOf(g.inputs[0]!);
      return [g.emit("sum_grad", [g.dy], { shape: [...x], axes: x.map((_, i) => i), keepdims: false })];
    });
    const report = checkOp(wrong);
    expect(report.status).toBe("fail");
    expect(report.failure!.kind).toBe("gradient rule");
  });
});
