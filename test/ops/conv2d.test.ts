/**
 * conv2d and the two ops of its gradient, against a naive convolution written here from the definition:
 * the input copied into an explicitly zero-padded array, then every output element summed tap by tap
 * with bounds that need no thought. The kernels' tap ranges, the "same" padding and the output sizes are
 * all checked against it, on a hand-computed case and on random strides, paddings, dilations and odd
 * sizes; the gradient by the op checker (its own hints, plus gradients.test.ts), and two wrong gradient
 * rules it must reject; a bias added by the broadcasting `add`; and the errors a graph file can meet.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { differentiate } from "../../src/autodiff/differentiate.js";
import { checkGradients } from "../../src/check/gradcheck.js";
import { checkOp, formatOpFailure } from "../../src/check/op-check.js";
import { parseGraph } from "../../src/graph-file/load.js";
import { inferShapes } from "../../src/graph-file/shapes.js";
import type { Graph, Shape } from "../../src/graph/ir.js";
import { conv2d, conv2dGradFilter, conv2dGradInput } from "../../src/ops/conv2d.js";
import { ShapeError, formulaOf, type OpDefinition } from "../../src/ops/op.js";
import { getOp, registerOp } from "../../src/ops/registry.js";
import { inputNode, node, product } from "../support/run.js";

type Pair = number | [number, number];
type Padding = Pair | "same" | "valid";
interface Window {
  stride?: Pair;
  padding?: Padding;
  dilation?: Pair;
}

const axis = (v: Pair | undefined, i: number, fallback: number) => (v === undefined ? fallback : typeof v === "number" ? v : v[i]!);

/** Padding [before, after] of one axis, and the output size, as TensorFlow and PyTorch define them. */
function expectedAxis(size: number, kernel: number, i: number, win: Window): { before: number; after: number; out: number } | "too large" {
  const s = axis(win.stride, i, 1);
  const d = axis(win.dilation, i, 1);
  const span = d * (kernel - 1) + 1;
  let before = 0;
  let after = 0;
  if (win.padding === "same") {
    // TensorFlow's rule: ⌈size / s⌉ outputs, the odd padding element at the end.
    const total = Math.max(0, (Math.ceil(size / s) - 1) * s + span - size);
    before = Math.floor(total / 2);
    after = total - before;
  } else if (win.padding !== undefined && win.padding !== "valid") {
    before = after = axis(win.padding, i, 0);
  }
  if (size + before + after < span) return "too large";
  return { before, after, out: Math.floor((size + before + after - span) / s) + 1 };
}

interface Case {
  n: number;
  c: number;
  f: number;
  h: number;
  w: number;
  kh: number;
  kw: number;
  win: Window;
}

/** The sizes and paddings a case must have, or "too large" when the kernel does not fit. */
function expectedGeometry(k: Case) {
  const rows = expectedAxis(k.h, k.kh, 0, k.win);
  const cols = expectedAxis(k.w, k.kw, 1, k.win);
  if (rows === "too large" || cols === "too large") return "too large" as const;
  return { rows, cols };
}

/**
 * Naive conv2d and its two gradients, over a zero-padded copy of the input. `x`, `w` and `dy` are flat
 * row-major arrays; the padded input is addressed as xp[n][c][r][s].
 */
function naive(k: Case, x: readonly number[], w: readonly number[], dy?: readonly number[]) {
  const geo = expectedGeometry(k);
  if (geo === "too large") throw new Error("case does not fit");
  const { rows, cols } = geo;
  const ph = k.h + rows.before + rows.after;
  const pw = k.w + cols.before + cols.after;
  const xp = Array.from({ length: k.n }, (_, n) =>
    Array.from({ length: k.c }, (_, c) =>
      Array.from({ length: ph }, (_, r) =>
        Array.from({ length: pw }, (_, s) => {
          const y = r - rows.before;
          const z = s - cols.before;
          return y >= 0 && y < k.h && z >= 0 && z < k.w ? x[((n * k.c + c) * k.h + y) * k.w + z]! : 0;
        }),
      ),
    ),
  );
  const [sh, sw, dh, dw] = [axis(k.win.stride, 0, 1), axis(k.win.stride, 1, 1), axis(k.win.dilation, 0, 1), axis(k.win.dilation, 1, 1)];
  const W = (f: number, c: number, p: number, q: number) => w[((f * k.c + c) * k.kh + p) * k.kw + q]!;
  const oh = rows.out;
  const ow = cols.out;
  const y: number[] = [];
  const dxp = xp.map((a) => a.map((b) => b.map((r) => r.map(() => 0))));
  const dW = new Array<number>(w.length).fill(0);
  for (let n = 0; n < k.n; n++) {
    for (let f = 0; f < k.f; f++) {
      for (let i = 0; i < oh; i++) {
        for (let j = 0; j < ow; j++) {
          const g = dy ? dy[((n * k.f + f) * oh + i) * ow + j]! : 0;
          let sum = 0;
          for (let c = 0; c < k.c; c++) {
            for (let p = 0; p < k.kh; p++) {
              for (let q = 0; q < k.kw; q++) {
                const r = i * sh + p * dh;
                const s = j * sw + q * dw;
                sum += xp[n]![c]![r]![s]! * W(f, c, p, q);
                dxp[n]![c]![r]![s]! += g * W(f, c, p, q);
                dW[((f * k.c + c) * k.kh + p) * k.kw + q]! += g * xp[n]![c]![r]![s]!;
              }
            }
          }
          y.push(sum);
        }
      }
    }
  }
  // The gradient of the input is the padded one cropped: what fell on the padding goes nowhere.
  const dx = dxp.flatMap((a) => a.flatMap((b) => b.slice(rows.before, rows.before + k.h).flatMap((r) => r.slice(cols.before, cols.before + k.w))));
  return { y, dx, dW, shape: [k.n, k.f, oh, ow] };
}

/** Runs an op's reference kernel directly, in float64. */
function runKernel(op: OpDefinition<any>, attrs: object, inputs: { shape: number[]; data: readonly number[] }[]): { shape: number[]; data: number[] } {
  const shapes = inputs.map((t) => t.shape);
  const outputShape = op.shape(shapes, attrs) as number[];
  const kernel = op.kernel({ nodeId: "test", attrs, inputShapes: shapes, outputShape });
  const out = new Float64Array(product(outputShape)).fill(NaN);
  kernel(
    inputs.map((t) => Float64Array.from(t.data)),
    out,
    { training: true, seed: 0, step: 0 },
  );
  return { shape: outputShape, data: Array.from(out) };
}

const pairArb = (min: number, max: number): fc.Arbitrary<Pair> =>
  fc.oneof(fc.integer({ min, max }), fc.tuple(fc.integer({ min, max }), fc.integer({ min, max })));

const windowArb: fc.Arbitrary<Window> = fc.record(
  {
    stride: pairArb(1, 3),
    padding: fc.oneof(pairArb(0, 3), fc.constantFrom<Padding>("same", "valid")),
    dilation: pairArb(1, 3),
  },
  { requiredKeys: [] },
);

const caseArb: fc.Arbitrary<Case> = fc.record({
  n: fc.integer({ min: 1, max: 2 }),
  c: fc.integer({ min: 1, max: 3 }),
  f: fc.integer({ min: 1, max: 3 }),
  h: fc.integer({ min: 1, max: 8 }),
  w: fc.integer({ min: 1, max: 8 }),
  kh: fc.integer({ min: 1, max: 4 }),
  kw: fc.integer({ min: 1, max: 4 }),
  win: windowArb,
});

const valuesFor = (n: number) => fc.array(fc.double({ min: -2, max: 2, noNaN: true }), { minLength: n, maxLength: n });

function close(actual: readonly number[], expected: readonly number[]): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < actual.length; i++) {
    if (!(Math.abs(actual[i]! - expected[i]!) <= 1e-12 + 1e-12 * Math.abs(expected[i]!))) {
      expect.fail(`element ${i}: got ${actual[i]}, expected ${expected[i]}`);
    }
  }
}

describe("conv2d's shape rule", () => {
  it("gives [N, F, OH, OW] with each axis's ⌊(size + padding − dilated kernel) / stride⌋ + 1, or refuses a kernel that does not fit", () => {
    fc.assert(
      fc.property(caseArb, fc.boolean(), (k, symbolic) => {
        const x: Shape = [symbolic ? "batch" : k.n, k.c, k.h, k.w];
        const w: Shape = [k.f, k.c, k.kh, k.kw];
        const geo = expectedGeometry(k);
        if (geo === "too large") {
          expect(() => conv2d.shape([x, w], k.win)).toThrow(/kernel is larger than the input/);
          return;
        }
        expect(conv2d.shape([x, w], k.win)).toEqual([x[0], k.f, geo.rows.out, geo.cols.out]);
        // The gradient ops map back to the shapes of x and w.
        const dy: Shape = [x[0]!, k.f, geo.rows.out, geo.cols.out];
        expect(conv2dGradInput.shape([dy, w], { ...k.win, input_size: [k.h, k.w] })).toEqual(x);
        expect(conv2dGradFilter.shape([x, dy], { ...k.win, kernel_size: [k.kh, k.kw] })).toEqual(w);
      }),
      { numRuns: 500 },
    );
  });

  it('"same" keeps H×W at stride 1 and gives ⌈H / stride⌉ beyond, for any kernel and dilation', () => {
    fc.assert(
      fc.property(caseArb, (k) => {
        const win = { ...k.win, padding: "same" as const };
        const [, , oh, ow] = conv2d.shape(
          [
            [k.n, k.c, k.h, k.w],
            [k.f, k.c, k.kh, k.kw],
          ],
          win,
        );
        expect([oh, ow]).toEqual([Math.ceil(k.h / axis(win.stride, 0, 1)), Math.ceil(k.w / axis(win.stride, 1, 1))]);
      }),
    );
  });

  it("refuses mismatched channels, ranks and attributes with a ShapeError naming the field", () => {
    const field = (f: () => unknown) => {
      try {
        f();
      } catch (err) {
        expect(err).toBeInstanceOf(ShapeError);
        return [(err as ShapeError).field, (err as Error).message];
      }
      throw new Error("no error");
    };
    expect(
      field(() =>
        conv2d.shape(
          [
            ["batch", 3, 8, 8],
            [4, 2, 3, 3],
          ],
          {},
        ),
      ),
    ).toEqual(["inputs", "x has 3 channels (axis 1 of [batch, 3, 8, 8]) but the filter w [4, 2, 3, 3] expects 2 (its axis 1)."]);
    expect(
      field(() =>
        conv2d.shape(
          [
            ["batch", 8, 8],
            [4, 1, 3, 3],
          ],
          {},
        ),
      )[1],
    ).toMatch(/must have rank 4/);
    expect(
      field(() =>
        conv2d.shape(
          [
            ["batch", 1, 8, 8],
            [4, 1, 3, 3],
          ],
          { stride: 0 },
        ),
      ),
    ).toEqual(["stride", "stride must be a positive integer or a pair of them ([rows, columns]), got 0."]);
    expect(
      field(() =>
        conv2d.shape(
          [
            ["batch", 1, 8, 8],
            [4, 1, 3, 3],
          ],
          { dilation: [1, -2] },
        ),
      )[0],
    ).toBe("dilation");
    expect(
      field(() =>
        conv2d.shape(
          [
            ["batch", 1, 8, 8],
            [4, 1, 3, 3],
          ],
          { padding: -1 },
        ),
      )[0],
    ).toBe("padding");
    expect(
      field(() =>
        conv2d.shape(
          [
            ["batch", 1, 4, 4],
            [4, 1, 3, 3],
          ],
          { dilation: 2 },
        ),
      ),
    ).toEqual([
      "inputs",
      'the kernel is larger than the input along the rows: 3 (spanning 5 with dilation 2) does not fit in 4. Pad the input (padding: "same" or a number), or use a smaller kernel or dilation.',
    ]);
  });
});

describe("conv2d's reference kernels", () => {
  it("compute a hand-worked 3×3 ⋆ 2×2 example: valid; padding 1 with stride 2; dilation 2", () => {
    const x = { shape: [1, 1, 3, 3], data: [1, 2, 3, 4, 5, 6, 7, 8, 9] };
    const w = { shape: [1, 1, 2, 2], data: [1, 2, 3, 4] };
    // [1 2; 4 5]·[1 2; 3 4] = 1 + 4 + 12 + 20 = 37, and so on, one step to the right or down.
    expect(runKernel(conv2d, {}, [x, w])).toEqual({ shape: [1, 1, 2, 2], data: [37, 47, 67, 77] });
    // Windows at rows/columns −1..0 and 1..2: only the taps that land inside the image count.
    //   top-left 1·4 = 4; top-right 2·3 + 3·4 = 18; bottom-left 4·2 + 7·4 = 36; bottom-right 5·1 + 6·2 + 8·3 + 9·4 = 77.
    expect(runKernel(conv2d, { padding: 1, stride: 2 }, [x, w])).toEqual({ shape: [1, 1, 2, 2], data: [4, 18, 36, 77] });
    // Taps two apart: the four corners, 1·1 + 3·2 + 7·3 + 9·4 = 64.
    expect(runKernel(conv2d, { dilation: 2 }, [x, w])).toEqual({ shape: [1, 1, 1, 1], data: [64] });
    // "same" with an even kernel: the one padding row and column go at the bottom and right.
    expect(runKernel(conv2d, { padding: "same" }, [x, w]).data).toEqual([37, 47, 3 * 1 + 6 * 3, 67, 77, 6 * 1 + 9 * 3, 7 * 1 + 8 * 2, 8 * 1 + 9 * 2, 9]);
    // The gradients of y = Σ conv(x, w) (δ all ones): each pixel gets the sum of the taps that read it…
    const ones = { shape: [1, 1, 2, 2], data: [1, 1, 1, 1] };
    expect(runKernel(conv2dGradInput, { input_size: [3, 3] }, [ones, w]).data).toEqual([1, 3, 2, 4, 10, 6, 3, 7, 4]);
    // …and each tap the sum of the pixels it read.
    expect(runKernel(conv2dGradFilter, { kernel_size: [2, 2] }, [x, ones]).data).toEqual([12, 16, 24, 28]);
  });

  it("agree with the naive convolution and its gradients on random strides, paddings, dilations and odd sizes", () => {
    const fitting = caseArb.filter((k) => expectedGeometry(k) !== "too large");
    fc.assert(
      fc.property(
        fitting.chain((k) => {
          const oh = (expectedGeometry(k) as Exclude<ReturnType<typeof expectedGeometry>, "too large">).rows.out;
          const ow = (expectedGeometry(k) as Exclude<ReturnType<typeof expectedGeometry>, "too large">).cols.out;
          return fc.tuple(fc.constant(k), valuesFor(k.n * k.c * k.h * k.w), valuesFor(k.f * k.c * k.kh * k.kw), valuesFor(k.n * k.f * oh * ow));
        }),
        ([k, x, w, dy]) => {
          const want = naive(k, x, w, dy);
          const X = { shape: [k.n, k.c, k.h, k.w], data: x };
          const Wt = { shape: [k.f, k.c, k.kh, k.kw], data: w };
          const dY = { shape: want.shape, data: dy };
          const y = runKernel(conv2d, k.win, [X, Wt]);
          expect(y.shape).toEqual(want.shape);
          close(y.data, want.y);
          close(runKernel(conv2dGradInput, { ...k.win, input_size: [k.h, k.w] }, [dY, Wt]).data, want.dx);
          close(runKernel(conv2dGradFilter, { ...k.win, kernel_size: [k.kh, k.kw] }, [X, dY]).data, want.dW);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe("conv2d's gradient", () => {
  it("passes the op checker with a seed of its own (gradients.test.ts runs seed 0)", () => {
    const report = checkOp(conv2d, { numRuns: 100, seed: 13 });
    expect(report.status, formatOpFailure(report)).toBe("pass");
    expect(report.discarded).toBe(0);
  });

  it("is refused by the op checker when the rule flips the sign of ∂L/∂x", () => {
    const variant = register({
      ...conv2d,
      name: "test_conv2d_sign_flipped",
      gradient: (g) => {
        const [dx, dw] = conv2d.gradient!(g);
        return [dx === null ? null : g.emit("neg", [dx!]), dw!];
      },
    });
    const report = checkOp(variant, { numRuns: 100 });
    expect(report.status).toBe("fail");
    expect(report.failure).toMatchObject({ kind: "gradient", input: "x" });
  });

  it("is refused by the op checker when ∂L/∂w has its taps reversed (a convolution taken for a cross-correlation)", () => {
    // The filter gradient's kernel, with each [KH, KW] block of its output rotated by 180°.
    const rotated = register({
      ...conv2dGradFilter,
      name: "test_conv2d_grad_filter_rotated",
      kernel: (spec) => {
        const inner = conv2dGradFilter.kernel(spec);
        const [f, c, kh, kw] = spec.outputShape as [number, number, number, number];
        const tmp = new Float64Array(f * c * kh * kw);
        return (inputs, out, run) => {
          inner(inputs, tmp, run);
          for (let b = 0; b < f * c; b++) for (let t = 0; t < kh * kw; t++) out[b * kh * kw + t] = tmp[b * kh * kw + (kh * kw - 1 - t)]!;
        };
      },
    });
    const variant = register({
      ...conv2d,
      name: "test_conv2d_taps_reversed",
      gradient: (g) => {
        const [dx] = conv2d.gradient!(g);
        const ws = g.shapeOf(g.inputs[1]!);
        const dw = g.emit(rotated.name, [g.inputs[0]!, g.dy], { ...g.node.attrs, kernel_size: [ws[2]!, ws[3]!] });
        return [dx!, dw];
      },
    });
    const report = checkOp(variant, { numRuns: 100 });
    expect(report.status).toBe("fail");
    expect(report.failure).toMatchObject({ kind: "gradient", input: "w" });
    // The smallest case has a kernel that is not its own mirror image.
    expect(report.failure!.case!.inputs[1]!.shape.slice(2)).not.toEqual([1, 1]);
  });

  it("shows its formulas on the backward nodes, and a [F, 1, 1] bias added by `add` gets its gradient summed back to [F, 1, 1]", () => {
    const graph: Graph = {
      name: "conv with bias",
      nodes: [
        inputNode("x", ["batch", 2, 5, 5], "features"),
        node("W", "parameter", [], { shape: [3, 2, 3, 3], init: "he_normal" }),
        node("b", "parameter", [], { shape: [3, 1, 1], init: "zeros" }),
        node("conv", "conv2d", ["x", "W"], { padding: "same", stride: 2 }),
        node("z", "add", ["conv", "b"]),
        node("t", "tanh", ["z"]),
        node("loss", "sum_to", ["t"], { shape: [] }),
      ],
      loss: "loss",
    };
    const full = differentiate(graph, { wrt: ["W", "b", "x"] });
    const shapes = inferShapes(full);
    expect(shapes.get("conv")).toEqual(["batch", 3, 3, 3]);
    expect(shapes.get("z")).toEqual(["batch", 3, 3, 3]);
    expect(shapes.get(full.gradients!["b"]!)).toEqual([3, 1, 1]);
    const formulas = full.nodes.filter((n) => n.op.startsWith("conv2d_grad")).map((n) => [n.op, formulaOf(getOp(n.op)!, n)]);
    expect(formulas.sort()).toEqual([
      // add passes δ through unchanged, so the gradient of conv is grad/z.
      ["conv2d_grad_filter", "x ⋆ grad/z"],
      ["conv2d_grad_input", "conv_transpose(grad/z, W)"],
    ]);
    // The whole chain, bias included, against central differences (wrt x too: its gradient goes through conv2d_grad_input).
    const report = checkGradients(graph, { wrt: ["W", "b", "x"], sizes: { batch: 2 }, maxChecksPerValue: Infinity });
    expect(report.pass).toBe(true);
  });
});

describe("conv2d in a graph file", () => {
  const file = (attrs: object, x = ["batch", 1, 4, 4], w = [8, 1, 5, 5]) =>
    JSON.stringify({
      name: "conv",
      nodes: [
        { id: "x", op: "input", attrs: { shape: x, feed: "features" } },
        { id: "W1", op: "parameter", attrs: { shape: w, init: "he_normal" } },
        { id: "conv1", op: "conv2d", inputs: ["x", "W1"], attrs },
      ],
    });

  it("refuses a kernel larger than its padded input, naming the node, the field and the sizes", () => {
    expect(() => parseGraph(file({}), "conv.json")).toThrow(
      'node "conv1", field "inputs": the kernel is larger than the input along the rows: 5 does not fit in 4. Pad the input (padding: "same" or a number), or use a smaller kernel or dilation. (input shapes: x [batch, 1, 4, 4], W1 [8, 1, 5, 5])',
    );
    expect(() => parseGraph(file({ padding: [1, 0] }), "conv.json")).toThrow(/along the columns: 5 does not fit in 4\./);
    expect(() => parseGraph(file({ padding: 1 }), "conv.json")).not.toThrow();
    expect(() => parseGraph(file({ padding: "same" }), "conv.json")).not.toThrow();
  });

  it("refuses channel mismatches and non-positive strides, naming the node and the field", () => {
    expect(() => parseGraph(file({ padding: "same" }, ["batch", 3, 8, 8]), "conv.json")).toThrow(/node "conv1", field "inputs": x has 3 channels .* expects 1/);
    expect(() => parseGraph(file({ stride: 0 }), "conv.json")).toThrow('node "conv1", field "attrs.stride": must be >= 1 (found 0).');
    expect(() => parseGraph(file({ stride: [2, 0] }), "conv.json")).toThrow('node "conv1", field "attrs.stride[1]": must be >= 1 (found 0).');
    expect(() => parseGraph(file({ padding: "full" }), "conv.json")).toThrow(
      /node "conv1", field "attrs.padding": must be an integer or an array or "same" or "valid"/,
    );
  });
});

function register<A>(def: OpDefinition<A>): OpDefinition<A> {
  registerOp(def, { replace: true });
  return def;
}
