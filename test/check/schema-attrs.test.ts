/**
 * An op without attribute hints is checked with attributes drawn from its attribute schema: an ELU whose
 * backward op ignores α passed every case at the default α = 1, and now fails with a shrunk case that
 * names α.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { checkOp, formatOpFailure } from "../../src/check/op-check.js";
import { drawAttrsFromSchema } from "../../src/check/schema-attrs.js";
import { sizeOf } from "../../src/graph/ir.js";
import type { OpDefinition } from "../../src/ops/op.js";
import { registerOp } from "../../src/ops/registry.js";

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
    expect(formatOpFailure(report)).toMatch(/attrs\s+\{"alpha":/);
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
      },
    };
    const drawn = fc.sample(fc.gen().map((g) => drawAttrsFromSchema(schema, g)!), { numRuns: 200, seed: 1 });
    for (const attrs of drawn) {
      expect([1, 2, 3]).toContain(attrs.k);
      if (attrs.p !== undefined) expect((attrs.p as number) > 0 && (attrs.p as number) < 1).toBe(true);
      if (attrs.mode !== undefined) expect(["same", "valid"]).toContain(attrs.mode);
      expect(attrs.axes).toBeUndefined();
    }
    expect(drawn.some((a) => a.p === undefined)).toBe(true);
    expect(drawn.some((a) => a.p !== undefined)).toBe(true);
    expect(drawAttrsFromSchema({ type: "object", required: ["shape"], properties: { shape: { type: "array" } } }, undefined as never)).toBeUndefined();
  });
});
