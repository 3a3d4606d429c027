/**
 * The planner's limits: sizes must be positive integers, and a plan whose arena would be absurdly large
 * is refused before anything is allocated, saying how much it needs, its largest value and what fits.
 */
import { describe, expect, it } from "vitest";
import { differentiate } from "../../src/autodiff/differentiate.js";
import { compilePlan, MAX_ARENA_BYTES, MAX_TYPED_ARRAY_LENGTH, type DType } from "../../src/exec/plan.js";
import { GraphError } from "../../src/graph/errors.js";
import type { Graph } from "../../src/graph/ir.js";
import { loadGraphFile } from "../../src/graph-file/load.js";
import { concretize } from "../../src/graph-file/shapes.js";
import { MAX_BATCH_SIZE } from "../../src/graph/training.js";
import { inputNode, node } from "../support/run.js";

const mnist = differentiate(loadGraphFile("graphs/mnist.graph.json"));
const step = ["loss", ...Object.values(mnist.gradients!)];
const plan = (batch: number, dtype: DType = "float32", maxArenaBytes?: number) => compilePlan(mnist, { outputs: step, sizes: { batch }, dtype, maxArenaBytes });

function messageOf(action: () => unknown): string {
  try {
    action();
  } catch (err) {
    expect(err).toBeInstanceOf(GraphError);
    return (err as GraphError).message;
  }
  throw new Error("expected a GraphError, but nothing was thrown");
}

describe("the size of a plan", () => {
  it("is limited to 4 GiB, below the longest typed array", () => {
    expect(MAX_ARENA_BYTES).toBe(4 * 2 ** 30);
    expect(MAX_ARENA_BYTES / 4).toBeLessThanOrEqual(MAX_TYPED_ARRAY_LENGTH);
  });

  it("refuses batch 100,000,000 at once, with the bytes it needs, its largest value and the largest batch that fits", () => {
    const message = messageOf(() => plan(100_000_000, "float64"));
    expect(message).toMatch(
      /^graph: the plan for graph "mnist-mlp" at batch = 100,000,000 needs [\d,]+ bytes \([\d.]+ GiB\) of float64 memory \(an arena of [\d,]+ elements\), more than the limit of 4,294,967,296 bytes \(4 GiB\)\. /,
    );
    expect(message).toContain('Its largest value is "x", of shape [100000000, 784]: 627,200,000,000 bytes (584.1 GiB).');
    const best = Number(/Compile it for a smaller batch: batch = ([\d,]+) is the largest that fits\.$/.exec(message)![1]!.replaceAll(",", ""));
    expect(plan(best, "float64").arenaBytes).toBeLessThanOrEqual(MAX_ARENA_BYTES);
    expect(() => plan(best + 1, "float64")).toThrow(/needs .* more than the limit of 4,294,967,296 bytes/);
  });

  it("refuses batch 1,000,000 (which ran for minutes) in float64 and in float32", () => {
    expect(messageOf(() => plan(1_000_000, "float64"))).toContain("at batch = 1,000,000 needs 10,016,880,512 bytes (9.3 GiB) of float64 memory");
    expect(messageOf(() => plan(1_000_000, "float32"))).toContain("of float32 memory");
  });

  it("accepts the largest training batch_size for the report's network, in float32 and float64", () => {
    for (const dtype of ["float32", "float64"] as const) expect(plan(MAX_BATCH_SIZE, dtype).arenaBytes).toBeLessThan(MAX_ARENA_BYTES / 4);
  });

  it("takes another limit from the caller", () => {
    const small = plan(16);
    expect(() => plan(16, "float32", small.arenaBytes)).not.toThrow();
    const message = messageOf(() => plan(16, "float32", small.arenaBytes - 1));
    expect(message).toContain(`needs ${small.arenaBytes.toLocaleString("en-US")} bytes`);
    expect(message).toMatch(/batch = (1[0-5]|[1-9]) is the largest that fits\.$/);
    // Even the smallest batch may not fit, when the parameters alone are too large.
    expect(messageOf(() => plan(16, "float32", 1024))).toMatch(
      /Its largest value is "W1", of shape \[784, 128\]: 401,408 bytes \(392 KiB\)\. It does not fit even at batch = 1: check the graph's sizes for a typo\.$/,
    );
  });

  it("refuses an arena longer than a typed array can be, whatever limit the caller gives", () => {
    const message = messageOf(() => plan(2 ** 24, "float32", Infinity));
    expect(message).toContain("more than the 4,294,967,296 elements a typed array can hold, and the arena is one typed array.");
    expect(message).toContain('Its largest value is "x", of shape [16777216, 784]');
  });

  it("says so when the graph's own sizes are too large, or when several symbols make it so", () => {
    const fixed: Graph = { name: "fixed", nodes: [inputNode("x", [1024, 1024]), node("y", "tanh", ["x"])] };
    expect(messageOf(() => compilePlan(fixed, { outputs: ["y"], maxArenaBytes: 2 ** 20 }))).toMatch(
      /^graph: the plan for graph "fixed" needs 8,388,608 bytes \(8 MiB\) of float32 memory .* Its shapes are all fixed by the graph: check its sizes for a typo\.$/,
    );
    const two: Graph = { name: "two", nodes: [inputNode("x", ["rows", "cols"]), node("y", "tanh", ["x"])] };
    expect(messageOf(() => compilePlan(two, { outputs: ["y"], sizes: { rows: 2 ** 20, cols: 2 ** 20 } }))).toMatch(
      /at rows = 1,048,576, cols = 1,048,576 needs .* Compile it for smaller sizes \(rows, cols\)\.$/,
    );
  });
});

describe("the sizes of symbolic dimensions", () => {
  it.each([0, -1, 2.5, Number.NaN, Infinity])("are refused when not a positive integer: %s", (batch) => {
    expect(messageOf(() => plan(batch))).toBe(
      `graph: the size of the dimension "batch" must be a positive integer, a number of elements along that axis (found ${batch}).`,
    );
    expect(() => concretize(["batch", 3], { batch })).toThrow(/the size of the dimension "batch" must be a positive integer/);
  });

  it("are refused when not numbers, and when given for a symbol the graph does not use", () => {
    expect(() => concretize(["batch"], { batch: "16" as unknown as number })).toThrow('(found "16")');
    expect(() => compilePlan(mnist, { outputs: step, sizes: { batch: 4, seq: 0 } })).toThrow(/"seq" must be a positive integer, .* \(found 0\)/);
  });

  it("are looked up as own keys only", () => {
    expect(() => concretize(["toString"], {})).toThrow('the dimension "toString" needs a size when a plan is compiled');
    expect(concretize(["batch", 784], { batch: 3 })).toEqual([3, 784]);
  });
});

describe("inputs planned as mostly zeros", () => {
  it("are marked on the plan's values, and only those named", () => {
    const planned = compilePlan(mnist, { outputs: step, sizes: { batch: 8 }, mostlyZeros: ["x"] });
    expect([...planned.values.values()].filter((v) => v.mostlyZeros).map((v) => v.id)).toEqual(["x"]);
    expect([...plan(8).values.values()].some((v) => v.mostlyZeros)).toBe(false);
  });

  it("can only be fed values: a parameter or a computed value is refused, naming it", () => {
    expect(messageOf(() => compilePlan(mnist, { outputs: step, sizes: { batch: 8 }, mostlyZeros: ["W1"] }))).toContain('cannot plan "W1" as mostly zeros');
    expect(messageOf(() => compilePlan(mnist, { outputs: step, sizes: { batch: 8 }, mostlyZeros: ["nope"] }))).toContain("not an input");
  });
});
