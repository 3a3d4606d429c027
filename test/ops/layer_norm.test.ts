/**
 * layer_norm: the shape rule, the kernel against the definition written here, the gradient by central
 * differences, and wrong gradients rejected.
 */
import fc from "fast-check";
import { Type } from "@sinclair/typebox";
import { describe, expect, it } from "vitest";
import { differentiate } from "../../src/autodiff/differentiate.js";
import { checkGradients } from "../../src/check/gradcheck.js";
import { checkOp, formatOpFailure } from "../../src/check/op-check.js";
import type { Graph } from "../../src/graph/ir.js";
import { layerNorm } from "../../src/ops/layer_norm.js";
import { ShapeError, defineOp, formulaOf, type OpDefinition } from "../../src/ops/op.js";
import { getOp, registerOp } from "../../src/ops/registry.js";
import { dim, shape as shapeOf } from "../support/arbitraries.js";
import { inputNode, node, product, runOp } from "../support/run.js";

/** The definition: each run of the last axis normalised by its own mean and biased variance. */
function naiveLayerNorm(x: readonly number[], shape: readonly number[], gamma: readonly number[], beta: readonly number[], epsilon = 1e-5): number[] {
  const d = shape[shape.length - 1]!;
  const y: number[] = [];
  for (let start = 0; start < x.length; start += d) {
    const row = x.slice(start, start + d);
    const mu = row.reduce((a, b) => a + b, 0) / d;
    const variance = row.reduce((a, v) => a + (v - mu) ** 2, 0) / d;
    row.forEach((v, j) => y.push((gamma[j]! * (v - mu)) / Math.sqrt(variance + epsilon) + beta[j]!));
  }
  return y;
}

const values = (n: number) => fc.array(fc.double({ min: -3, max: 3, noNaN: true }), { minLength: n, maxLength: n });

describe("layer_norm's shape rule", () => {
  it("keeps x's shape, batch symbolic, for γ and β of its last dimension; refuses others naming them", () => {
    const op = getOp("layer_norm")!;
    fc.assert(
      fc.property(fc.array(dim, { maxLength: 2 }), dim, dim, (rest, d, wrong) => {
        const x = ["batch", ...rest, d];
        expect(op.shape([x, [d], [d]], {})).toEqual(x);
        expect(op.shape([[d], [d], [d]], {})).toEqual([d]);
        if (wrong !== d) {
          expect(() => op.shape([x, [d], [wrong]], {})).toThrow(ShapeError);
          expect(() => op.shape([x, [d], [wrong]], {})).toThrow(
            `beta must hold one value per element of x's last axis, [${d}] for x of shape [${x.join(", ")}], got [${wrong}].`,
          );
        }
        expect(() => op.shape([[], [d], [d]], {})).toThrow(/x must have at least one axis/);
      }),
    );
    expect(getOp("layer_norm_grad")!.shape([["batch", 7], ["batch", 7], [7]], { wrt: "gamma" })).toEqual([7]);
  });
});

describe("layer_norm's kernel against the formula", () => {
  it("normalises each row by its own statistics, in either mode", () => {
    fc.assert(
      fc.property(
        shapeOf(1, 3).chain((s) =>
          fc.record({ shape: fc.constant(s), x: values(product(s)), gamma: values(s.at(-1)!), beta: values(s.at(-1)!), training: fc.boolean() }),
        ),
        fc.constantFrom(undefined, 0.01),
        (c, epsilon) => {
          const inputs = [
            { shape: c.shape, data: c.x },
            { shape: [c.shape.at(-1)!], data: c.gamma },
            { shape: [c.shape.at(-1)!], data: c.beta },
          ];
          const got = runOp("layer_norm", inputs, { attrs: epsilon === undefined ? {} : { epsilon }, training: c.training });
          const want = naiveLayerNorm(c.x, c.shape, c.gamma, c.beta, epsilon);
          want.forEach((w, i) => expect(Math.abs(got[i]! - w)).toBeLessThanOrEqual(1e-9 * (1 + Math.abs(w))));
        },
      ),
      { numRuns: 150 },
    );
  });
});

describe("layer_norm's gradient", () => {
  const graph = (shape: readonly number[]): Graph => {
    const d = shape.at(-1)!;
    return {
      name: "layer norm",
      nodes: [
        inputNode("x", shape),
        node("gamma", "parameter", [], { shape: [d], init: "ones" }),
        node("beta", "parameter", [], { shape: [d], init: "zeros" }),
        node("y", "layer_norm", ["x", "gamma", "beta"]),
        inputNode("w", shape),
        node("wy", "mul", ["y", "w"]),
        node("loss", "sum_to", ["wy"], { shape: [] }),
      ],
      loss: "loss",
    };
  };

  it.each([[[4, 6]], [[2, 3, 5]], [[7]]])("passes a central-difference check for x, γ and β, shape %j", (shape) => {
    const report = checkGradients(graph(shape), { wrt: ["x", "gamma", "beta"], sizes: {}, maxChecksPerValue: Infinity, seed: 2 });
    expect(report.rows.map((r) => [r.id, r.pass])).toEqual([
      ["x", true],
      ["gamma", true],
      ["beta", true],
    ]);
  });

  it("is built of layer_norm_grad nodes for x and γ, with their formulas, and β's as δ summed over the rows", () => {
    const backward = differentiate(graph([4, 6]), { wrt: ["x", "gamma", "beta"] });
    const byId = new Map(backward.nodes.map((n) => [n.id, n]));
    expect(byId.get(backward.gradients!.x!)!.op).toBe("layer_norm_grad");
    expect(formulaOf(getOp("layer_norm_grad")!, byId.get(backward.gradients!.x!)!)).toContain("dX = (1/σ) ⊙ (γδ − mean(γδ) − x̂ ⊙ mean(γδ ⊙ x̂))");
    expect(formulaOf(getOp("layer_norm_grad")!, byId.get(backward.gradients!.gamma!)!)).toBe("dγ = Σ_rows δ ⊙ x̂");
    expect(byId.get(backward.gradients!.beta!)!.op).toBe("sum_to");
  });

  it("passes the op checker on random cases", () => {
    const report = checkOp(layerNorm, { numRuns: 200, seed: 7 });
    expect(report.status, formatOpFailure(report)).toBe("pass");
  });
});

describe("wrong gradients of layer_norm are rejected", () => {
  const variant = (name: string, gradient: OpDefinition<any>["gradient"]) => {
    const def = { ...layerNorm, name, gradient };
    registerOp(def, { replace: true });
    return def;
  };

  it("γ's gradient with its sign flipped", () => {
    const flipped = variant("test_ln_flipped_gamma", (g) => {
      const [dx, dgamma, dbeta] = layerNorm.gradient!(g);
      return [dx!, g.emit("neg", [dgamma!]), dbeta!];
    });
    const report = checkOp(flipped, { numRuns: 50 });
    expect(report.status).toBe("fail");
    expect(report.failure!.kind).toBe("gradient");
    expect(report.failure!.input).toBe("gamma");
  });

  it("x's gradient with the row's statistics taken as constants: dX = γ ⊙ δ/σ", () => {
    registerOp(
      defineOp({
        name: "test_ln_frozen_stats_grad",
        summary: "γ ⊙ δ/σ, each row's statistics taken as constants",
        inputs: ["dy", "x", "gamma"],
        attrs: Type.Object({}),
        shape: ([, x]) => x!,
        kernel:
          ({ inputShapes }) =>
          ([dy, x, gamma], out) => {
            const d = inputShapes[1]!.at(-1) ?? 1;
            for (let start = 0; start < out.length; start += d) {
              let mu = 0;
              for (let j = 0; j < d; j++) mu += x![start + j]! / d;
              let variance = 0;
              for (let j = 0; j < d; j++) variance += (x![start + j]! - mu) ** 2 / d;
              for (let j = 0; j < d; j++) out[start + j] = (gamma![j]! * dy![start + j]!) / Math.sqrt(variance + 1e-5);
            }
          },
      }),
      { replace: true },
    );
    const frozen = variant("test_ln_frozen_stats", (g) => {
      const [, dgamma, dbeta] = layerNorm.gradient!(g);
      return [g.emit("test_ln_frozen_stats_grad", [g.dy, g.inputs[0]!, g.inputs[1]!]), dgamma!, dbeta!];
    });
    const report = checkOp({ ...frozen, check: { ...layerNorm.check!, attrs: [{}] } }, { numRuns: 50 });
    expect(report.status).toBe("fail");
    expect(report.failure!.kind).toBe("gradient");
    expect(report.failure!.input).toBe("x");
  });
});
