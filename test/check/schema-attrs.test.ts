/**
 * An op without attribute hints is checked with attributes drawn from its attribute schema: an ELU whose
 * backward op ignores α passed every case at the default α = 1, and now fails with a shrunk case that
 * names α.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { checkOp, formatOpFailure, skipReason } from "../../src/check/op-check.js";
import { drawAttrsFromSchema } from "../../src/check/schema-attrs.js";
import { sizeOf } from "../../src/graph/ir.js";
import type { OpDefinition } from "../../src/ops/op.js";
import { getOp, registerOp } from "../../src/ops/registry.js";
import { BUILTIN_OPS } from "../../src/ops/builtin.js";

const Alpha = {
  type: "object",
  properties: { alpha: { type: "number", exclusiveMinimum: 0, default: 1, description: "Scale of the negative part." } },
  additionalProperties: false,
};

type EluAttrs = { alpha?: number };

/** elu(x) = x for x > 0, α(eˣ − 1) otherwise; its gradient by a backward op whose kernel `derivative` gives. */
function elu(name: string, derivative: (x: number, alpha: number) => number): OpDefinition<EluAttrs> {
  const grad: OpDefinition<EluAttrs> = {
    name: `${name}_grad`,
    summary: "the gradient of an ELU",
    inputs: ["dy", "x"],
    attrs: Alpha as never,
    shape: ([, x]) => x!,
    kernel: ({ attrs: { alpha = 1 }, outputShape }) => {
      const n = sizeOf(outputShape);
      return ([dy, x], out) => {
        for (let i = 0; i < n; i++) out[i] = dy![i]! * derivative(x![i]!, alpha);
      };
    },
    check: { skip: "a backward op" },
  };
  registerOp(grad, { replace: true });
  const forward: OpDefinition<EluAttrs> = {
    name,
    summary: "an ELU",
    inputs: ["x"],
    attrs: Alpha as never,
    shape: ([x]) => x!,
    kernel: ({ attrs: { alpha = 1 }, outputShape }) => {
      const n = sizeOf(outputShape);
      return ([x], out) => {
        for (let i = 0; i < n; i++) out[i] = x![i]! > 0 ? x![i]! : alpha * Math.expm1(x![i]!);
      };
    },
    gradient: (g) => [g.emit(`${name}_grad`, [g.dy, g.inputs[0]!], g.node.attrs)],
    check: { nearKink: ([x]) => x!.data.some((v) => Math.abs(v) < 1e-3) },
  };
  registerOp(forward, { replace: true });
  return forward;
}

describe("attributes drawn from the op's schema", () => {
  it("pass a right ELU", () => {
    const report = checkOp(elu("test_elu_right", (x, alpha) => (x > 0 ? 1 : alpha * Math.exp(x))));
    expect(report.status, formatOpFailure(report)).toBe("pass");
  });

  it("fail an ELU whose backward op ignores α, with the shrunk case naming α", () => {
    const report = checkOp(elu("test_elu_alpha_ignored", (x) => (x > 0 ? 1 : Math.exp(x))));
    expect(report.status).toBe("fail");
    const alpha = report.failure!.case!.attrs.alpha;
    expect(typeof alpha).toBe("number");
    expect(alpha).not.toBe(1);
    expect(formatOpFailure(report)).toMatch(/attrs\s+\{"alpha":[^}]*\}  \(drawn from the attribute schema; check\.attrs chooses them\)/);
  });

  it("keep an op's own samples: α is then only what they list, and the failure does not say it was drawn", () => {
    const def = elu("test_elu_sampled", (x) => (x > 0 ? 1 : Math.exp(x)));
    registerOp({ ...def, check: { ...def.check, attrs: [{ alpha: 0.5 }] } }, { replace: true });
    const report = checkOp(getOp("test_elu_sampled")!);
    expect(report.status).toBe("fail");
    expect(report.failure!.case!.attrs).toEqual({ alpha: 0.5 });
    expect(report.failure!.case!.attrsFromSchema).toBeUndefined();
    expect(formatOpFailure(report)).toMatch(/attrs\s+\{"alpha":0\.5\}\n/);
  });

  it("name a required attribute the schema cannot draw, and ask for check.attrs, rather than blame check.attrs the op never gave", () => {
    const tagged: OpDefinition<{ tag: string }> = {
      name: "test_tagged",
      summary: "x as it is, with a required free-string tag",
      inputs: ["x"],
      attrs: { type: "object", required: ["tag"], properties: { tag: { type: "string" } }, additionalProperties: false } as never,
      shape: ([x]) => x!,
      kernel: ({ outputShape }) => {
        const n = sizeOf(outputShape);
        return ([x], out) => {
          for (let i = 0; i < n; i++) out[i] = x![i]!;
        };
      },
      gradient: (g) => [g.dy],
    };
    registerOp(tagged, { replace: true });
    const report = checkOp(tagged);
    expect(report.status).toBe("fail");
    expect(report.failure!.kind).toBe("hints");
    expect(report.failure!.message).toBe(
      `the required attribute "tag" cannot be drawn from the op's attribute schema (it is a string with no values listed: only an enum or a const is drawn); give check.attrs (samples, or a function of the input shapes).`,
    );
    registerOp({ ...tagged, check: { attrs: [{ tag: "a" }] } }, { replace: true });
    const sampled = checkOp(getOp("test_tagged")!, { numRuns: 8 });
    expect(sampled.status, formatOpFailure(sampled)).toBe("pass");
  });

  it("stay inside the schema's bounds, leave optional ones out now and then, and skip what they cannot draw", () => {
    const schema = {
      type: "object",
      required: ["k"],
      properties: {
        k: { type: "integer", minimum: 1, maximum: 3 },
        p: { type: "number", exclusiveMinimum: 0, exclusiveMaximum: 1 },
        mode: { anyOf: [{ const: "same" }, { const: "valid" }] },
        flag: { type: "boolean" },
        axes: { type: "array", items: { type: "integer" } },
        id: { type: "string" },
      },
    };
    const drawn = fc.sample(
      fc.gen().map((g) => drawAttrsFromSchema(schema, g)!),
      { numRuns: 200, seed: 1 },
    );
    for (const attrs of drawn) {
      expect([1, 2, 3]).toContain(attrs.k);
      if (attrs.p !== undefined) expect((attrs.p as number) > 0 && (attrs.p as number) < 1).toBe(true);
      if (attrs.mode !== undefined) expect(["same", "valid"]).toContain(attrs.mode);
      if (attrs.axes !== undefined) expect((attrs.axes as number[]).every((a) => Number.isInteger(a) && a >= -3 && a <= 3)).toBe(true);
      expect(attrs.id).toBeUndefined();
    }
    expect(drawn.some((a) => a.p === undefined)).toBe(true);
    expect(drawn.some((a) => a.p !== undefined)).toBe(true);
    expect(drawAttrsFromSchema({ type: "object", required: ["shape"], properties: { shape: { type: "array" } } }, undefined as never)).toBeUndefined();
  });

  it("draw tuples, lists and unions: a conv's padding, axes, a window near the low end of a wide range", () => {
    const schema = {
      type: "object",
      required: ["padding", "window"],
      properties: {
        padding: {
          anyOf: [
            { type: "integer", minimum: 0 },
            {
              type: "array",
              items: [
                { type: "integer", minimum: 0 },
                { type: "integer", minimum: 0 },
              ],
              minItems: 2,
              maxItems: 2,
            },
            { const: "same" },
            { const: "valid" },
          ],
        },
        window: { type: "integer", minimum: 1, maximum: 65536 },
        axes: { type: "array", items: { type: "integer", minimum: -8, maximum: 7 }, maxItems: 8 },
        key: { anyOf: [{ type: "string" }, { type: "integer", minimum: 0, maximum: 1 }] },
      },
    };
    const drawn = fc.sample(
      fc.gen().map((g) => drawAttrsFromSchema(schema, g)!),
      { numRuns: 300, seed: 2 },
    );
    const paddings = drawn.map((a) => a.padding);
    expect(paddings.some((p) => typeof p === "number")).toBe(true);
    expect(paddings.some((p) => Array.isArray(p) && p.length === 2 && p.every((v) => Number.isInteger(v) && (v as number) >= 0))).toBe(true);
    expect(paddings).toContain("same");
    expect(paddings).toContain("valid");
    for (const attrs of drawn) {
      expect(attrs.window as number).toBeGreaterThanOrEqual(1);
      expect(attrs.window as number).toBeLessThanOrEqual(4);
      if (attrs.axes !== undefined) expect((attrs.axes as number[]).length).toBeLessThanOrEqual(3);
      // The free string of the union is left out; its integer alternative is drawn.
      if (attrs.key !== undefined) expect([0, 1]).toContain(attrs.key);
    }
    expect(drawn.some((a) => Array.isArray(a.axes) && a.axes.length === 0)).toBe(true);
    expect(drawn.some((a) => Array.isArray(a.axes) && a.axes.length === 3)).toBe(true);
  });

  it("fail an op whose backward op reads a [negative, positive] slope as one number, with the pair in the shrunk case", () => {
    const Slope = {
      type: "object",
      properties: {
        slope: {
          default: 1,
          description: "One slope for both sides, or [negative side, positive side].",
          anyOf: [{ type: "number" }, { type: "array", items: [{ type: "number" }, { type: "number" }], minItems: 2, maxItems: 2 }],
        },
      },
      additionalProperties: false,
    };
    type SlopeAttrs = { slope?: number | [number, number] };
    const sides = (slope: SlopeAttrs["slope"] = 1): [number, number] => (typeof slope === "number" ? [slope, slope] : slope);
    const grad: OpDefinition<SlopeAttrs> = {
      name: "test_two_slopes_grad",
      summary: "the gradient of test_two_slopes, wrong for a pair: it takes the negative side's slope for both",
      inputs: ["dy", "x"],
      attrs: Slope as never,
      shape: ([, x]) => x!,
      kernel: ({ attrs, outputShape }) => {
        const [negative] = sides(attrs.slope);
        const n = sizeOf(outputShape);
        return ([dy], out) => {
          for (let i = 0; i < n; i++) out[i] = dy![i]! * negative;
        };
      },
      check: { skip: "a backward op" },
    };
    registerOp(grad, { replace: true });
    const forward: OpDefinition<SlopeAttrs> = {
      name: "test_two_slopes",
      summary: "x times one slope below 0 and another above",
      inputs: ["x"],
      attrs: Slope as never,
      shape: ([x]) => x!,
      kernel: ({ attrs, outputShape }) => {
        const [negative, positive] = sides(attrs.slope);
        const n = sizeOf(outputShape);
        return ([x], out) => {
          for (let i = 0; i < n; i++) out[i] = x![i]! * (x![i]! < 0 ? negative : positive);
        };
      },
      gradient: (g) => [g.emit("test_two_slopes_grad", [g.dy, g.inputs[0]!], g.node.attrs)],
      check: { nearKink: ([x]) => x!.data.some((v) => Math.abs(v) < 1e-3) },
    };
    registerOp(forward, { replace: true });
    const report = checkOp(forward);
    expect(report.status).toBe("fail");
    expect(report.failure!.kind).toBe("gradient");
    const slope = report.failure!.case!.attrs.slope;
    expect(Array.isArray(slope)).toBe(true);
    expect(formatOpFailure(report)).toMatch(/attrs\s+\{"slope":\[/);
  });

  it("leave every built-in op passing, few cases each", () => {
    const failures = BUILTIN_OPS.filter((def) => skipReason(def) === undefined)
      .map((def) => checkOp(def, { numRuns: 8 }))
      .filter((report) => report.status !== "pass")
      .map(formatOpFailure);
    expect(failures).toEqual([]);
  });
});
