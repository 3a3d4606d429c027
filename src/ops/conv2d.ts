/**
 * conv2d: a 2-D convolution (cross-correlation, as in every deep-learning library) of NCHW images with a
 * bank of filters, and the two ops its gradient emits.
 *
 *   Y[n, f, i, j] = Σ_c Σ_p Σ_q X[n, c, i·sh − pt + p·dh, j·sw − pl + q·dw] · W[f, c, p, q]
 *
 * X is [N, C, H, W] (N may be symbolic: "batch"), W is [F, C, KH, KW]; Y is [N, F, OH, OW] with the
 * sizes of conv-geometry.ts. Input positions outside X read as zeros (the padding). A bias is a separate
 * parameter of shape [F, 1, 1] added by the broadcasting `add`.
 *
 * Gradient, with δ = ∂L/∂Y — each the adjoint of the forward map in one of its arguments:
 *   ∂L/∂X = conv2d_grad_input(δ, W): every δ[n, f, i, j] spread back through W onto the input positions
 *           it was computed from (the transposed convolution);
 *   ∂L/∂W = conv2d_grad_filter(X, δ): each tap W[f, c, p, q] gathers Σ δ[n, f, i, j] · X[n, c, …] over
 *           the positions it touched (X cross-correlated with δ, δ's taps spaced by the stride).
 * Both take the forward node's stride/padding/dilation, plus the size that stride and padding leave
 * ambiguous: the input's spatial size for the first, the kernel's for the second.
 *
 * The reference kernels loop directly over the taps, innermost over contiguous output (or δ) columns,
 * accumulating in float64; tapRanges() precomputes where each tap falls inside the input, so no loop
 * tests bounds and nothing is allocated per run.
 */
import { Type } from "#typebox";
import { formatShape, type ConcreteShape, type Shape } from "../graph/ir.js";
import type { CheckDraw } from "./check-hints.js";
import { tapRanges, windowAttrsOf, windowGeometry, WindowAttrs, type AxisGeometry, type Pair, type WindowAttrValues } from "./conv-geometry.js";
import { ShapeError, defineOp, type Kernel } from "./op.js";

const SizePair = Type.Tuple([Type.Integer({ minimum: 1 }), Type.Integer({ minimum: 1 })]);

const Conv2dAttrs = Type.Object(WindowAttrs, { additionalProperties: false });
const GradInputAttrs = Type.Object(
  { ...WindowAttrs, input_size: { ...SizePair, description: "[H, W] of the forward input, which stride and padding leave ambiguous." } },
  { additionalProperties: false },
);
const GradFilterAttrs = Type.Object(
  { ...WindowAttrs, kernel_size: { ...SizePair, description: "[KH, KW] of the forward filter, which stride leaves ambiguous." } },
  { additionalProperties: false },
);

/** A 4-D shape whose axes 1–3 are sizes, or a ShapeError naming what `role` should be. */
function nchw(shape: Shape, role: string): [Shape[number], number, number, number] {
  if (shape.length !== 4) throw new ShapeError(`${role} must have rank 4, got ${formatShape(shape)}.`);
  const [n, c, h, w] = shape;
  if (typeof c !== "number" || typeof h !== "number" || typeof w !== "number") {
    throw new ShapeError(`${role} must have fixed sizes on axes 1 to 3 (only the first may be a symbol such as "batch"), got ${formatShape(shape)}.`);
  }
  return [n!, c, h, w];
}

/** The filter [F, C, KH, KW]: every size fixed. */
function filterShape(shape: Shape): [number, number, number, number] {
  if (shape.length !== 4 || !shape.every((d) => typeof d === "number")) {
    throw new ShapeError(
      `the filter w must be [F, C, KH, KW] (out channels, in channels, kernel rows, kernel columns) of fixed sizes, got ${formatShape(shape)}.`,
    );
  }
  return shape as unknown as [number, number, number, number];
}

function sameDim(a: Shape[number], b: Shape[number], what: string): void {
  if (a !== b) throw new ShapeError(what);
}

export const conv2d = defineOp({
  name: "conv2d",
  // ONNX's pads are [top, left, bottom, right]: "same" is resolved here, for the node's input size.
  onnx: {
    export: (c) => {
      const [x, w] = c.inputShapes as [Shape, Shape];
      const g = windowGeometry(x[2] as number, x[3] as number, w[2] as number, w[3] as number, c.node.attrs);
      c.emit(
        "Conv",
        c.inputs,
        {
          kernel_shape: { ints: [g.rows.kernel, g.cols.kernel] },
          strides: { ints: [g.rows.stride, g.cols.stride] },
          dilations: { ints: [g.rows.dilation, g.cols.dilation] },
          pads: { ints: [g.rows.before, g.cols.before, g.rows.after, g.cols.after] },
        },
        c.output,
      );
    },
  },
  summary: "2-D convolution (cross-correlation) of NCHW images x [N, C, H, W] with filters w [F, C, KH, KW] → [N, F, OH, OW]",
  inputs: ["x", "w"],
  attrs: Conv2dAttrs,
  shape: ([x, w], attrs) => {
    const [n, c, h, width] = nchw(x!, "the input x (NCHW)");
    const [f, fc, kh, kw] = filterShape(w!);
    sameDim(c, fc, `x has ${c} channels (axis 1 of ${formatShape(x!)}) but the filter w ${formatShape(w!)} expects ${fc} (its axis 1).`);
    const g = windowGeometry(h, width, kh, kw, attrs);
    return [n, f, g.rows.out, g.cols.out];
  },
  kernel: ({ inputShapes: [x, w], attrs }) => convForward(x!, w!, attrs),
  gradient: (g) => {
    const [x, w] = g.inputs as [string, string];
    const window = windowAttrsOf(g.node.attrs);
    const xs = g.shapeOf(x);
    const ws = g.shapeOf(w);
    const dx = g.needs(0) ? g.emit("conv2d_grad_input", [g.dy, w], { ...window, input_size: [xs[2]!, xs[3]!] } as never) : null;
    const dw = g.needs(1) ? g.emit("conv2d_grad_filter", [x, g.dy], { ...window, kernel_size: [ws[2]!, ws[3]!] } as never) : null;
    return [dx, dw];
  },
  // Random strides, paddings (numbers, pairs, "same", "valid") and dilations on odd and even sizes, the
  // padding drawn large enough for the dilated kernel to fit (the refusal has a test of its own).
  check: {
    shapes: [
      ["n", "c", "h", "w"],
      ["f", "c", "kh", "kw"],
    ],
    cases: [{ attrs: ([x, w], draw) => explicitWindow(x!, w!, draw) }, { attrs: (_shapes, draw) => sameWindow(draw) }],
  },
});

/** Stride 1–3 and dilation 1–2 per axis, and numeric padding at least what the dilated kernel needs to fit. */
function explicitWindow(x: readonly number[], w: readonly number[], draw: CheckDraw): WindowAttrValues {
  const stride: [number, number] = [draw.int(1, 3), draw.int(1, 3)];
  const dilation: [number, number] = [draw.int(1, 2), draw.int(1, 2)];
  const needed = (i: 0 | 1) => Math.max(0, Math.ceil(((w[2 + i]! - 1) * dilation[i] + 1 - x[2 + i]!) / 2));
  const padding: [number, number] = [needed(0) + draw.int(0, 1), needed(1) + draw.int(0, 1)];
  const pair = (v: [number, number]): Pair => (v[0] === v[1] && draw.bool() ? v[0] : v);
  const zeroPadding = padding[0] === 0 && padding[1] === 0 && draw.bool();
  return { stride: pair(stride), padding: zeroPadding ? "valid" : pair(padding), dilation: pair(dilation) };
}

/** "same" padding, which always fits, with any stride and dilation. */
function sameWindow(draw: CheckDraw): WindowAttrValues {
  return { padding: "same", stride: draw.pick<Pair>([1, 2, [1, 2], [3, 1]]), dilation: draw.pick<Pair>([1, 2, [2, 1]]) };
}

export const conv2dGradInput = defineOp({
  name: "conv2d_grad_input",
  summary: "∂L/∂x of conv2d: δ [N, F, OH, OW] spread back through w [F, C, KH, KW] → [N, C, H, W] (the transposed convolution)",
  inputs: ["dy", "w"],
  attrs: GradInputAttrs,
  shape: ([dy, w], attrs) => {
    const [n, f, oh, ow] = nchw(dy!, "the gradient dy (NCHW)");
    const [wf, c, kh, kw] = filterShape(w!);
    sameDim(f, wf, `dy has ${f} channels (axis 1 of ${formatShape(dy!)}) but the filter w ${formatShape(w!)} has ${wf} (its axis 0).`);
    const [h, width] = attrs.input_size;
    const g = windowGeometry(h, width, kh, kw, attrs);
    sameDim(
      oh,
      g.rows.out,
      `dy is ${oh}×${ow} (axes 2, 3 of ${formatShape(dy!)}), but conv2d gives ${g.rows.out}×${g.cols.out} for an input of ${h}×${width}.`,
    );
    sameDim(
      ow,
      g.cols.out,
      `dy is ${oh}×${ow} (axes 2, 3 of ${formatShape(dy!)}), but conv2d gives ${g.rows.out}×${g.cols.out} for an input of ${h}×${width}.`,
    );
    return [n, c, h, width];
  },
  kernel: ({ inputShapes: [dy, w], attrs }) => convGradInput(dy!, w!, attrs),
  formula: (_attrs, [dy, w]) => `conv_transpose(${dy}, ${w})`,
  check: { skip: "a backward op, checked through conv2d's gradient" },
});

export const conv2dGradFilter = defineOp({
  name: "conv2d_grad_filter",
  summary: "∂L/∂w of conv2d: x [N, C, H, W] cross-correlated with δ [N, F, OH, OW] → [F, C, KH, KW]",
  inputs: ["x", "dy"],
  attrs: GradFilterAttrs,
  shape: ([x, dy], attrs) => {
    const [n, c, h, width] = nchw(x!, "the input x (NCHW)");
    const [dn, f, oh, ow] = nchw(dy!, "the gradient dy (NCHW)");
    sameDim(n, dn, `x and dy must have the same batch size (axis 0), got ${formatShape(x!)} and ${formatShape(dy!)}.`);
    const [kh, kw] = attrs.kernel_size;
    const g = windowGeometry(h, width, kh, kw, attrs);
    const mismatch = `dy is ${oh}×${ow} (axes 2, 3 of ${formatShape(dy!)}), but conv2d gives ${g.rows.out}×${g.cols.out} for x ${formatShape(x!)} and a ${kh}×${kw} kernel.`;
    sameDim(oh, g.rows.out, mismatch);
    sameDim(ow, g.cols.out, mismatch);
    return [f, c, kh, kw];
  },
  kernel: ({ inputShapes: [x, dy], attrs }) => convGradFilter(x!, dy!, attrs),
  formula: (_attrs, [x, dy]) => `${x} ⋆ ${dy}`,
  check: { skip: "a backward op, checked through conv2d's gradient" },
});

// ─── Reference kernels ──────────────────────────────────────────────────────────────────────────────

/**
 * Everything the three kernels index with, as plain numbers and tables, so their loops read locals only.
 * Tap p of the rows reads input row i·sh + rowStart[p] for output rows i ∈ [rowLo[p], rowHi[p]) — the
 * rows that fall inside the input — and likewise for the columns.
 */
interface Layout {
  readonly oh: number;
  readonly ow: number;
  readonly sh: number;
  readonly sw: number;
  readonly rowLo: Int32Array;
  readonly rowHi: Int32Array;
  readonly rowStart: Int32Array;
  readonly colLo: Int32Array;
  readonly colHi: Int32Array;
  readonly colStart: Int32Array;
}

function layout(h: number, w: number, kh: number, kw: number, attrs: WindowAttrValues): Layout {
  const { rows, cols } = windowGeometry(h, w, kh, kw, attrs);
  const r = tapRanges(rows);
  const c = tapRanges(cols);
  const start = (a: AxisGeometry) => Int32Array.from({ length: a.kernel }, (_, k) => k * a.dilation - a.before);
  return {
    oh: rows.out,
    ow: cols.out,
    sh: rows.stride,
    sw: cols.stride,
    rowLo: r.lo,
    rowHi: r.hi,
    rowStart: start(rows),
    colLo: c.lo,
    colHi: c.hi,
    colStart: start(cols),
  };
}

/** Y = conv2d(X, W): for each (n, f), a float64 plane of OH×OW accumulates every (c, p, q) tap. */
function convForward(xShape: ConcreteShape, wShape: ConcreteShape, attrs: WindowAttrValues): Kernel {
  const [n, c, h, w] = xShape as [number, number, number, number];
  const [f, , kh, kw] = wShape as [number, number, number, number];
  const { oh, ow, sh, sw, rowLo, rowHi, rowStart, colLo, colHi, colStart } = layout(h, w, kh, kw, attrs);
  const plane = new Float64Array(oh * ow);
  return ([X, Wt], Y) => {
    for (let b = 0; b < n; b++) {
      for (let o = 0; o < f; o++) {
        plane.fill(0);
        for (let ch = 0; ch < c; ch++) {
          const xBase = (b * c + ch) * h * w;
          const wBase = (o * c + ch) * kh * kw;
          for (let p = 0; p < kh; p++) {
            const i1 = rowHi[p]!;
            for (let q = 0; q < kw; q++) {
              const tap = Wt![wBase + p * kw + q]!;
              const j0 = colLo[q]!;
              const j1 = colHi[q]!;
              for (let i = rowLo[p]!; i < i1; i++) {
                const xRow = xBase + (i * sh + rowStart[p]!) * w + colStart[q]!;
                const yRow = i * ow;
                if (sw === 1) for (let j = j0; j < j1; j++) plane[yRow + j]! += tap * X![xRow + j]!;
                else for (let j = j0; j < j1; j++) plane[yRow + j]! += tap * X![xRow + j * sw]!;
              }
            }
          }
        }
        const yBase = (b * f + o) * oh * ow;
        for (let k = 0; k < oh * ow; k++) Y[yBase + k] = plane[k]!;
      }
    }
  };
}

/** dX = conv_transpose(δ, W): for each (n, c), a float64 plane of H×W gathers every (f, p, q) tap's share of δ. */
function convGradInput(dyShape: ConcreteShape, wShape: ConcreteShape, attrs: WindowAttrValues & { input_size: readonly number[] }): Kernel {
  const [n, f] = dyShape as [number, number];
  const [, c, kh, kw] = wShape as [number, number, number, number];
  const [h, w] = attrs.input_size as [number, number];
  const { oh, ow, sh, sw, rowLo, rowHi, rowStart, colLo, colHi, colStart } = layout(h, w, kh, kw, attrs);
  const plane = new Float64Array(h * w);
  return ([dY, Wt], dX) => {
    for (let b = 0; b < n; b++) {
      for (let ch = 0; ch < c; ch++) {
        plane.fill(0);
        for (let o = 0; o < f; o++) {
          const dyBase = (b * f + o) * oh * ow;
          const wBase = (o * c + ch) * kh * kw;
          for (let p = 0; p < kh; p++) {
            const i1 = rowHi[p]!;
            for (let q = 0; q < kw; q++) {
              const tap = Wt![wBase + p * kw + q]!;
              const j0 = colLo[q]!;
              const j1 = colHi[q]!;
              for (let i = rowLo[p]!; i < i1; i++) {
                const xRow = (i * sh + rowStart[p]!) * w + colStart[q]!;
                const dyRow = dyBase + i * ow;
                if (sw === 1) for (let j = j0; j < j1; j++) plane[xRow + j]! += tap * dY![dyRow + j]!;
                else for (let j = j0; j < j1; j++) plane[xRow + j * sw]! += tap * dY![dyRow + j]!;
              }
            }
          }
        }
        const xBase = (b * c + ch) * h * w;
        for (let k = 0; k < h * w; k++) dX[xBase + k] = plane[k]!;
      }
    }
  };
}

/** dW = X ⋆ δ: each tap (f, c, p, q) sums δ · X over the batch and the output positions it reached, in float64. */
function convGradFilter(xShape: ConcreteShape, dyShape: ConcreteShape, attrs: WindowAttrValues & { kernel_size: readonly number[] }): Kernel {
  const [n, c, h, w] = xShape as [number, number, number, number];
  const f = dyShape[1]!;
  const [kh, kw] = attrs.kernel_size as [number, number];
  const { oh, ow, sh, sw, rowLo, rowHi, rowStart, colLo, colHi, colStart } = layout(h, w, kh, kw, attrs);
  return ([X, dY], dW) => {
    for (let o = 0; o < f; o++) {
      for (let ch = 0; ch < c; ch++) {
        for (let p = 0; p < kh; p++) {
          const i1 = rowHi[p]!;
          for (let q = 0; q < kw; q++) {
            const j0 = colLo[q]!;
            const j1 = colHi[q]!;
            let sum = 0;
            for (let b = 0; b < n; b++) {
              const xBase = (b * c + ch) * h * w + colStart[q]!;
              const dyBase = (b * f + o) * oh * ow;
              for (let i = rowLo[p]!; i < i1; i++) {
                const xRow = xBase + (i * sh + rowStart[p]!) * w;
                const dyRow = dyBase + i * ow;
                if (sw === 1) for (let j = j0; j < j1; j++) sum += dY![dyRow + j]! * X![xRow + j]!;
                else for (let j = j0; j < j1; j++) sum += dY![dyRow + j]! * X![xRow + j * sw]!;
              }
            }
            dW[((o * c + ch) * kh + p) * kw + q] = sum;
          }
        }
      }
    }
  };
}
