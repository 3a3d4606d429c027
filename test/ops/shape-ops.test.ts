/**
 * reshape, flatten, transpose, concat and slice: shape rules on random shapes with symbolic sizes, the
 * kernels against index arithmetic written out here, clear refusals, and gradient rules broken on purpose
 * that the op checker must reject (the right ones pass it in gradients.test.ts).
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { differentiate } from "../../src/autodiff/differentiate.js";
import { checkOp, formatOpFailure } from "../../src/check/op-check.js";
import { GraphError } from "../../src/graph/errors.js";
import type { Attrs, Graph, Shape } from "../../src/graph/ir.js";
import { inferShapes } from "../../src/graph-file/shapes.js";
import { ShapeError, type OpDefinition } from "../../src/ops/op.js";
import { getOp, registerOp } from "../../src/ops/registry.js";
import { dataFor, shape as shapeArb, value } from "../support/arbitraries.js";
import { indices, inputNode, node, product, strides } from "../support/run.js";

function runKernel(name: string, attrs: Attrs, inputs: readonly { shape: number[]; data: readonly number[] }[]): { shape: number[]; data: number[] } {
  const op = getOp(name)!;
  const shape = op.shape(
    inputs.map((x) => x.shape),
    attrs,
  ) as number[];
  const kernel = op.kernel({ nodeId: "y", attrs, inputShapes: inputs.map((x) => x.shape), outputShape: shape });
  const out = new Float64Array(product(shape)).fill(Number.NaN);
  kernel(
    inputs.map((x) => Float64Array.from(x.data)),
    out,
    { training: true, seed: 0, step: 0 },
  );
  return { shape, data: Array.from(out) };
}

/** The ShapeError the op's rule throws for these shapes and attributes. */
function refusal(op: string, shapes: Shape[], attrs: Attrs): ShapeError {
  try {
    getOp(op)!.shape(shapes, attrs);
  } catch (err) {
    if (err instanceof ShapeError) return err;
    throw err;
  }
  throw new Error(`${op} accepted ${JSON.stringify(shapes)} with ${JSON.stringify(attrs)}`);
}

/** A shape of up to 4 sizes with "batch" somewhere in it now and then. */
const withBatch = fc
  .tuple(shapeArb(0, 4), fc.option(fc.nat(), { nil: undefined }))
  .map(([dims, at]) =>
    at === undefined ? (dims as (number | string)[]) : [...dims.slice(0, at % (dims.length + 1)), "batch", ...dims.slice(at % (dims.length + 1))],
  );

const numericOf = (s: readonly (number | string)[]) => product(s.filter((d): d is number => typeof d === "number"));

describe("reshape's shape rule", () => {
  it('keeps the element count, resolves -1, and keeps "batch" where the target names it or -1 stands for it alone', () => {
    fc.assert(
      fc.property(withBatch, fc.array(fc.integer({ min: 1, max: 4 }), { maxLength: 3 }), fc.nat(), fc.boolean(), (x, extra, at, minus) => {
        // A target built from x's sizes regrouped: its numeric sizes are x's, merged pairwise now and then, then extra 1s.
        const sizes = x.filter((d): d is number => typeof d === "number");
        const merged = sizes.length >= 2 && at % 2 === 0 ? [sizes[0]! * sizes[1]!, ...sizes.slice(2)] : sizes;
        const target: (number | string)[] = [...merged, ...extra.map(() => 1)];
        const hasBatch = x.includes("batch");
        if (hasBatch) target.splice(at % (target.length + 1), 0, "batch");
        if (minus && target.length > 0) {
          const k = at % target.length;
          const expected = [...target];
          target[k] = -1;
          expect(getOp("reshape")!.shape([x], { shape: target })).toEqual(expected);
        } else {
          expect(getOp("reshape")!.shape([x], { shape: target })).toEqual(target);
        }
        // -1 alone stands for everything only when nothing is symbolic.
        if (hasBatch && numericOf(x) > 1) expect(refusal("reshape", [x], { shape: [-1] }).field).toBe("shape");
        if (!hasBatch) expect(getOp("reshape")!.shape([x], { shape: [-1] })).toEqual([numericOf(x)]);
      }),
      { numRuns: 500 },
    );
  });

  it("keeps the batch symbolic: flattening each item and back", () => {
    const rule = (x: Shape, target: (number | string)[]) => getOp("reshape")!.shape([x], { shape: target });
    expect(rule(["batch", 16, 7, 7], ["batch", -1])).toEqual(["batch", 784]);
    expect(rule(["batch", 784], [-1, 1, 28, 28])).toEqual(["batch", 1, 28, 28]);
    expect(rule(["batch", 784], ["batch", 28, 28])).toEqual(["batch", 28, 28]);
  });

  it("refuses sizes that do not divide, two -1s, symbols lost or invented, naming the field and the shapes", () => {
    const refuse = (x: Shape, target: (number | string)[], message: RegExp) => {
      const err = refusal("reshape", [x], { shape: target });
      expect(err.field).toBe("shape");
      expect(err.message).toMatch(message);
    };
    refuse([6, 5], [4, -1], /cannot reshape \[6, 5\] to \[4, -1\]: the other sizes multiply to 4, which does not divide the input's 30 elements/);
    refuse([6, 5], [4, 8], /30 elements cannot become 32/);
    refuse([6, 5], [-1, -1], /at most one size may be -1/);
    refuse(["batch", 784], [392, -1], /-1 would have to stand for "batch" × 2/);
    refuse(["batch", 784], [-1], /-1 would have to stand for "batch" × 784/);
    refuse(["batch", 784], [784], /"batch" has no axis in the new shape/);
    refuse([2, 392], ["batch", -1], /"batch" is not a symbolic size of the input \(its symbols: none\)/);
  });

  it("in a graph, the error names the node and attrs.shape", () => {
    const graph: Graph = { name: "r", nodes: [inputNode("x", ["batch", 10]), node("to_grid", "reshape", ["x"], { shape: ["batch", 3, -1] })] };
    let error: unknown;
    try {
      inferShapes(graph);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(GraphError);
    expect((error as GraphError).location).toMatchObject({ nodeId: "to_grid", field: "attrs.shape" });
    expect((error as Error).message).toMatch(/does not divide the input's 10 elements/);
  });
});

describe("flatten's shape rule", () => {
  it("merges the axes before and after `axis`, keeping a lone symbol symbolic", () => {
    fc.assert(
      fc.property(shapeArb(1, 4), fc.nat(), (dims, k) => {
        const axis = k % (dims.length + 1);
        expect(getOp("flatten")!.shape([dims], { axis })).toEqual([product(dims.slice(0, axis)), product(dims.slice(axis))]);
        if (axis < dims.length)
          expect(getOp("flatten")!.shape([dims], { axis: axis - dims.length })).toEqual([product(dims.slice(0, axis)), product(dims.slice(axis))]);
        // The batch in front, flattened at the default axis 1.
        expect(getOp("flatten")!.shape([["batch", ...dims]], {})).toEqual(["batch", product(dims)]);
      }),
      { numRuns: 300 },
    );
    expect(getOp("flatten")!.shape([["batch", 16, 7, 7]], {})).toEqual(["batch", 784]);
    expect(getOp("flatten")!.shape([["batch", 1, 1]], { axis: 0 })).toEqual([1, "batch"]);
  });

  it("refuses an axis past the rank and a symbol merged with other sizes", () => {
    expect(refusal("flatten", [[2, 3]], { axis: 3 }).field).toBe("axis");
    expect(refusal("flatten", [["batch", 16, 7, 7]], { axis: 2 }).message).toMatch(/would merge the symbolic size "batch" with others/);
  });
});

describe("transpose", () => {
  const permutationOf = (rank: number) =>
    fc
      .array(fc.nat(), { minLength: rank, maxLength: rank })
      .map((keys) => Array.from({ length: rank }, (_, i) => i).sort((a, b) => keys[a]! - keys[b]! || a - b));

  it("moves input axis perm[i] to output axis i, symbols included; the inverse permutation brings the shape back", () => {
    fc.assert(
      fc.property(
        withBatch.chain((x) => fc.tuple(fc.constant(x), permutationOf(x.length))),
        ([x, perm]) => {
          const y = getOp("transpose")!.shape([x], { perm });
          expect(y).toEqual(perm.map((a) => x[a]));
          const inverse = perm.map((_, i) => perm.indexOf(i));
          expect(getOp("transpose")!.shape([y], { perm: inverse })).toEqual(x);
          expect(getOp("transpose")!.shape([x], {})).toEqual([...x].reverse());
        },
      ),
      { numRuns: 300 },
    );
  });

  it("its kernel reads output element (i₀ … iₖ) from input element with i_d on axis perm[d]", () => {
    fc.assert(
      fc.property(
        shapeArb(0, 4).chain((s) => fc.tuple(fc.constant(s), permutationOf(s.length), dataFor(s, value()))),
        ([s, perm, data]) => {
          const out = runKernel("transpose", { perm }, [{ shape: s, data }]);
          const xs = strides(s);
          const expected = [...indices(out.shape)].map((index) => data[index.reduce((at, i, d) => at + i * xs[perm[d]!]!, 0)]!);
          expect(out.data).toEqual(expected);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("refuses what is not a permutation of the input's axes", () => {
    expect(refusal("transpose", [[2, 3, 4]], { perm: [0, 0, 1] }).message).toMatch(/perm \[0, 0, 1\] is not a permutation of the 3 axes/);
    expect(refusal("transpose", [[2, 3, 4]], { perm: [1, 0] }).field).toBe("perm");
    expect(refusal("transpose", [[2, 3]], { perm: [0, 2] }).field).toBe("perm");
  });
});

describe("concat and slice", () => {
  it("concat's shape adds the joined axis and keeps the others, symbols included", () => {
    fc.assert(
      fc.property(withBatch, fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 5 }), fc.nat(), (rest, da, db, k) => {
        const axis = k % (rest.length + 1);
        const a = [...rest.slice(0, axis), da, ...rest.slice(axis)];
        const b = [...rest.slice(0, axis), db, ...rest.slice(axis)];
        expect(getOp("concat")!.shape([a, b], { axis })).toEqual([...rest.slice(0, axis), da + db, ...rest.slice(axis)]);
        expect(getOp("concat")!.shape([a, b], { axis: axis - a.length })).toEqual([...rest.slice(0, axis), da + db, ...rest.slice(axis)]);
      }),
      { numRuns: 300 },
    );
    expect(
      getOp("concat")!.shape(
        [
          ["batch", 16, 7, 7],
          ["batch", 8, 7, 7],
        ],
        { axis: 1 },
      ),
    ).toEqual(["batch", 24, 7, 7]);
  });

  it("concat refuses differing ranks, a differing other axis, and joining along a symbol", () => {
    expect(refusal("concat", [[2, 3], [2]], {}).message).toMatch(/same rank/);
    expect(
      refusal(
        "concat",
        [
          [2, 3],
          [2, 4],
        ],
        { axis: 0 },
      ).message,
    ).toMatch(/differ on axis 1; only the joined axis 0 may differ/);
    expect(
      refusal(
        "concat",
        [
          ["batch", 3],
          ["batch", 3],
        ],
        { axis: 0 },
      ).field,
    ).toBe("axis");
    expect(
      refusal(
        "concat",
        [
          [2, 3],
          [2, 3],
        ],
        { axis: 2 },
      ).field,
    ).toBe("axis");
  });

  it("concat's kernel puts a's block then b's block along the axis, for every index before it", () => {
    fc.assert(
      fc.property(
        fc.tuple(shapeArb(0, 3), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 4 }), fc.nat()).chain(([rest, da, db, k]) => {
          const axis = k % (rest.length + 1);
          const a = [...rest.slice(0, axis), da, ...rest.slice(axis)];
          const b = [...rest.slice(0, axis), db, ...rest.slice(axis)];
          return fc.tuple(fc.constant({ a, b, axis }), dataFor(a, value()), dataFor(b, value()));
        }),
        ([{ a, b, axis }, xa, xb]) => {
          const out = runKernel("concat", { axis }, [
            { shape: a, data: xa },
            { shape: b, data: xb },
          ]);
          const [sa, sb] = [strides(a), strides(b)];
          const expected = [...indices(out.shape)].map((index) => {
            const i = index[axis]!;
            if (i < a[axis]!) return xa[index.reduce((at, v, d) => at + v * sa[d]!, 0)]!;
            return xb[index.reduce((at, v, d) => at + (d === axis ? v - a[axis]! : v) * sb[d]!, 0)]!;
          });
          expect(out.data).toEqual(expected);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("slice keeps [start, end) of its axis, and slice_grad puts dy back there among zeros", () => {
    fc.assert(
      fc.property(
        shapeArb(1, 4).chain((s) =>
          fc.nat({ max: s.length - 1 }).chain((axis) =>
            fc
              .tuple(fc.nat({ max: s[axis]! - 1 }), fc.nat({ max: s[axis]! - 1 }))
              .map(([p, q]) => ({ s, axis, start: Math.min(p, q), end: Math.max(p, q) + 1 }))
              .chain((c) => fc.tuple(fc.constant(c), dataFor(c.s, value()))),
          ),
        ),
        ([{ s, axis, start, end }, data]) => {
          const out = runKernel("slice", { axis, start, end }, [{ shape: s, data }]);
          const xs = strides(s);
          expect(out.shape).toEqual(s.map((d, i) => (i === axis ? end - start : d)));
          expect(out.data).toEqual([...indices(out.shape)].map((index) => data[index.reduce((at, v, d) => at + (d === axis ? v + start : v) * xs[d]!, 0)]!));
          const back = runKernel("slice_grad", { axis, start, size: s[axis]! }, [{ shape: out.shape, data: out.data }]);
          expect(back.shape).toEqual(s);
          expect(back.data).toEqual([...indices(s)].map((index, k) => (index[axis]! >= start && index[axis]! < end ? data[k]! : 0)));
        },
      ),
      { numRuns: 300 },
    );
  });

  it("slice refuses bounds outside the axis, an empty range and a symbolic axis", () => {
    expect(refusal("slice", [[4, 3]], { axis: 0, start: 1, end: 5 }).field).toBe("end");
    expect(refusal("slice", [[4, 3]], { axis: 1, start: 2, end: 2 }).field).toBe("start");
    expect(refusal("slice", [[4, 3]], { axis: 2, start: 0, end: 1 }).field).toBe("axis");
    expect(refusal("slice", [["batch", 3]], { axis: 0, start: 0, end: 1 }).message).toMatch(/symbolic size "batch"/);
  });
});

describe("gradients of the shape ops", () => {
  it("flatten's gradient is a reshape back to the input's shape, batch kept symbolic", () => {
    const graph: Graph = {
      name: "f",
      nodes: [inputNode("x", ["batch", 2, 3, 3]), node("flat", "flatten", ["x"]), node("loss", "sum_to", ["flat"], { shape: [] })],
      loss: "loss",
    };
    const backward = differentiate(graph, { wrt: ["x"] });
    const dx = backward.nodes.find((n) => n.id === backward.gradients!.x)!;
    expect(dx.op).toBe("reshape");
    expect(dx.attrs).toEqual({ shape: ["batch", 2, 3, 3] });
  });

  /** A copy of the op under another name, with a gradient rule broken on purpose: the checker must reject it. */
  function rejected(base: string | OpDefinition<any>, name: string, gradient: OpDefinition<any>["gradient"]) {
    const variant: OpDefinition<any> = { ...(typeof base === "string" ? getOp(base)! : base), name, gradient };
    registerOp(variant, { replace: true });
    const report = checkOp(variant, { numRuns: 200 });
    expect(report.status, formatOpFailure(report)).toBe("fail");
    return report.failure!;
  }

  /** dy reversed along its axes, then reshaped to x: the right count of values in the wrong places. */
  const scrambledBack = (g: Parameters<NonNullable<OpDefinition<any>["gradient"]>>[0]) => [
    g.emit("reshape", [g.emit("transpose", [g.dy])], { shape: [...g.shapeOf(g.inputs[0]!)] }),
  ];

  it("rejects reshape's and flatten's gradients with dy's axes reversed before the reshape back", () => {
    // On one small shape each: the checker's shrinking of random shapes costs seconds here and shows nothing more.
    const reshape = { ...getOp("reshape")!, check: { shapes: [[2, 3]], attrs: [{ shape: [3, 2] }] } };
    const flatten = { ...getOp("flatten")!, check: { shapes: [[2, 3, 2]] } };
    expect(rejected(reshape, "test_reshape_scrambled", scrambledBack).kind).toBe("gradient");
    expect(rejected(flatten, "test_flatten_scrambled", scrambledBack).kind).toBe("gradient");
  });

  it("rejects transpose's gradient by the permutation itself rather than its inverse", () => {
    const wrong = (g: Parameters<NonNullable<OpDefinition<any>["gradient"]>>[0]) => [
      g.emit("transpose", [g.dy], g.node.attrs.perm ? { perm: g.node.attrs.perm } : {}),
    ];
    // A cycle of three axes of different sizes gives dy's transpose a shape other than x's: the rule cannot build its nodes.
    expect(rejected("transpose", "test_transpose_not_inverted", wrong).kind).toMatch(/^gradient( rule)?$/);
    // Of equal sizes, the shapes agree and the values land in the wrong places: a wrong gradient.
    const cube = { ...getOp("transpose")!, check: { shapes: [["n", "n", "n"]], attrs: [{ perm: [1, 2, 0] }] } };
    expect(rejected(cube, "test_transpose_not_inverted_cube", wrong).kind).toBe("gradient");
  });

  it("rejects concat's gradient taking a's slice from the far end of dy", () => {
    expect(
      rejected("concat", "test_concat_swapped", (g) => {
        const a = g.shapeOf(g.inputs[0]!);
        const b = g.shapeOf(g.inputs[1]!);
        const k = ((g.node.attrs.axis ?? 0) + a.length) % a.length;
        const [da, db] = [a[k] as number, b[k] as number];
        return [g.emit("slice", [g.dy], { axis: k, start: db, end: db + da }), g.emit("slice", [g.dy], { axis: k, start: da, end: da + db })];
      }).kind,
    ).toBe("gradient");
  });

  it("rejects slice's gradient put back at the start of the axis", () => {
    expect(
      rejected("slice", "test_slice_at_zero", (g) => {
        const x = g.shapeOf(g.inputs[0]!);
        const axis = (g.node.attrs.axis + x.length) % x.length;
        return [g.emit("slice_grad", [g.dy], { axis, start: 0, size: x[axis] as number })];
      }).kind,
    ).toBe("gradient");
  });
});
