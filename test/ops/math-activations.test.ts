/**
 * The elementwise maths and activations — exp, log, div, sqrt, abs, sign, pow, maximum, minimum,
 * leaky_relu, gelu, softplus, log_softmax: shape rules on random shapes, kernels against naive formulas
 * written here, IEEE's special values as NumPy gives them, the gradient where the function has none
 * (each choice pinned), and for each gradient rule a wrong variant that checkOp must reject.
 * (test/ops/gradients.test.ts checks every built-in's gradient on random cases.)
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { differentiate } from "../../src/autodiff/differentiate.js";
import { checkOp, formatOpFailure } from "../../src/check/op-check.js";
import type { Attrs, Graph } from "../../src/graph/ir.js";
import { broadcastShapes } from "../../src/ops/broadcast.js";
import { erfc } from "../../src/ops/gelu.js";
import type { GradientRule, OpDefinition } from "../../src/ops/op.js";
import { getOp, registerOp } from "../../src/ops/registry.js";
import { broadcastPatternOf, dataFor, shape, value, withSpecials } from "../support/arbitraries.js";
import { indices, inputNode, node, product, run, runOp } from "../support/run.js";

/** Each value as text, −0 as "-0": so that −0 and NaN are told apart and matched. */
const show = (a: ArrayLike<number>) => Array.from(a).map((v) => (Object.is(v, -0) ? "-0" : String(v)));
const same = (a: ArrayLike<number>, b: readonly number[]) => expect(show(a)).toEqual(show(b));

/** The gradient of loss = Σ op(inputs…) with respect to each input, in float64. */
function gradients(op: string, inputs: { shape: number[]; data: number[] }[], attrs: Attrs = {}): Float64Array[] {
  const ids = inputs.map((_, i) => `x${i}`);
  const graph: Graph = {
    name: `grad ${op}`,
    nodes: [...inputs.map((x, i) => inputNode(ids[i]!, x.shape)), node("y", op, ids, attrs), node("loss", "sum", ["y"])],
    loss: "loss",
  };
  const backward = differentiate(graph, { wrt: ids });
  const out = run(backward, { outputs: ids.map((id) => `grad/${id}`), feeds: Object.fromEntries(inputs.map((x, i) => [ids[i]!, x.data])) });
  return ids.map((id) => out[`grad/${id}`]!);
}

describe("shape rules", () => {
  const unary = ["exp", "log", "sqrt", "abs", "sign", "softplus", "gelu", "leaky_relu"];
  it("the elementwise unary ops keep the input's shape, symbols too", () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.integer({ min: 1, max: 9 }), fc.constant("batch")), { maxLength: 4 }), fc.constantFrom(...unary), (x, op) => {
        expect(getOp(op)!.shape([x], {})).toEqual(x);
        expect(getOp("pow")!.shape([x], { exponent: 2 })).toEqual(x);
      }),
    );
  });

  it("div, maximum and minimum broadcast as add does", () => {
    fc.assert(
      fc.property(
        shape(0, 3).chain((full) => fc.tuple(broadcastPatternOf(full), broadcastPatternOf(full))),
        fc.constantFrom("div", "maximum", "minimum"),
        ([a, b], op) => {
          expect(getOp(op)!.shape([a, b], {})).toEqual(getOp("add")!.shape([a, b], {}));
        },
      ),
    );
    expect(
      getOp("div")!.shape(
        [
          ["batch", 10],
          ["batch", 1],
        ],
        {},
      ),
    ).toEqual(["batch", 10]);
    expect(() => getOp("maximum")!.shape([[3], [4]], {})).toThrow(/cannot be broadcast together/);
  });

  it("log_softmax needs an axis", () => {
    expect(getOp("log_softmax")!.shape([["batch", 10]], {})).toEqual(["batch", 10]);
    expect(() => getOp("log_softmax")!.shape([[]], {})).toThrow(/at least one axis/);
  });
});

describe("kernels against naive formulas", () => {
  const naiveUnary: [string, Attrs, (x: number) => number, fc.Arbitrary<number>][] = [
    ["exp", {}, (x) => Math.E ** x, value(-20, 20)],
    ["log", {}, (x) => Math.log(x), value(0.001, 100)],
    ["sqrt", {}, (x) => x ** 0.5, value(0, 100)],
    ["abs", {}, (x) => (x < 0 ? -x : x), value()],
    ["pow", { exponent: 3 }, (x) => x * x * x, value()],
    ["pow", { exponent: -0.5 }, (x) => 1 / Math.sqrt(x), value(0.01, 9)],
    ["leaky_relu", {}, (x) => (x > 0 ? x : 0.01 * x), value()],
    ["leaky_relu", { alpha: 0.3 }, (x) => (x > 0 ? x : 0.3 * x), value()],
    ["softplus", {}, (x) => Math.log(1 + Math.exp(x)), value(-30, 30)],
    // The tanh form as GPT-2 writes it.
    ["gelu", { approximate: "tanh" }, (x) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3))), value(-6, 6)],
  ];
  it.each(naiveUnary)("%s %j", (op, attrs, f, values) => {
    fc.assert(
      fc.property(
        shape(0, 3).chain((s) => fc.tuple(fc.constant(s), dataFor(s, values))),
        ([s, data]) => {
          const out = runOp(op, [{ shape: s, data }], { attrs });
          data.forEach((x, k) => {
            const expected = f(x);
            expect(Math.abs(out[k]! - expected), `${op}(${x}) = ${out[k]}, expected ${expected}`).toBeLessThanOrEqual(1e-13 * Math.max(1, Math.abs(expected)));
          });
        },
      ),
      { numRuns: 50 },
    );
  });

  it("gelu, exact: x·Φ(x) with Φ by Simpson's rule on the normal density", () => {
    // Φ(x) = ½ + ∫₀ˣ φ, integrated with 2000 Simpson intervals: independent of the kernel's erfc.
    const phi = (t: number) => Math.exp((-t * t) / 2) / Math.sqrt(2 * Math.PI);
    const cdf = (x: number) => {
      const n = 2000;
      const h = x / n;
      let s = phi(0) + phi(x);
      for (let i = 1; i < n; i++) s += (i % 2 ? 4 : 2) * phi(i * h);
      return 0.5 + (s * h) / 3;
    };
    const xs = [-5, -3.3, -1, -0.25, 0, 0.1, 0.7, 1, 2.2, 4, 6];
    const out = runOp("gelu", [{ shape: [xs.length], data: xs }]);
    xs.forEach((x, k) => expect(Math.abs(out[k]! - x * cdf(x))).toBeLessThan(1e-13));
  });

  it("erfc is within 1e-13 of tabulated values, and keeps its digits far out in both tails", () => {
    const table: [number, number][] = [
      [0, 1],
      [0.1, 0.8875370839817151],
      [0.5, 0.4795001221869535],
      [1, 0.15729920705028513],
      [2, 0.004677734981047266],
      [2.5, 0.000406952017444959],
      [3, 2.209049699858544e-5],
      [5, 1.5374597944280349e-12],
      [10, 2.088487583762545e-45],
      [-1, 1.8427007929497148],
      [-3, 1.9999779095030015],
    ];
    for (const [z, v] of table) expect(Math.abs(erfc(z) - v) / v, `erfc(${z})`).toBeLessThan(1e-13);
    expect(erfc(30)).toBe(0);
    expect(erfc(-30)).toBe(2);
    expect(erfc(NaN)).toBeNaN();
  });

  it("log_softmax: log(e^xᵢ / Σ e^x) on moderate rows, and finite far beyond where that formula under- or overflows", () => {
    fc.assert(
      fc.property(
        shape(1, 3).chain((s) => fc.tuple(fc.constant(s), dataFor(s, value(-10, 10)))),
        ([s, data]) => {
          const out = runOp("log_softmax", [{ shape: s, data }]);
          const n = s[s.length - 1]!;
          data.forEach((x, k) => {
            const row = data.slice(k - (k % n), k - (k % n) + n);
            const expected = Math.log(Math.exp(x) / row.reduce((t, u) => t + Math.exp(u), 0));
            expect(Math.abs(out[k]! - expected)).toBeLessThan(1e-12);
          });
        },
      ),
      { numRuns: 100 },
    );
    same(runOp("log_softmax", [{ shape: [2, 2], data: [1000, 0, -1000, -1000] }]), [0, -1000, -Math.LN2, -Math.LN2]);
    same(runOp("log_softmax", [{ shape: [2], data: [0, -200] }], { dtype: "float32" }), [0, -200]);
  });

  it("div, maximum and minimum: elementwise over broadcast operands, by index", () => {
    const cases = shape(0, 3).chain((full) =>
      fc
        .tuple(broadcastPatternOf(full), broadcastPatternOf(full))
        .chain(([a, b]) => fc.tuple(fc.constant(a), dataFor(a), fc.constant(b), dataFor(b, withSpecials()))),
    );
    const formulas: Record<string, (a: number, b: number) => number> = {
      div: (a, b) => a / b,
      maximum: (a, b) => (Number.isNaN(a) || Number.isNaN(b) ? NaN : a >= b ? a : b),
      minimum: (a, b) => (Number.isNaN(a) || Number.isNaN(b) ? NaN : a <= b ? a : b),
    };
    fc.assert(
      fc.property(cases, fc.constantFrom("div", "maximum", "minimum"), ([a, da, b, db], op) => {
        const outShape = broadcastShapes(a, b) as number[];
        const out = runOp(op, [
          { shape: a, data: da },
          { shape: b, data: db },
        ]);
        const at = (s: number[], data: number[], index: number[]) => {
          let flat = 0;
          s.forEach((d, i) => (flat = flat * d + (d === 1 ? 0 : index[index.length - s.length + i]!)));
          return data[flat]!;
        };
        const expected = [...indices(outShape)].map((index) => formulas[op]!(at(a, da, index), at(b, db, index)));
        expect(out.length).toBe(product(outShape));
        // ±0 may come out either way for maximum(0, −0): compare the values with ==, NaN with NaN.
        expected.forEach((v, k) => (Number.isNaN(v) ? expect(out[k]).toBeNaN() : expect(out[k] === v, `${op} [${k}]: ${out[k]} vs ${v}`).toBe(true)));
      }),
      { numRuns: 200 },
    );
  });
});

describe("IEEE special values, as NumPy gives them", () => {
  const specials: [string, Attrs, number[], number[]][] = [
    ["exp", {}, [-Infinity, Infinity, NaN, 710, -0], [0, Infinity, NaN, Infinity, 1]],
    ["log", {}, [0, -0, -1, Infinity, NaN, 1], [-Infinity, -Infinity, NaN, Infinity, NaN, 0]],
    ["sqrt", {}, [-1, -0, 0, Infinity, -Infinity, NaN], [NaN, -0, 0, Infinity, NaN, NaN]],
    ["abs", {}, [-0, -Infinity, NaN, -2.5], [0, Infinity, NaN, 2.5]],
    ["sign", {}, [-0, 0, -3, 7, NaN, -Infinity], [-0, 0, -1, 1, NaN, -1]],
    ["pow", { exponent: 1 / 3 }, [-8, 8, 0], [NaN, 2, 0]],
    ["pow", { exponent: -1 }, [0, -0, Infinity], [Infinity, -Infinity, 0]],
    ["pow", { exponent: 0 }, [NaN, 0, Infinity], [1, 1, 1]],
    ["leaky_relu", { alpha: 0.5 }, [NaN, -Infinity, Infinity, -0], [NaN, -Infinity, Infinity, -0]],
    ["softplus", {}, [1000, -1000, Infinity, -Infinity, NaN, 0], [1000, 0, Infinity, 0, NaN, Math.LN2]],
    ["gelu", {}, [-Infinity, Infinity, NaN, 0, -40], [-0, Infinity, NaN, 0, -0]],
    ["gelu", { approximate: "tanh" }, [-Infinity, Infinity, NaN, 0], [-0, Infinity, NaN, 0]],
  ];
  it.each(specials)("%s %j", (op, attrs, xs, expected) => {
    same(runOp(op, [{ shape: [xs.length], data: xs }], { attrs }), expected);
  });

  it("div by zero is ±∞, 0/0 NaN", () => {
    same(
      runOp("div", [
        { shape: [4], data: [1, -1, 0, 1] },
        { shape: [4], data: [0, 0, 0, -0] },
      ]),
      [Infinity, -Infinity, NaN, -Infinity],
    );
  });

  it("maximum and minimum propagate NaN from either side", () => {
    for (const op of ["maximum", "minimum"]) {
      const out = runOp(op, [
        { shape: [3], data: [NaN, 1, NaN] },
        { shape: [3], data: [1, NaN, NaN] },
      ]);
      expect(show(out)).toEqual(["NaN", "NaN", "NaN"]);
    }
  });
});

describe("the gradient where the function has no derivative (each choice pinned)", () => {
  it("abs at ±0: 0, as PyTorch and JAX (sign(0) = 0)", () => {
    same(gradients("abs", [{ shape: [4], data: [0, -0, 2, -2] }])[0]!, [0, -0, 1, -1]);
  });

  it("maximum and minimum at a tie: half to each side, whatever the argument order", () => {
    for (const op of ["maximum", "minimum"]) {
      const [da, db] = gradients(op, [
        { shape: [4], data: [1, 2, 3, 0] },
        { shape: [4], data: [1, 5, 0, -0] },
      ]);
      const larger = op === "maximum";
      same(da!, [0.5, larger ? 0 : 1, larger ? 1 : 0, 0.5]);
      same(db!, [0.5, larger ? 1 : 0, larger ? 0 : 1, 0.5]);
    }
    // Broadcast: a scalar tied with two of three elements gets both halves, summed.
    const [, db] = gradients("maximum", [
      { shape: [3], data: [2, 2, 1] },
      { shape: [], data: [2] },
    ]);
    same(db!, [2]);
  });

  it("leaky_relu at 0: α (relu's rule, Z > 0, with α on the other side), as PyTorch", () => {
    same(gradients("leaky_relu", [{ shape: [3], data: [0, -0, 1] }], { alpha: 0.25 })[0]!, [0.25, 0.25, 1]);
  });

  it("sqrt and log at 0: +∞; pow with exponent 0: 0 everywhere, even at 0", () => {
    same(gradients("sqrt", [{ shape: [1], data: [0] }])[0]!, [Infinity]);
    same(gradients("log", [{ shape: [2], data: [0, -0] }])[0]!, [Infinity, -Infinity]);
    same(gradients("pow", [{ shape: [2], data: [0, 3] }], { exponent: 0 })[0]!, [0, 0]);
    same(gradients("pow", [{ shape: [2], data: [0, 3] }], { exponent: 2 })[0]!, [0, 6]);
  });

  it("gelu's gradient at ±∞: 1 and 0 (the limits), in both forms", () => {
    for (const attrs of [{}, { approximate: "tanh" }] as Attrs[])
      same(gradients("gelu", [{ shape: [3], data: [Infinity, -Infinity, 0] }], attrs)[0]!, [1, 0, 0.5]);
  });
});

describe("a wrong gradient is rejected by checkOp", () => {
  /** The op under another name with a wrong gradient rule. */
  function variant(name: string, gradient: GradientRule<any>): OpDefinition<any> {
    const def = { ...getOp(name)!, name: `${name}_wrong_gradient`, gradient };
    registerOp(def, { replace: true });
    return def;
  }
  const wrong: [string, string, GradientRule<any>][] = [
    ["exp", "dy, forgetting the factor eˣ", (g) => [g.dy]],
    ["log", "dy ⊙ x instead of dy / x", (g) => [g.emit("mul", [g.dy, g.inputs[0]!])]],
    ["div", "db with its sign flipped", (g) => [g.emit("div", [g.dy, g.inputs[1]!]), g.emit("div", [g.emit("mul", [g.dy, g.output]), g.inputs[1]!])]],
    ["div", "da and db swapped", (g) => [g.emit("neg", [g.emit("div", [g.emit("mul", [g.dy, g.output]), g.inputs[1]!])]), g.emit("div", [g.dy, g.inputs[1]!])]],
    ["sqrt", "dy / y, the factor ½ forgotten", (g) => [g.emit("div", [g.dy, g.output])]],
    ["abs", "dy, the sign forgotten", (g) => [g.dy]],
    [
      "pow",
      "p·x^p instead of p·x^(p−1)",
      (g) => [g.emit("mul", [g.dy, g.emit("mul", [g.emit("constant", [], { shape: [], value: g.node.attrs.exponent }), g.output])])],
    ],
    // All of a tie to a: the central difference at a tie measures ½ (ties come from the exact zeros drawn).
    [
      "maximum",
      "a tie given wholly to a: sign(maximum_mask(a, b)), 1 at a tie instead of ½",
      (g) => [
        g.emit("mul", [g.dy, g.emit("sign", [g.emit("maximum_mask", [g.inputs[0]!, g.inputs[1]!])])]),
        g.emit("mul", [g.dy, g.emit("maximum_mask", [g.inputs[1]!, g.inputs[0]!])]),
      ],
    ],
    [
      "minimum",
      "maximum's gradient",
      (g) => [
        g.emit("mul", [g.dy, g.emit("maximum_mask", [g.inputs[0]!, g.inputs[1]!])]),
        g.emit("mul", [g.dy, g.emit("maximum_mask", [g.inputs[1]!, g.inputs[0]!])]),
      ],
    ],
    ["leaky_relu", "relu's gradient, α forgotten", (g) => [g.emit("relu_grad", [g.dy, g.inputs[0]!])]],
    [
      "gelu",
      "the other form's gradient",
      (g) => [g.emit("gelu_grad", [g.dy, g.inputs[0]!], { approximate: g.node.attrs.approximate === "tanh" ? "none" : "tanh" })],
    ],
    ["softplus", "dy ⊙ sigmoid(−x)", (g) => [g.emit("mul", [g.dy, g.emit("sigmoid", [g.emit("neg", [g.inputs[0]!])])])]],
    ["log_softmax", "dy − softmax ⊙ dy (the row sum forgotten)", (g) => [g.emit("sub", [g.dy, g.emit("mul", [g.emit("exp", [g.output]), g.dy])])]],
  ];
  it.each(wrong)("%s: %s", (name, _what, gradient) => {
    const report = checkOp(variant(name, gradient));
    expect(report.status, formatOpFailure(report)).toBe("fail");
    expect(report.failure!.kind).toBe("gradient");
  });
});

describe("a custom op's gradient built from the built-ins alone", () => {
  /** An elementwise op defined as a user's module would, registered and checked. */
  function customOp(name: string, f: (x: number) => number, gradient: GradientRule<any>): OpDefinition<any> {
    const def: OpDefinition<any> = {
      name,
      summary: `${name}, a user's op`,
      inputs: ["x"],
      attrs: { type: "object", additionalProperties: false },
      shape: ([x]) => x!,
      kernel:
        ({ outputShape }) =>
        ([x], out) => {
          for (let i = 0; i < product(outputShape); i++) out[i] = f(x![i]!);
        },
      gradient,
    };
    registerOp(def, { replace: true });
    return def;
  }

  it("softsign, x / (1 + |x|): dy ⊙ (1 + |x|)⁻², from constant, abs, add, pow and mul", () => {
    const softsign = customOp(
      "test_softsign",
      (x) => x / (1 + Math.abs(x)),
      (g) => {
        const onePlusAbs = g.emit("add", [g.emit("constant", [], { shape: [], value: 1 }), g.emit("abs", [g.inputs[0]!])]);
        return [g.emit("mul", [g.dy, g.emit("pow", [onePlusAbs], { exponent: -2 })])];
      },
    );
    const report = checkOp(softsign);
    expect(report.status, formatOpFailure(report)).toBe("pass");
  });

  it("ELU with α = 1, x > 0 ? x : eˣ − 1: dy ⊙ min(eˣ, 1), with no backward op of its own", () => {
    const elu = customOp(
      "test_elu",
      (x) => (x > 0 ? x : Math.expm1(x)),
      (g) => [g.emit("mul", [g.dy, g.emit("minimum", [g.emit("exp", [g.inputs[0]!]), g.emit("constant", [], { shape: [], value: 1 })])])],
    );
    const report = checkOp(elu);
    expect(report.status, formatOpFailure(report)).toBe("pass");
  });
});
