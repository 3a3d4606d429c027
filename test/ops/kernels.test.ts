/**
 * Each op's kernel against a straightforward formula written out here, on random values: broadcasting by
 * explicit multi-indices, softmax by its definition, the losses by their sums, dropout by its mask rule.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { differentiate } from "../../src/autodiff/differentiate.js";
import type { Graph } from "../../src/graph/ir.js";
import { PROBABILITY_FLOOR } from "../../src/ops/cross_entropy.js";
import { broadcastPatternOf, dataFor, dim, labelsFor, shape, tensorOf, value, withSpecials } from "../support/arbitraries.js";
import { bitwiseEqual, indices, inputNode, node, product, run, runOp, strides } from "../support/run.js";

/**
 * |actual − expected| ≤ rel · max(1, |expected|), element by element; where the expected value is NaN or
 * ±∞ (special inputs), the actual one must be NaN or the same infinity.
 */
function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, rel = 1e-12): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    if (!Number.isFinite(expected[i]!)) {
      if (!Object.is(actual[i], expected[i]) && !(Number.isNaN(actual[i]) && Number.isNaN(expected[i]))) {
        expect.fail(`element ${i}: got ${actual[i]}, expected ${expected[i]}`);
      }
      continue;
    }
    const tolerance = rel * Math.max(1, Math.abs(expected[i]!));
    if (!(Math.abs(actual[i]! - expected[i]!) <= tolerance)) {
      expect.fail(`element ${i}: got ${actual[i]}, expected ${expected[i]} (±${tolerance})`);
    }
  }
}

/** NumPy broadcasting written out: the output shape, and for an output multi-index the flat index into an input. */
function broadcastShape(a: readonly number[], b: readonly number[]): number[] {
  const rank = Math.max(a.length, b.length);
  return Array.from({ length: rank }, (_, i) => Math.max(a[a.length - rank + i] ?? 1, b[b.length - rank + i] ?? 1));
}
function sourceIndex(index: readonly number[], from: readonly number[]): number {
  const s = strides(from);
  const offset = index.length - from.length;
  return from.reduce((flat, d, i) => flat + (d === 1 ? 0 : index[offset + i]!) * s[i]!, 0);
}

/** Rows along the last axis. */
function rowsOf(data: readonly number[], s: readonly number[]): number[][] {
  const n = s[s.length - 1]!;
  return Array.from({ length: data.length / n }, (_, r) => data.slice(r * n, r * n + n));
}

const softmaxRow = (row: readonly number[]) => {
  const e = row.map(Math.exp);
  const sum = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / sum);
};

/** Two tensors whose shapes broadcast together, with zeros, NaN and ±∞ among their values. */
const pair = shape(0, 3).chain((full) =>
  fc
    .tuple(broadcastPatternOf(full), broadcastPatternOf(full))
    .chain(([a, b]) => fc.tuple(tensorOf(fc.constant(a), withSpecials()), tensorOf(fc.constant(b), withSpecials()))),
);

describe("elementwise kernels", () => {
  const binary: Record<string, (a: number, b: number) => number> = { add: (a, b) => a + b, sub: (a, b) => a - b, mul: (a, b) => a * b };
  for (const [op, f] of Object.entries(binary)) {
    it(`${op} broadcasts like NumPy, exactly, in float64 and float32, with IEEE results for 0, NaN and ±∞`, () => {
      fc.assert(
        fc.property(pair, ([a, b]) => {
          const out = broadcastShape(a.shape, b.shape);
          for (const dtype of ["float64", "float32"] as const) {
            const round = dtype === "float32" ? Math.fround : (x: number) => x;
            const expected = [...indices(out)].map((i) => round(f(round(a.data[sourceIndex(i, a.shape)]!), round(b.data[sourceIndex(i, b.shape)]!))));
            const actual = runOp(op, [a, b], { dtype });
            expect(bitwiseEqual(actual, expected)).toBe(true);
          }
        }),
        { numRuns: 300 },
      );
    });
  }

  it("relu, neg and tanh are their formulas, at 0, −0, NaN and ±∞ too", () => {
    // relu is NumPy's maximum(x, 0): a NaN passes through (a diverging run must show), and ±0 is kept as it
    // is (maximum returns its first operand when the two compare equal) — the wasm kernel does the same.
    const relu = (v: number) => (Number.isNaN(v) ? v : v > 0 ? v : v < 0 ? 0 : v);
    fc.assert(
      fc.property(tensorOf(shape(0, 3), withSpecials(value(-20, 20))), (x) => {
        expect(bitwiseEqual(runOp("relu", [x]), x.data.map(relu))).toBe(true);
        expect(
          bitwiseEqual(
            runOp("neg", [x]),
            x.data.map((v) => -v),
          ),
        ).toBe(true);
        expectClose(runOp("tanh", [x]), x.data.map(Math.tanh), 1e-15);
      }),
    );
  });

  it("sigmoid is 1/(1+e^−x), and stays finite and in [0, 1] for huge |x|, in float64 and float32", () => {
    // At the specials the formula says: σ(+∞) = 1, σ(−∞) = 0, σ(NaN) = NaN.
    fc.assert(
      fc.property(tensorOf(shape(0, 3), withSpecials(value(-30, 30))), (x) => {
        expectClose(
          runOp("sigmoid", [x]),
          x.data.map((v) => 1 / (1 + Math.exp(-v))),
          1e-14,
        );
      }),
    );
    const extreme = { shape: [6], data: [-1e308, -1000, -50, 50, 1000, 1e308] };
    for (const dtype of ["float64", "float32"] as const) {
      const y = runOp("sigmoid", [extreme], { dtype });
      for (const v of y) expect(v >= 0 && v <= 1).toBe(true);
      expect(y[4]).toBe(1);
      expect(y[0]).toBe(0);
    }
    // Very negative inputs keep their relative precision: σ(−50) = e^−50 / (1 + e^−50).
    const y = runOp("sigmoid", [{ shape: [1], data: [-50] }]);
    expectClose([y[0]! / Math.exp(-50)], [1 / (1 + Math.exp(-50))], 1e-15);
  });

  it("sigmoid_grad and tanh_grad use the output y: dy·y·(1−y) and dy·(1−y²)", () => {
    fc.assert(
      fc.property(
        shape(0, 3).chain((s) => fc.tuple(dataFor(s), dataFor(s, value(-1, 1))).map(([dy, y]) => ({ s, dy, y }))),
        ({ s, dy, y }) => {
          const inputs = [
            { shape: s, data: dy },
            { shape: s, data: y },
          ];
          expectClose(
            runOp("sigmoid_grad", inputs),
            dy.map((d, i) => d * y[i]! * (1 - y[i]!)),
            1e-15,
          );
          expectClose(
            runOp("tanh_grad", inputs),
            dy.map((d, i) => d * (1 - y[i]! * y[i]!)),
            1e-15,
          );
          expectClose(
            runOp("relu_grad", inputs),
            dy.map((d, i) => (y[i]! > 0 ? d : 0)),
            0,
          );
        },
      ),
    );
  });

  it("relu_grad passes dy where x > 0 and gives 0 elsewhere: at x = ±0 (the kink, slope taken as 0), at −∞ and at NaN", () => {
    fc.assert(
      fc.property(
        shape(0, 3).chain((s) => fc.tuple(dataFor(s, withSpecials()), dataFor(s, withSpecials())).map(([dy, x]) => ({ s, dy, x }))),
        ({ s, dy, x }) => {
          const expected = dy.map((d, i) => (x[i]! > 0 ? d : 0));
          const actual = runOp("relu_grad", [
            { shape: s, data: dy },
            { shape: s, data: x },
          ]);
          expect(bitwiseEqual(actual, expected), `dy ${dy}, x ${x}: got ${Array.from(actual)}`).toBe(true);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe("softmax", () => {
  it("is e^x / Σ e^x along the last axis: rows sum to 1, every entry in (0, 1]", () => {
    fc.assert(
      fc.property(tensorOf(shape(1, 3), value(-10, 10)), (x) => {
        const y = runOp("softmax", [x]);
        expectClose(y, rowsOf(x.data, x.shape).flatMap(softmaxRow), 1e-13);
        for (const row of rowsOf([...y], x.shape)) {
          expect(Math.abs(row.reduce((a, b) => a + b, 0) - 1)).toBeLessThan(1e-14);
          for (const v of row) expect(v > 0 && v <= 1).toBe(true);
        }
      }),
    );
  });

  it("is unchanged by adding a constant to a row, even one that would overflow e^x", () => {
    fc.assert(
      fc.property(tensorOf(shape(1, 3), value(-5, 5)), fc.constantFrom(-1000, 700, 1000, 1e5), (x, c) => {
        const shifted = { shape: x.shape, data: x.data.map((v) => v + c) };
        expectClose(runOp("softmax", [shifted]), runOp("softmax", [x]), 1e-9);
        expectClose(runOp("softmax", [shifted], { dtype: "float32" }), runOp("softmax", [x]), c >= 1e5 ? 1e-1 : 1e-3);
      }),
    );
  });

  it("gives a row holding a NaN NaN throughout, and −∞ entries exactly 0 with the others the softmax of the rest", () => {
    fc.assert(
      fc.property(
        tensorOf(shape(1, 3), fc.oneof({ arbitrary: value(-10, 10), weight: 4 }, { arbitrary: fc.constantFrom(-Infinity, Number.NaN), weight: 1 })),
        (x) => {
          const y = runOp("softmax", [x]);
          const n = x.shape[x.shape.length - 1]!;
          rowsOf(x.data, x.shape).forEach((row, r) => {
            const out = Array.from(y.subarray(r * n, r * n + n));
            const finite = row.filter(Number.isFinite);
            if (row.some(Number.isNaN) || finite.length === 0) {
              // A NaN (a diverged run) must show; a row of −∞ alone has no distribution (0/0).
              expect(out.every(Number.isNaN), `row ${row} gave ${out}`).toBe(true);
              return;
            }
            const rest = softmaxRow(finite);
            const expected = row.map((v) => (v === -Infinity ? 0 : rest.shift()!));
            expectClose(out, expected, 1e-13);
            for (let j = 0; j < n; j++) if (row[j] === -Infinity) expect(out[j]).toBe(0);
          });
        },
      ),
      { numRuns: 300 },
    );
  });

  it("softmax_grad is the Jacobian-vector product Σⱼ dyⱼ (δᵢⱼ yᵢ − yᵢ yⱼ)", () => {
    fc.assert(
      fc.property(
        shape(1, 3).chain((s) => fc.tuple(dataFor(s), dataFor(s)).map(([dy, x]) => ({ s, dy, x }))),
        ({ s, dy, x }) => {
          const y = [...runOp("softmax", [{ shape: s, data: x }])];
          const expected = rowsOf(y, s).flatMap((row, r) => {
            const n = row.length;
            return row.map((yi, i) => row.reduce((acc, yj, j) => acc + dy[r * n + j]! * ((i === j ? yi : 0) - yi * yj), 0));
          });
          const actual = runOp("softmax_grad", [
            { shape: s, data: dy },
            { shape: s, data: y },
          ]);
          expectClose(actual, expected, 1e-14);
        },
      ),
    );
  });
});

describe("losses", () => {
  const lossCase = shape(2, 3).chain((s) => fc.tuple(dataFor(s, value(-5, 5)), labelsFor(s)).map(([z, y]) => ({ s, z, y })));

  it("cross_entropy is −(1/m) Σ y log p, m the first dimension, and finite where p = 0", () => {
    fc.assert(
      fc.property(
        shape(2, 3).chain((s) => fc.tuple(dataFor(s, value(0, 1)), labelsFor(s)).map(([p, y]) => ({ s, p, y }))),
        ({ s, p, y }) => {
          const m = s[0]!;
          const expected = -p.reduce((acc, pk, k) => acc + y[k]! * Math.log(Math.max(pk, PROBABILITY_FLOOR.float64)), 0) / m;
          const inputs = [
            { shape: s, data: p },
            { shape: s, data: y },
          ];
          const loss = runOp("cross_entropy", inputs);
          expect(loss.length).toBe(1);
          expectClose(loss, [expected], 1e-13);
          expect(Number.isFinite(loss[0])).toBe(true);
          const dL = 0.75;
          const grad = runOp("cross_entropy_grad", [...inputs, { shape: [], data: [dL] }]);
          expectClose(
            grad,
            p.map((pk, k) => (-dL * y[k]!) / (m * Math.max(pk, PROBABILITY_FLOOR.float64))),
            1e-14,
          );
        },
      ),
    );
    const zero = runOp("cross_entropy", [
      { shape: [1, 2], data: [0, 1] },
      { shape: [1, 2], data: [1, 0] },
    ]);
    expect(zero[0]).toBeCloseTo(-Math.log(PROBABILITY_FLOOR.float64), 12);
  });

  it("softmax_cross_entropy equals cross_entropy(softmax(z), y)", () => {
    fc.assert(
      fc.property(lossCase, ({ s, z, y }) => {
        const graph: Graph = {
          name: "both",
          nodes: [
            inputNode("z", s),
            inputNode("y", s),
            node("fused", "softmax_cross_entropy", ["z", "y"]),
            node("p", "softmax", ["z"]),
            node("separate", "cross_entropy", ["p", "y"]),
          ],
        };
        const out = run(graph, { outputs: ["fused", "separate"], feeds: { z, y } });
        expectClose(out.fused!, out.separate!, 1e-12);
      }),
    );
  });

  it("softmax_cross_entropy stays exact for huge logits, where softmax then log would clamp", () => {
    fc.assert(
      fc.property(lossCase, fc.constantFrom(100, 1000, 1e6), ({ s, z, y }, scale) => {
        const big = z.map((v) => v * scale);
        const m = s[0]!;
        const expected =
          rowsOf(big, s).reduce((acc, row, r) => {
            const max = Math.max(...row);
            const lse = max + Math.log(row.reduce((a, v) => a + Math.exp(v - max), 0));
            return acc + row.reduce((a, v, k) => a + y[r * row.length + k]! * (lse - v), 0);
          }, 0) / m;
        const loss = runOp("softmax_cross_entropy", [
          { shape: s, data: big },
          { shape: s, data: y },
        ]);
        expectClose(loss, [expected], 1e-9);
      }),
    );
  });

  it("softmax_cross_entropy_grad is dL·(softmax(z) − y)/m for one-hot labels", () => {
    fc.assert(
      fc.property(
        shape(2, 3).chain((s) => fc.tuple(fc.constant(s), dataFor(s), labelsFor(s), value(-2, 2))),
        ([s, z, y, dL]) => {
          fc.pre(rowsOf(y, s).every((row) => row.filter((v) => v === 1).length === 1 && row.every((v) => v === 0 || v === 1)));
          const m = s[0]!;
          const probs = rowsOf(z, s).flatMap(softmaxRow);
          const grad = runOp("softmax_cross_entropy_grad", [
            { shape: s, data: z },
            { shape: s, data: y },
            { shape: [], data: [dL] },
          ]);
          expectClose(
            grad,
            probs.map((p, k) => (dL * (p - y[k]!)) / m),
            1e-14,
          );
        },
      ),
    );
  });
});

describe("matmul, sum_to, broadcast_to", () => {
  it("matmul is Σₚ op(A)ᵢₚ op(B)ₚⱼ for every transpose combination, in float64 and float32, with zeros, NaN and ±∞", () => {
    fc.assert(
      fc.property(
        fc
          .tuple(dim, dim, dim, fc.boolean(), fc.boolean())
          .chain(([m, k, n, ta, tb]) =>
            fc.tuple(dataFor(ta ? [k, m] : [m, k], withSpecials()), dataFor(tb ? [n, k] : [k, n], withSpecials())).map(([a, b]) => ({ m, k, n, ta, tb, a, b })),
          ),
        ({ m, k, n, ta, tb, a, b }) => {
          const A = (i: number, p: number) => (ta ? a[p * m + i]! : a[i * k + p]!);
          const B = (p: number, j: number) => (tb ? b[j * k + p]! : b[p * n + j]!);
          // The IEEE sum, except for the one documented difference (src/ops/matmul.ts): without transpose_b
          // the kernel skips the terms whose op(A)ᵢₚ is ±0, so where such a term's Bₚⱼ is NaN or ±∞ — which
          // IEEE turns into NaN (0·∞, 0·NaN) — Cᵢⱼ is the sum of the other terms.
          const expected = Array.from({ length: m * n }, (_, c) => {
            const [i, j] = [Math.floor(c / n), c % n];
            const skipsSpecial = !tb && Array.from({ length: k }, (_, p) => p).some((p) => A(i, p) === 0 && !Number.isFinite(B(p, j)));
            let sum = 0;
            for (let p = 0; p < k; p++) if (!(skipsSpecial && A(i, p) === 0)) sum += A(i, p) * B(p, j);
            return sum;
          });
          const inputs = [
            { shape: ta ? [k, m] : [m, k], data: a },
            { shape: tb ? [n, k] : [k, n], data: b },
          ];
          expectClose(runOp("matmul", inputs, { attrs: { transpose_a: ta, transpose_b: tb } }), expected, 1e-13);
          expectClose(runOp("matmul", inputs, { attrs: { transpose_a: ta, transpose_b: tb }, dtype: "float32" }), expected, 1e-5);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("sum_to adds up every element mapped to the same target index; broadcast_to copies it back — NaN and ±∞ included", () => {
    fc.assert(
      fc.property(
        tensorOf(shape(0, 3), withSpecials()).chain((x) => broadcastPatternOf(x.shape).map((target) => ({ x, target }))),
        ({ x, target }) => {
          const expected = new Array<number>(product(target)).fill(0);
          [...indices(x.shape)].forEach((i, flat) => (expected[sourceIndex(i, target)]! += x.data[flat]!));
          const summed = runOp("sum_to", [x], { attrs: { shape: target } });
          expectClose(summed, expected, 1e-13);
          const back = runOp("broadcast_to", [{ shape: target, data: [...summed] }], { attrs: { shape: x.shape } });
          expect(
            bitwiseEqual(
              back,
              [...indices(x.shape)].map((i) => summed[sourceIndex(i, target)]!),
            ),
          ).toBe(true);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe("dropout", () => {
  const ones = (n: number) => ({ shape: [n], data: new Array<number>(n).fill(1) });

  it("is the identity in evaluation mode, and in training mode with rate 0 or no rate", () => {
    fc.assert(
      fc.property(tensorOf(shape(0, 3), withSpecials()), value(0, 0.95), fc.nat(), (x, rate, step) => {
        expect(bitwiseEqual(runOp("dropout", [x], { attrs: { rate }, training: false, step }), x.data)).toBe(true);
        expect(bitwiseEqual(runOp("dropout", [x], { attrs: { rate: 0 }, training: true, step }), x.data)).toBe(true);
        expect(bitwiseEqual(runOp("dropout", [x], { attrs: {}, training: true, step }), x.data)).toBe(true);
      }),
    );
  });

  /**
   * The properties below hold whatever hash draws the mask: none of them computes the mask the way the
   * kernel does. Their statistical bounds are five standard deviations of a binomial count, and each
   * property runs on a fixed fast-check seed, so a pass or a failure is the same on every run.
   */
  const STATISTICAL = { numRuns: 50, seed: 17 } as const;
  /** Nonzero inputs of varied sizes and both signs, so that a dropped element (0) is told from a kept one. */
  const varied = (n: number) => ({ shape: [n], data: Array.from({ length: n }, (_, i) => (i % 2 ? -1 : 1) * (0.5 + ((i * 7919) % 1000) / 1000)) });
  /** Which elements a training-mode output kept: those that are not 0 (every input is nonzero). */
  const keptOf = (y: ArrayLike<number>) => Array.from(y, (v) => v !== 0);
  const n = 10000;
  /** |count/n − p| within five standard deviations of a binomial(n, p) proportion. */
  const expectBinomial = (count: number, n: number, p: number, what: string) => {
    expect(Math.abs(count / n - p), `${what}: ${count} of ${n}, expected about ${p * n}`).toBeLessThan(5 * Math.sqrt((p * (1 - p)) / n));
  };

  it("in training mode each output is 0 or x/(1 − rate), the same mask in float64 and float32 and on every run", () => {
    const x = varied(n);
    fc.assert(
      fc.property(value(0.05, 0.9), fc.nat(), fc.nat(), (rate, seed, step) => {
        const options = { attrs: { rate }, training: true, step, seed, id: "drop" } as const;
        const y64 = runOp("dropout", [x], { ...options, dtype: "float64" });
        const y32 = runOp("dropout", [x], { ...options, dtype: "float32" });
        for (const [y, rel] of [
          [y64, 2 ** -51],
          [y32, 2 ** -22],
        ] as const) {
          for (let i = 0; i < n; i++) {
            if (y[i] === 0) continue;
            const want = x.data[i]! / (1 - rate);
            if (!(Math.abs(y[i]! - want) <= rel * Math.abs(want))) expect.fail(`element ${i}: ${y[i]} is neither 0 nor x/(1 − rate) = ${want}`);
          }
        }
        expect(keptOf(y32)).toEqual(keptOf(y64));
        expect(bitwiseEqual(runOp("dropout", [x], { ...options, dtype: "float64" }), y64)).toBe(true);
      }),
      { numRuns: 30 },
    );
  });

  it("keeps each element with probability 1 − rate, independently of its neighbour", () => {
    const x = varied(n);
    fc.assert(
      fc.property(value(0.05, 0.9), fc.nat(), fc.nat(), (rate, seed, step) => {
        const kept = keptOf(runOp("dropout", [x], { attrs: { rate }, training: true, step, seed, id: "drop" }));
        expectBinomial(kept.filter(Boolean).length, n, 1 - rate, "kept");
        // Disjoint pairs (2i, 2i + 1), both kept: (1 − rate)² of them if the two are drawn independently.
        let both = 0;
        for (let i = 0; i + 1 < n; i += 2) if (kept[i] && kept[i + 1]) both++;
        expectBinomial(both, n / 2, (1 - rate) ** 2, "pairs both kept");
      }),
      STATISTICAL,
    );
  });

  it("draws an independent mask for another step, seed or key: two masks agree on about rate² + (1 − rate)² of the elements", () => {
    const x = varied(n);
    fc.assert(
      fc.property(value(0.05, 0.9), fc.nat({ max: 2 ** 31 - 2 }), fc.nat({ max: 2 ** 31 - 2 }), (rate, seed, step) => {
        const mask = (o: { step: number; seed: number; id: string }) =>
          keptOf(runOp("dropout", [x], { attrs: { rate }, training: true, step: o.step, seed: o.seed, id: o.id }));
        const base = mask({ step, seed, id: "d" });
        for (const [what, other] of [
          ["the next step", mask({ step: step + 1, seed, id: "d" })],
          ["another seed", mask({ step, seed: seed + 1, id: "d" })],
          ["another key", mask({ step, seed, id: "e" })],
        ] as const) {
          const agree = base.filter((k, i) => k === other[i]).length;
          expectBinomial(agree, n, rate * rate + (1 - rate) * (1 - rate), what);
        }
      }),
      STATISTICAL,
    );
  });

  it("draws the same mask for the same seed, step and key, and another one when any of them changes", () => {
    const n = 4000;
    const rate = 0.5;
    const mask = (options: { step: number; seed?: number; id?: string; key?: string }) =>
      runOp("dropout", [ones(n)], {
        attrs: options.key ? { rate, key: options.key } : { rate },
        training: true,
        step: options.step,
        seed: options.seed ?? 1,
        id: options.id ?? "d",
      });
    const base = mask({ step: 5 });
    const differsEnough = (other: Float64Array) => {
      let differ = 0;
      for (let i = 0; i < n; i++) if (other[i] !== base[i]) differ++;
      // Two independent masks at rate 0.5 disagree on about half of the elements.
      return Math.abs(differ / n - 0.5) < 0.05;
    };
    expect(bitwiseEqual(mask({ step: 5 }), base)).toBe(true);
    expect(differsEnough(mask({ step: 6 }))).toBe(true);
    expect(differsEnough(mask({ step: 5, seed: 2 }))).toBe(true);
    expect(differsEnough(mask({ step: 5, id: "other" }))).toBe(true);
    // The key names the stream: a node keyed "d" draws the mask of the node whose id is "d".
    expect(bitwiseEqual(mask({ step: 5, id: "other", key: "d" }), base)).toBe(true);
  });

  it("its backward pass drops exactly the elements the forward pass dropped, and scales the rest by 1/(1 − rate)", () => {
    const graph = (rate: number): Graph => ({
      name: "dropout",
      nodes: [
        inputNode("x", [400]),
        node("d", "dropout", ["x"], { rate }),
        inputNode("w", [400]),
        node("dw", "mul", ["d", "w"]),
        node("loss", "sum_to", ["dw"], { shape: [] }),
      ],
      loss: "loss",
    });
    const x = varied(400).data;
    const w = x.map((v) => -v);
    fc.assert(
      fc.property(value(0.05, 0.9), fc.nat(), fc.nat(), (rate, seed, step) => {
        const g = differentiate(graph(rate), { wrt: ["x"] });
        const dx = g.gradients!.x!;
        const out = run(g, { outputs: ["d", dx], feeds: { x, w }, training: true, step, seed });
        const forward = keptOf(out.d!);
        expect(keptOf(out[dx]!)).toEqual(forward);
        for (let i = 0; i < 400; i++) if (forward[i]) expect(out[dx]![i]).toBeCloseTo(w[i]! / (1 - rate), 12);
      }),
      { numRuns: 100 },
    );
  });

  it("its gradient is a dropout with the same rate keyed by the forward node, so it regenerates the same mask", () => {
    const graph: Graph = {
      name: "dropout",
      nodes: [
        inputNode("x", [50]),
        node("d", "dropout", ["x"], { rate: 0.4 }),
        inputNode("w", [50]),
        node("dw", "mul", ["d", "w"]),
        node("loss", "sum_to", ["dw"], { shape: [] }),
      ],
      loss: "loss",
    };
    const g = differentiate(graph, { wrt: ["x"] });
    const backward = g.nodes.find((n) => n.op === "dropout" && n.id.startsWith("grad/"))!;
    expect(backward.attrs).toEqual({ rate: 0.4, key: "d" });
    const x = Array.from({ length: 50 }, (_, i) => i + 1);
    const w = Array.from({ length: 50 }, (_, i) => 2 - i / 10);
    for (const step of [0, 1, 2]) {
      const out = run(g, { outputs: ["d", g.gradients!.x!], feeds: { x, w }, training: true, step, seed: 9 });
      const forward = out.d!;
      const grad = out[g.gradients!.x!]!;
      for (let i = 0; i < 50; i++) {
        // d = x·mask/(1−p), so ∂loss/∂x = w·mask/(1−p) = w·d/x.
        expect(grad[i]).toBeCloseTo((w[i]! * forward[i]!) / x[i]!, 12);
      }
      expect(forward.some((v) => v === 0) && forward.some((v) => v !== 0)).toBe(true);
    }
    // An explicit key carries over to the backward node.
    const keyed = differentiate({ ...graph, nodes: graph.nodes.map((n) => (n.id === "d" ? { ...n, attrs: { rate: 0.4, key: "k" } } : n)) }, { wrt: ["x"] });
    expect(keyed.nodes.find((n) => n.op === "dropout" && n.id.startsWith("grad/"))!.attrs).toEqual({ rate: 0.4, key: "k" });
  });
});
