/**
 * max_pool2d, avg_pool2d, global_avg_pool and their backward ops: the shape rule against the definition of
 * floor-mode pooling, the kernels against window sums and maxima written out here over an explicitly padded
 * image, the arg-max rule on ties, and gradient rules broken on purpose that the op checker must reject
 * (the right ones pass it in gradients.test.ts).
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { checkOp, formatOpFailure } from "../../src/check/op-check.js";
import { GraphError } from "../../src/graph/errors.js";
import type { Attrs, Graph, Shape } from "../../src/graph/ir.js";
import { inferShapes } from "../../src/graph-file/shapes.js";
import { ShapeError, type OpDefinition } from "../../src/ops/op.js";
import { getOp, registerOp } from "../../src/ops/registry.js";
import { dataFor, value } from "../support/arbitraries.js";
import { inputNode, node, product } from "../support/run.js";

/** Runs an op's kernel directly, in float64, on concrete inputs; the output's shape from its shape rule. */
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

interface Window {
  kh: number;
  kw: number;
  sh: number;
  sw: number;
  ph: number;
  pw: number;
}

/** Window attributes in the op's forms (single numbers where both axes agree, pairs otherwise, stride left out when it is the window). */
function attrsOf(w: Window): Attrs {
  const both = (a: number, b: number) => (a === b ? a : [a, b]);
  const attrs: Record<string, number | number[]> = { window: both(w.kh, w.kw) };
  if (w.sh !== w.kh || w.sw !== w.kw) attrs.stride = both(w.sh, w.sw);
  if (w.ph > 0 || w.pw > 0) attrs.padding = both(w.ph, w.pw);
  return attrs;
}

/** An input [n, c, h, w] and a window it accepts (2·padding ≤ window ≤ padded input). */
const pooledCase = fc
  .record({ n: fc.integer({ min: 1, max: 2 }), c: fc.integer({ min: 1, max: 3 }), h: fc.integer({ min: 1, max: 7 }), w: fc.integer({ min: 1, max: 7 }) })
  .chain((s) =>
    fc
      .record({
        kh: fc.integer({ min: 1, max: Math.min(5, 2 * s.h) }),
        kw: fc.integer({ min: 1, max: Math.min(5, 2 * s.w) }),
        sh: fc.integer({ min: 1, max: 3 }),
        sw: fc.integer({ min: 1, max: 3 }),
        ph: fc.integer({ min: 0, max: 2 }),
        pw: fc.integer({ min: 0, max: 2 }),
      })
      .filter((w) => 2 * w.ph <= w.kh && 2 * w.pw <= w.kw && w.kh <= s.h + 2 * w.ph && w.kw <= s.w + 2 * w.pw)
      .chain((w) => dataFor([s.n, s.c, s.h, s.w], value()).map((data) => ({ shape: [s.n, s.c, s.h, s.w], window: w, data }))),
  );

/**
 * Every window of the padded image, written out: for output (n, c, oy, ox), the list of [flat input index
 * or −1 for padding] in row-major order over the window. The output's size is the number of whole windows
 * that fit, counted by stepping, not by the floor formula.
 */
function windowsOf(shape: readonly number[], w: Window): { outH: number; outW: number; cells: number[][] } {
  const [n, c, h, wd] = shape as [number, number, number, number];
  let outH = 0;
  while (outH * w.sh + w.kh <= h + 2 * w.ph) outH++;
  let outW = 0;
  while (outW * w.sw + w.kw <= wd + 2 * w.pw) outW++;
  const cells: number[][] = [];
  for (let b = 0; b < n; b++)
    for (let ch = 0; ch < c; ch++)
      for (let oy = 0; oy < outH; oy++)
        for (let ox = 0; ox < outW; ox++) {
          const cell: number[] = [];
          for (let ky = 0; ky < w.kh; ky++)
            for (let kx = 0; kx < w.kw; kx++) {
              const y = oy * w.sh + ky - w.ph;
              const x = ox * w.sw + kx - w.pw;
              cell.push(y < 0 || y >= h || x < 0 || x >= wd ? -1 : ((b * c + ch) * h + y) * wd + x);
            }
          cells.push(cell);
        }
  return { outH, outW, cells };
}

describe("pooling shape rules", () => {
  const dimOrSymbol = fc.oneof(fc.integer({ min: 1, max: 5 }), fc.constantFrom("batch", "c"));

  it("give as many rows and columns as whole windows fit in the padded input, keeping N and C symbolic", () => {
    fc.assert(
      fc.property(
        dimOrSymbol,
        dimOrSymbol,
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 1, max: 12 }),
        fc.record({
          kh: fc.integer({ min: 1, max: 6 }),
          kw: fc.integer({ min: 1, max: 6 }),
          sh: fc.integer({ min: 1, max: 4 }),
          sw: fc.integer({ min: 1, max: 4 }),
          ph: fc.integer({ min: 0, max: 3 }),
          pw: fc.integer({ min: 0, max: 3 }),
        }),
        (n, c, h, wd, w) => {
          const accepted = 2 * w.ph <= w.kh && 2 * w.pw <= w.kw && w.kh <= h + 2 * w.ph && w.kw <= wd + 2 * w.pw;
          for (const op of ["max_pool2d", "avg_pool2d"]) {
            const rule = () => getOp(op)!.shape([[n, c, h, wd]], attrsOf(w));
            if (!accepted) {
              expect(rule).toThrow(ShapeError);
              continue;
            }
            const [outN, outC, outH, outW] = rule() as [unknown, unknown, number, number];
            expect([outN, outC]).toEqual([n, c]);
            // The last window lies inside the padded input, and one more would not.
            expect((outH - 1) * w.sh + w.kh).toBeLessThanOrEqual(h + 2 * w.ph);
            expect(outH * w.sh + w.kh).toBeGreaterThan(h + 2 * w.ph);
            expect((outW - 1) * w.sw + w.kw).toBeLessThanOrEqual(wd + 2 * w.pw);
            expect(outW * w.sw + w.kw).toBeGreaterThan(wd + 2 * w.pw);
          }
        },
      ),
      { numRuns: 500 },
    );
  });

  it("refuse a window larger than the padded input and padding over half the window, naming the field", () => {
    const refuse = (op: string, shape: Shape, attrs: Attrs, field: string, message: RegExp) => {
      let error: unknown;
      try {
        getOp(op)!.shape([shape], attrs);
      } catch (err) {
        error = err;
      }
      expect(error).toBeInstanceOf(ShapeError);
      expect((error as ShapeError).field).toBe(field);
      expect((error as Error).message).toMatch(message);
    };
    refuse("max_pool2d", [1, 1, 3, 3], { window: 4 }, "window", /the window \[4, 4\] is larger than the padded input \[3, 3\]/);
    refuse("avg_pool2d", [1, 1, 3, 8], { window: [6, 2], padding: [1, 0] }, "window", /larger than the padded input \[5, 8\]/);
    refuse("max_pool2d", [1, 1, 8, 8], { window: 3, padding: 2 }, "padding", /more than half the window/);
    refuse("max_pool2d", [1, 3, 8], { window: 2 }, "inputs", /\[N, C, H, W\] \(rank 4\)/);
    refuse("avg_pool2d", ["batch", 3, "h", 8], { window: 2 }, "inputs", /height and width of the input must be sizes/);
    refuse("global_avg_pool", ["batch", 16], {}, "inputs", /at least one spatial axis/);
  });

  it("in a graph, the error names the node and the attribute", () => {
    const graph: Graph = {
      name: "pool",
      nodes: [inputNode("x", ["batch", 1, 3, 3]), node("pool1", "max_pool2d", ["x"], { window: 2, stride: 1, padding: 2 })],
    };
    let error: unknown;
    try {
      inferShapes(graph);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(GraphError);
    expect((error as GraphError).location).toMatchObject({ nodeId: "pool1", field: "attrs.padding" });
    expect((error as Error).message).toContain("pool1");
  });

  it("global_avg_pool gives [N, C], and its gradient op puts back the spatial axes, symbols included", () => {
    expect(getOp("global_avg_pool")!.shape([["batch", 16, 7, 7]], {})).toEqual(["batch", 16]);
    expect(getOp("global_avg_pool_grad")!.shape([["batch", 16]], { spatial: [7, 7] })).toEqual(["batch", 16, 7, 7]);
    expect(getOp("global_avg_pool_grad")!.shape([["batch", 16]], { spatial: ["len"] })).toEqual(["batch", 16, "len"]);
  });
});

describe("pooling kernels against windows written out", () => {
  it("max_pool2d is the maximum over the window, the padding never winning", () => {
    fc.assert(
      fc.property(pooledCase, ({ shape, window, data }) => {
        const { outH, outW, cells } = windowsOf(shape, window);
        const out = runKernel("max_pool2d", attrsOf(window), [{ shape, data }]);
        expect(out.shape).toEqual([shape[0], shape[1], outH, outW]);
        // Compared as numbers: where −0 and 0 tie, the kernel keeps the first and Math.max prefers 0.
        const plus0 = (v: number) => v + 0;
        expect(out.data.map(plus0)).toEqual(cells.map((cell) => Math.max(...cell.filter((i) => i >= 0).map((i) => data[i]!))).map(plus0));
      }),
      { numRuns: 300 },
    );
  });

  it("avg_pool2d divides by the whole window (count_include_pad, the default) or by the elements it covers", () => {
    fc.assert(
      fc.property(pooledCase, fc.boolean(), ({ shape, window, data }, includePad) => {
        const { cells } = windowsOf(shape, window);
        const attrs = includePad ? attrsOf(window) : { ...attrsOf(window), count_include_pad: false };
        const out = runKernel("avg_pool2d", attrs, [{ shape, data }]);
        const expected = cells.map((cell) => {
          const inside = cell.filter((i) => i >= 0);
          const sum = inside.reduce((s, i) => s + data[i]!, 0);
          return sum / (includePad ? cell.length : inside.length);
        });
        out.data.forEach((v, k) => expect(v).toBeCloseTo(expected[k]!, 12));
      }),
      { numRuns: 300 },
    );
  });

  it("max_pool2d_grad adds each window's dy at the first maximum in row-major order, summing overlapping windows", () => {
    // Values from a few levels only, so that ties are everywhere.
    const tiedCase = pooledCase.chain((c) => dataFor(c.shape, fc.constantFrom(-1, 0, 2)).map((data) => ({ ...c, data })));
    fc.assert(
      fc.property(
        tiedCase.chain((c) => dataFor([windowsOf(c.shape, c.window).cells.length], value()).map((dy) => ({ ...c, dy }))),
        ({ shape, window, data, dy }) => {
          const { outH, outW, cells } = windowsOf(shape, window);
          const expected = new Array<number>(product(shape)).fill(0);
          cells.forEach((cell, o) => {
            let best = -1;
            for (const i of cell) if (i >= 0 && (best < 0 || data[i]! > data[best]!)) best = i;
            expected[best]! += dy[o]!;
          });
          const out = runKernel("max_pool2d_grad", attrsOf(window), [
            { shape: [shape[0]!, shape[1]!, outH, outW], data: dy },
            { shape, data },
          ]);
          expect(out.shape).toEqual(shape);
          out.data.forEach((v, k) => expect(v).toBeCloseTo(expected[k]!, 12));
        },
      ),
      { numRuns: 300 },
    );
  });

  it("on a tie, the first element of the window in row-major order gets the whole gradient", () => {
    // One 2×2 window over [[1, 3], [3, 2]]: the 3 at (0, 1) comes before the 3 at (1, 0).
    const x = { shape: [1, 1, 2, 2], data: [1, 3, 3, 2] };
    expect(runKernel("max_pool2d_grad", { window: 2 }, [{ shape: [1, 1, 1, 1], data: [5] }, x]).data).toEqual([0, 5, 0, 0]);
    // A window of equal values: the top-left one.
    expect(
      runKernel("max_pool2d_grad", { window: 2 }, [
        { shape: [1, 1, 1, 1], data: [5] },
        { shape: [1, 1, 2, 2], data: [4, 4, 4, 4] },
      ]).data,
    ).toEqual([5, 0, 0, 0]);
    // Overlapping windows (stride 1) over [[0, 7, 7]]: both windows pick the first 7, which collects both gradients.
    expect(
      runKernel("max_pool2d_grad", { window: [1, 2], stride: 1 }, [
        { shape: [1, 1, 1, 2], data: [1, 10] },
        { shape: [1, 1, 1, 3], data: [0, 7, 7] },
      ]).data,
    ).toEqual([0, 11, 0]);
    // A NaN wins (it propagates, as in PyTorch), and the padding never does, even against −∞.
    expect(runKernel("max_pool2d", { window: 2 }, [{ shape: [1, 1, 2, 2], data: [1, Number.NaN, 3, 2] }]).data).toEqual([Number.NaN]);
    expect(
      runKernel("max_pool2d_grad", { window: 2, padding: 1 }, [
        { shape: [1, 1, 2, 2], data: [1, 1, 1, 1] },
        { shape: [1, 1, 2, 2], data: [-Infinity, -Infinity, -Infinity, -Infinity] },
      ]).data,
    ).toEqual([1, 1, 1, 1]);
  });

  it("avg_pool2d_grad spreads each window's dy as the window's mean weighed its elements", () => {
    fc.assert(
      fc.property(
        pooledCase.chain((c) => fc.tuple(fc.constant(c), fc.boolean(), dataFor([windowsOf(c.shape, c.window).cells.length], value()))),
        ([{ shape, window }, includePad, dy]) => {
          const { outH, outW, cells } = windowsOf(shape, window);
          const expected = new Array<number>(product(shape)).fill(0);
          cells.forEach((cell, o) => {
            const inside = cell.filter((i) => i >= 0);
            for (const i of inside) expected[i]! += dy[o]! / (includePad ? cell.length : inside.length);
          });
          const attrs = { ...attrsOf(window), count_include_pad: includePad, input_size: [shape[2]!, shape[3]!] };
          const out = runKernel("avg_pool2d_grad", attrs, [{ shape: [shape[0]!, shape[1]!, outH, outW], data: dy }]);
          expect(out.shape).toEqual(shape);
          out.data.forEach((v, k) => expect(v).toBeCloseTo(expected[k]!, 12));
        },
      ),
      { numRuns: 300 },
    );
  });

  it("global_avg_pool is each channel's mean, and its gradient op δ / (H·W) everywhere in the channel", () => {
    fc.assert(
      fc.property(
        fc
          .tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 6 }))
          .chain((s) => fc.tuple(fc.constant(s), dataFor(s, value()), dataFor([s[0], s[1]], value()))),
        ([[n, c, h, w], data, dy]) => {
          const out = runKernel("global_avg_pool", {}, [{ shape: [n, c, h, w], data }]);
          expect(out.shape).toEqual([n, c]);
          for (let p = 0; p < n * c; p++) {
            const plane = data.slice(p * h * w, (p + 1) * h * w);
            expect(out.data[p]).toBeCloseTo(plane.reduce((s, v) => s + v, 0) / (h * w), 12);
          }
          const back = runKernel("global_avg_pool_grad", { spatial: [h, w] }, [{ shape: [n, c], data: dy }]);
          expect(back.shape).toEqual([n, c, h, w]);
          back.data.forEach((v, k) => expect(v).toBeCloseTo(dy[Math.floor(k / (h * w))]! / (h * w), 12));
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe("pooling gradients", () => {
  // The gradients themselves pass the op checker in test/ops/gradients.test.ts, with every built-in op.

  /** A copy of the op under another name, with a gradient rule broken on purpose: the checker must reject it. */
  function rejected(base: string, name: string, gradient: OpDefinition<any>["gradient"]) {
    const variant: OpDefinition<any> = { ...getOp(base)!, name, gradient };
    registerOp(variant, { replace: true });
    const report = checkOp(variant, { numRuns: 200 });
    expect(report.status, formatOpFailure(report)).toBe("fail");
    expect(report.failure!.kind).toBe("gradient");
    return report;
  }

  it("rejects max pooling's gradient spread evenly over the window instead of routed to the arg-max", () => {
    rejected("max_pool2d", "test_max_pool2d_spread", (g) => {
      const x = g.shapeOf(g.inputs[0]!);
      return [g.emit("avg_pool2d_grad", [g.dy], { ...g.node.attrs, input_size: [x[2] as number, x[3] as number] })];
    });
  });

  it("rejects average pooling's gradient divided the other way at the padded borders", () => {
    rejected("avg_pool2d", "test_avg_pool2d_pad_flipped", (g) => {
      const x = g.shapeOf(g.inputs[0]!);
      const includePad = (g.node.attrs.count_include_pad ?? true) as boolean;
      return [g.emit("avg_pool2d_grad", [g.dy], { ...g.node.attrs, count_include_pad: !includePad, input_size: [x[2] as number, x[3] as number] })];
    });
  });

  it("rejects global average pooling's gradient left undivided (a sum's gradient)", () => {
    rejected("global_avg_pool", "test_global_avg_pool_sum", (g) => {
      const x = g.shapeOf(g.inputs[0]!);
      const spread = g.emit("reshape", [g.dy], { shape: [x[0]!, x[1]!, ...x.slice(2).map(() => 1)] });
      return [g.emit("broadcast_to", [spread], { shape: [...x] })];
    });
  });
});
