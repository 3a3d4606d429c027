/**
 * Each optimizer against steps computed by hand from the report's formulas (section 3), on numbers
 * small enough to follow: w = [1, −2], g = [0.5, −0.25], α = 0.1.
 */
import { describe, expect, it } from "vitest";
import { createOptimizer, type OptimizerSettings } from "../../src/train/optimizers.js";
import { REPORT_ADAM } from "../support/optimizer-settings.js";

const base: OptimizerSettings = REPORT_ADAM;

function run(settings: Partial<OptimizerSettings>, steps: number) {
  const w = Float32Array.from([1, -2]);
  const g = Float32Array.from([0.5, -0.25]);
  const opt = createOptimizer({ ...base, ...settings }, [2]);
  for (let t = 0; t < steps; t++) opt.step([w], [g], 0.1);
  return { w: [...w], opt };
}

describe("optimizers take the report's steps", () => {
  it("SGD: W − α·g", () => {
    expect(run({ optimizer: "sgd" }, 1).w).toEqual([Math.fround(1 - 0.05), Math.fround(-2 + 0.025)]);
  });

  it("SGD with momentum 0.9: u = 0.9u + g, twice", () => {
    // u₁ = g, u₂ = 1.9g: W = W₀ − α(g + 1.9g) = W₀ − 0.29g
    const { w } = run({ optimizer: "sgd", momentum: 0.9 }, 2);
    expect(w[0]).toBeCloseTo(1 - 0.29 * 0.5, 6);
    expect(w[1]).toBeCloseTo(-2 + 0.29 * 0.25, 6);
  });

  it("Adam without bias correction (the report's form): m = 0.1g, v = 0.001g², W − α·m/(√v + ε)", () => {
    const { w, opt } = run({ optimizer: "adam" }, 1);
    const step = (g: number) => (0.1 * (0.1 * g)) / (Math.sqrt(0.001 * g * g) + 1e-8);
    expect(w[0]).toBeCloseTo(1 - step(0.5), 6);
    expect(w[1]).toBeCloseTo(-2 - step(-0.25), 6);
    expect(opt.state().m![0]![0]).toBeCloseTo(0.05, 7);
    expect(opt.state().v![0]![0]).toBeCloseTo(0.00025, 9);
  });

  it("Adam with bias correction: the first step is α·sign(g) (m̂ = g, v̂ = g²)", () => {
    const { w } = run({ optimizer: "adam", bias_correction: true }, 1);
    expect(w[0]).toBeCloseTo(1 - 0.1, 6);
    expect(w[1]).toBeCloseTo(-2 + 0.1, 6);
  });

  it("Adam, two steps by hand", () => {
    const { w } = run({ optimizer: "adam" }, 2);
    const g = 0.5;
    const m2 = 0.9 * 0.1 * g + 0.1 * g;
    const v2 = 0.999 * 0.001 * g * g + 0.001 * g * g;
    const first = (0.1 * 0.1 * g) / (Math.sqrt(0.001 * g * g) + 1e-8);
    expect(w[0]).toBeCloseTo(1 - first - (0.1 * m2) / (Math.sqrt(v2) + 1e-8), 5);
  });

  it("RMSprop: s = 0.1g², W − α·g/√(s + ε)", () => {
    const { w } = run({ optimizer: "rmsprop" }, 1);
    expect(w[0]).toBeCloseTo(1 - (0.1 * 0.5) / Math.sqrt(0.1 * 0.25 + 1e-8), 6);
    expect(w[1]).toBeCloseTo(-2 + (0.1 * 0.25) / Math.sqrt(0.1 * 0.0625 + 1e-8), 6);
  });

  it("decoupled weight decay shrinks W by α·λ·W before the update", () => {
    const { w } = run({ optimizer: "sgd", weight_decay: 0.5 }, 1);
    expect(w[0]).toBeCloseTo(1 * (1 - 0.05) - 0.05, 6);
  });

  it("state can be restored, and the run continues identically", () => {
    const a = run({ optimizer: "adam", bias_correction: true }, 3);
    const w = Float32Array.from([1, -2]);
    const g = Float32Array.from([0.5, -0.25]);
    const first = createOptimizer({ ...base, bias_correction: true }, [2]);
    first.step([w], [g], 0.1);
    first.step([w], [g], 0.1);
    const second = createOptimizer({ ...base, bias_correction: true }, [2]);
    second.restore({ name: first.name, steps: first.steps, state: first.state() }, "the first's state");
    second.step([w], [g], 0.1);
    expect([...w]).toEqual(a.w);
  });
});
