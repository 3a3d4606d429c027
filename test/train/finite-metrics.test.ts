/** A metric that is not a finite number is never a result: refused, naming what was measured. */
import { describe, expect, it } from "vitest";
import { UserError } from "../../src/graph/errors.js";
import { checkFiniteMetrics } from "../../src/train/finite-metrics.js";

describe("the guard before results are reported", () => {
  it("lets finite metrics through", () => {
    expect(() => checkFiniteMetrics("run/best.safetensors", { "test accuracy": 1, "test loss": 0 })).not.toThrow();
  });

  it.each([NaN, Infinity, -Infinity])("refuses %s, naming the metric and the source", (value) => {
    const check = () => checkFiniteMetrics("run/best.safetensors", { "test accuracy": 0.5, "test loss": value });
    expect(check).toThrow(UserError);
    expect(check).toThrow(`run/best.safetensors: the test loss came out ${value}, which is not a result; it is not reported`);
  });
});
