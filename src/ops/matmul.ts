/**
 * matmul: C = op(A) · op(B) for matrices, where op transposes when `transpose_a` / `transpose_b` is set.
 * The transposed variants are what the backward graph needs (dW = Aᵀ·δ, δ·Wᵀ) without a transpose node.
 */
import { Type } from "#typebox";
import { formatShape, type Shape } from "../graph/ir.js";
import { ShapeError, defineOp, type Kernel } from "./op.js";

const MatmulAttrs = Type.Object(
  {
    transpose_a: Type.Optional(Type.Boolean({ default: false, description: "Use Aᵀ in place of A." })),
    transpose_b: Type.Optional(Type.Boolean({ default: false, description: "Use Bᵀ in place of B." })),
  },
  { additionalProperties: false },
);

export const matmul = defineOp({
  name: "matmul",
  // A plain product is MatMul; with a transpose, Gemm says it in its attributes (and reads back as the same node).
  onnx: {
    export: (c) => {
      const { transpose_a = false, transpose_b = false } = c.node.attrs;
      if (!transpose_a && !transpose_b) c.emit("MatMul", c.inputs, {}, c.output);
      else c.emit("Gemm", c.inputs, { transA: { int: transpose_a ? 1 : 0 }, transB: { int: transpose_b ? 1 : 0 } }, c.output);
    },
  },
  summary: "matrix product op(A)·op(B), op optionally transposing",
  inputs: ["a", "b"],
  attrs: MatmulAttrs,
  shape: ([a, b], { transpose_a = false, transpose_b = false }) => {
    if (a!.length !== 2 || b!.length !== 2) {
      throw new ShapeError(`both inputs must be matrices (rank 2), got ${formatShape(a!)} and ${formatShape(b!)}.`);
    }
    const [m, ka] = transpose_a ? [a![1]!, a![0]!] : [a![0]!, a![1]!];
    const [kb, n] = transpose_b ? [b![1]!, b![0]!] : [b![0]!, b![1]!];
    if (ka !== kb) {
      const left = transpose_a ? `${formatShape(a!)}ᵀ` : formatShape(a!);
      const right = transpose_b ? `${formatShape(b!)}ᵀ` : formatShape(b!);
      throw new ShapeError(`inner dimensions differ: ${left} · ${right} needs the columns of the left (${ka}) to equal the rows of the right (${kb}).`);
    }
    return [m, n] as Shape;
  },
  kernel: ({ inputShapes: [a, b], attrs: { transpose_a = false, transpose_b = false } }): Kernel => {
    const [m, k] = transpose_a ? [a![1]!, a![0]!] : [a![0]!, a![1]!];
    const n = transpose_b ? b![0]! : b![1]!;
    // Element (i, p) of op(A) lives at A[i·rowStride + p·colStride].
    const aRow = transpose_a ? 1 : k;
    const aCol = transpose_a ? m : 1;
    if (transpose_b) {
      // C[i,j] = Σp op(A)[i,p] · B[j,p]: a dot product of two rows, accumulated in float64.
      return ([A, B], C) => {
        for (let i = 0; i < m; i++) {
          for (let j = 0; j < n; j++) {
            let sum = 0;
            for (let p = 0; p < k; p++) sum += A![i * aRow + p * aCol]! * B![j * k + p]!;
            C[i * n + j] = sum;
          }
        }
      };
    }
    // C[i,:] = Σp op(A)[i,p] · B[p,:]: row updates that stream through B, accumulated in a float64 row.
    // A zero op(A)[i,p] adds nothing and is skipped: MNIST's pixels are 81 % zeros, so the first layer's
    // product X·W and its weight gradient Xᵀ·δ do a fifth of the work. (The one difference: a NaN or ∞ in
    // B's skipped row would not reach C; a diverged run is caught at the loss anyway.)
    const row = new Float64Array(n);
    return ([A, B], C) => {
      for (let i = 0; i < m; i++) {
        row.fill(0);
        for (let p = 0; p < k; p++) {
          const aip = A![i * aRow + p * aCol]!;
          if (aip === 0) continue;
          const bRow = p * n;
          for (let j = 0; j < n; j++) row[j]! += aip * B![bRow + j]!;
        }
        for (let j = 0; j < n; j++) C[i * n + j] = row[j]!;
      }
    };
  },
  // In the backward graph, matmuls are the report's Aᵀ·δ (a weight gradient) and δ·Wᵀ (a delta passed back).
  formula: ({ transpose_a = false, transpose_b = false }, [a, b]) => `${a}${transpose_a ? "ᵀ" : ""} · ${b}${transpose_b ? "ᵀ" : ""}`,
  gradient: (g) => {
    const { transpose_a = false, transpose_b = false } = g.node.attrs;
    const [a, b] = g.inputs as [string, string];
    const dy = g.dy;
    const t = (ta: boolean, tb: boolean) => ({ transpose_a: ta, transpose_b: tb });
    // C = op(A)·op(B). With dC the gradient of C:
    //   A·B   → dA = dC·Bᵀ,   dB = Aᵀ·dC
    //   Aᵀ·B  → dA = B·dCᵀ,   dB = A·dC
    //   A·Bᵀ  → dA = dC·B,    dB = dCᵀ·A
    //   Aᵀ·Bᵀ → dA = Bᵀ·dCᵀ,  dB = dCᵀ·Aᵀ
    const da = !g.needs(0) ? null : transpose_a ? g.emit("matmul", [b, dy], t(transpose_b, true)) : g.emit("matmul", [dy, b], t(false, !transpose_b));
    const db = !g.needs(1) ? null : transpose_b ? g.emit("matmul", [dy, a], t(true, transpose_a)) : g.emit("matmul", [a, dy], t(!transpose_a, false));
    return [da, db];
  },
  // The inner dimension k shared, in all four transpose combinations.
  check: {
    cases: [
      {
        shapes: [
          ["m", "k"],
          ["k", "n"],
        ],
      },
      {
        shapes: [
          ["k", "m"],
          ["k", "n"],
        ],
        attrs: [{ transpose_a: true }],
      },
      {
        shapes: [
          ["m", "k"],
          ["n", "k"],
        ],
        attrs: [{ transpose_b: true }],
      },
      {
        shapes: [
          ["k", "m"],
          ["n", "k"],
        ],
        attrs: [{ transpose_a: true, transpose_b: true }],
      },
    ],
  },
});
