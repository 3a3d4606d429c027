/**
 * Parameter initialisation: He and Xavier scale by fan_in, what each output sums over — a matrix's first
 * dimension, a convolution filter's C·KH·KW.
 */
import { describe, expect, it } from "vitest";
import { compilePlan, Executor, initializeParameters, type Graph } from "../../src/index.js";

function sampleStd(shape: number[], init: string): number {
  const graph: Graph = { name: "init", nodes: [{ id: "P", op: "parameter", inputs: [], attrs: { shape, init } }] };
  const executor = new Executor(compilePlan(graph, { outputs: ["P"], dtype: "float64" }));
  initializeParameters(executor, graph, 7);
  const values = Array.from(executor.view("P"));
  const mean = values.reduce((s, v) => s + v, 0) / values.length;
  return Math.sqrt(values.reduce((s, v) => s + (v - mean) ** 2, 0) / values.length);
}

describe("initial weights", () => {
  it.each([
    [[784, 128], "he_normal", Math.sqrt(2 / 784)],
    [[128, 64], "xavier_normal", Math.sqrt(1 / 128)],
    [[32, 16, 3, 3], "he_normal", Math.sqrt(2 / (16 * 9))],
    [[64, 1, 3, 3], "xavier_normal", Math.sqrt(1 / 9)],
  ])("of shape %j, %s, have the standard deviation of their fan-in (%f)", (shape, init, std) => {
    expect(Math.abs(sampleStd(shape as number[], init as string) / (std as number) - 1)).toBeLessThan(0.1);
  });
});
