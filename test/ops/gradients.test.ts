/**
 * Every op's gradient rule, against a float64 central difference, on random shapes and values, for each
 * input that is differentiable. The op's output is weighted by random numbers and summed, so that every
 * element of its gradient matters (a plain sum of a softmax, for one, would be constant).
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { checkGradients } from "../../src/check/gradcheck.js";
import type { Attrs, Graph } from "../../src/graph/ir.js";
import { inferShapes } from "../../src/graph/shapes.js";
import { awayFromZero, broadcastPatternOf, dataFor, dim, labelsFor, rate, shape, tensorOf, value, type Tensor } from "../support/arbitraries.js";
import { inputNode, node, product } from "../support/run.js";

interface OpCase {
  op: string;
  inputs: Tensor[];
  /** Indices of the inputs whose gradients are checked. */
  wrt: number[];
  attrs?: Attrs;
  training?: boolean;
}

/** loss = Σ (op(x0, x1, …) ⊙ w): checks d loss / d xᵢ for the inputs in `wrt`. */
function expectGradientsPass(c: OpCase, weights: readonly number[]): void {
  const ids = c.inputs.map((_, i) => `x${i}`);
  const partial: Graph = { name: c.op, nodes: [...c.inputs.map((x, i) => inputNode(ids[i]!, x.shape)), node("y", c.op, ids, c.attrs ?? {})] };
  const yShape = inferShapes(partial).get("y")! as number[];
  const graph: Graph = {
    ...partial,
    nodes: [...partial.nodes, inputNode("w", yShape), node("weighted", "mul", ["y", "w"]), node("loss", "sum_to", ["weighted"], { shape: [] })],
    loss: "loss",
  };
  const feeds: Record<string, number[]> = Object.fromEntries(c.inputs.map((x, i) => [ids[i]!, x.data]));
  feeds.w = [...weights];
  const report = checkGradients(graph, {
    wrt: c.wrt.map((i) => ids[i]!),
    feeds,
    sizes: {},
    maxChecksPerValue: Infinity,
    training: c.training ?? true,
  });
  expect(report.rows).toHaveLength(c.wrt.length);
  for (const row of report.rows) {
    expect(row.checked).toBe(row.elements);
    expect(row, `d loss / d ${row.id} for ${c.op} ${JSON.stringify(c.inputs)}`).toMatchObject({ pass: true });
  }
}

/** A property over cases: the weights are drawn once the output's size is known. */
function gradientProperty(cases: fc.Arbitrary<OpCase>, numRuns = 200): void {
  fc.assert(
    fc.property(cases, fc.array(value(-2, 2), { minLength: 64, maxLength: 64 }), (c, pool) => {
      // Weights from a fixed pool, cycled to the output's length (at most 64 elements here).
      const ids = c.inputs.map((_, i) => `x${i}`);
      const partial: Graph = { name: c.op, nodes: [...c.inputs.map((x, i) => inputNode(ids[i]!, x.shape)), node("y", c.op, ids, c.attrs ?? {})] };
      const n = product(inferShapes(partial).get("y")! as number[]);
      expectGradientsPass(
        c,
        Array.from({ length: n }, (_, i) => pool[i % pool.length]!),
      );
    }),
    { numRuns },
  );
}

const unaryCase = (op: string, values = value(), minRank = 0) => tensorOf(shape(minRank, 3), values).map((x) => ({ op, inputs: [x], wrt: [0] }));

/** Two inputs whose shapes broadcast together, in a random pattern, in random order. */
const broadcastPair = shape(0, 3).chain((full) =>
  fc.tuple(broadcastPatternOf(full), broadcastPatternOf(full), fc.boolean()).chain(([a, b, whole]) => {
    // Often keep one operand whole, the common case ([m, n] with a bias [n]).
    const left = whole ? full : a;
    return fc.tuple(dataFor(left), dataFor(b)).map(([da, db]) => [
      { shape: left, data: da },
      { shape: b, data: db },
    ]);
  }),
);

describe("op gradients pass a float64 central-difference check", () => {
  for (const op of ["add", "sub", "mul"]) {
    it(`${op}, with random broadcast patterns ([m,n]+[n], [m,1]+[1,n], [n]+[m,n], scalars)`, () => {
      gradientProperty(
        broadcastPair.map((inputs) => ({ op, inputs, wrt: [0, 1] })),
        300,
      );
    });
  }

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

  it("matmul, in all four transpose combinations", () => {
    gradientProperty(
      fc.tuple(dim, dim, dim, fc.boolean(), fc.boolean()).chain(([m, k, n, ta, tb]) => {
        const a = ta ? [k, m] : [m, k];
        const b = tb ? [n, k] : [k, n];
        return fc.tuple(dataFor(a), dataFor(b)).map(([da, db]) => ({
          op: "matmul",
          inputs: [
            { shape: a, data: da },
            { shape: b, data: db },
          ],
          wrt: [0, 1],
          attrs: { transpose_a: ta, transpose_b: tb },
        }));
      }),
      300,
    );
  });

  it("relu, away from its kink at 0", () => gradientProperty(unaryCase("relu", awayFromZero)));
  it("sigmoid", () => gradientProperty(unaryCase("sigmoid", value(-6, 6))));
  it("tanh", () => gradientProperty(unaryCase("tanh")));
  it("neg", () => gradientProperty(unaryCase("neg")));
  it("softmax, along the last axis", () => gradientProperty(unaryCase("softmax", value(-5, 5), 1)));

  it("dropout, in training mode (a fixed mask) and in evaluation mode", () => {
    gradientProperty(
      fc
        .tuple(tensorOf(shape(1, 3)), rate, fc.option(fc.constantFrom("a", "b")), fc.boolean())
        .map(([x, rate, key, training]) => ({ op: "dropout", inputs: [x], wrt: [0], attrs: (key === null ? { rate } : { rate, key }) as Attrs, training })),
    );
  });

  it("sum_to, to random targets that broadcast back", () => {
    gradientProperty(
      tensorOf(shape(0, 3)).chain((x) => broadcastPatternOf(x.shape).map((target) => ({ op: "sum_to", inputs: [x], wrt: [0], attrs: { shape: target } }))),
    );
  });

  it("broadcast_to, from random shapes that broadcast to the target", () => {
    gradientProperty(
      shape(0, 3).chain((target) =>
        broadcastPatternOf(target).chain((from) =>
          dataFor(from).map((data) => ({ op: "broadcast_to", inputs: [{ shape: from, data }], wrt: [0], attrs: { shape: target } })),
        ),
      ),
    );
  });

  it("cross_entropy, with respect to the probabilities", () => {
    gradientProperty(
      shape(2, 3).chain((s) =>
        fc.tuple(dataFor(s, value(0.05, 1)), labelsFor(s)).map(([p, y]) => ({
          op: "cross_entropy",
          inputs: [
            { shape: s, data: p },
            { shape: s, data: y },
          ],
          wrt: [0],
        })),
      ),
    );
  });

  it("softmax_cross_entropy, with respect to the logits, for one-hot and for unnormalised labels", () => {
    gradientProperty(
      shape(2, 3).chain((s) =>
        fc.tuple(dataFor(s, value(-5, 5)), labelsFor(s)).map(([z, y]) => ({
          op: "softmax_cross_entropy",
          inputs: [
            { shape: s, data: z },
            { shape: s, data: y },
          ],
          wrt: [0],
        })),
      ),
    );
  });
});
