/**
 * The op checker (checkOp) on ops broken on purpose: it must catch each kind of mistake, shrink the case
 * to a smallest one and say what is off; and it must pass correct ops, honour the hints and be repeatable.
 */
import { describe, expect, it } from "vitest";
import { checkHintProblem } from "../../src/check/hints.js";
import { checkOp, formatOpFailure, skipReason, type OpCheckReport } from "../../src/check/op-check.js";
import { sizeOf, type Shape } from "../../src/graph/ir.js";
import { unaryOp } from "../../src/ops/elementwise.js";
import { ShapeError, type OpDefinition } from "../../src/ops/op.js";
import { registerOp } from "../../src/ops/registry.js";

const NO_ATTRS = { type: "object", additionalProperties: false };

function op(def: Partial<OpDefinition<any>> & Pick<OpDefinition<any>, "name">): OpDefinition<any> {
  const full: OpDefinition<any> = {
    summary: "an op of the op checker's tests",
    inputs: ["x"],
    attrs: NO_ATTRS,
    shape: ([x]) => x!,
    kernel:
      ({ outputShape }) =>
      ([x], out) => {
        for (let i = 0; i < sizeOf(outputShape); i++) out[i] = x![i]!;
      },
    gradient: (g) => [g.dy],
    ...def,
  };
  registerOp(full, { replace: true });
  return full;
}

function failed(report: OpCheckReport) {
  expect(report.status, formatOpFailure(report)).toBe("fail");
  return report.failure!;
}

describe("checkOp catches", () => {
  it("a wrong gradient, shrunk to a scalar at the low end of the range, with analytic against numeric", () => {
    // x³ whose gradient rule forgets the factor 3.
    const cube = op({
      name: "test_check_cube_wrong",
      kernel:
        ({ outputShape }) =>
        ([x], out) => {
          for (let i = 0; i < sizeOf(outputShape); i++) out[i] = x![i]! ** 3;
        },
      gradient: (g) => [g.emit("mul", [g.dy, g.emit("mul", [g.inputs[0]!, g.inputs[0]!])])],
    });
    const report = checkOp(cube);
    const f = failed(report);
    expect(f.kind).toBe("gradient");
    expect(f.input).toBe("x");
    expect(f.case!.inputs).toEqual([{ name: "x", shape: [], data: [-3] }]);
    expect(f.case!.weights).toEqual([-2]);
    expect(f.element).toEqual([]);
    // loss = −2·x³: autodiff −2·x² = −18, numeric −2·3x² = −54.
    expect(f.analytic).toBeCloseTo(-18, 6);
    expect(f.numeric).toBeCloseTo(-54, 6);
    expect(report.shrinks).toBeGreaterThan(0);
    const text = formatOpFailure(report);
    expect(text).toContain('test_check_cube_wrong: the gradient of input "x" is wrong');
    expect(text).toMatch(/smallest failing case \(case \d+ of the run with --seed 0, shrunk \d+ times\)/);
    expect(text).toMatch(/^ {4}x +\[\] +-3$/m);
    expect(text).toMatch(/^ {4}output +\[\] +-27$/m);
    expect(text).toMatch(/^ {4}weights +\[\] +-2 +\(loss = Σ output ⊙ weights\)$/m);
    expect(text).toMatch(/d loss \/ d x\[\]: autodiff -18(\.0*\d*)?, numeric -54(\.0*\d*)?$/m);
  });

  it("the element that is off, in a case that needs several", () => {
    // yᵢ = xᵢ · (1 + i) along the last axis, whose gradient rule forgets the factor: right only for i = 0.
    const ramp = op({
      name: "test_check_ramp_wrong",
      kernel: ({ outputShape }) => {
        const n = outputShape[outputShape.length - 1] ?? 1;
        return ([x], out) => {
          for (let i = 0; i < sizeOf(outputShape); i++) out[i] = x![i]! * (1 + (i % n));
        };
      },
    });
    const report = checkOp(ramp);
    const f = failed(report);
    expect(f.kind).toBe("gradient");
    expect(f.case!.inputs).toEqual([{ name: "x", shape: [2], data: [-3, -3] }]);
    expect(f.element).toEqual([1]);
    expect(f.analytic).toBeCloseTo(-2, 6);
    expect(f.numeric).toBeCloseTo(-4, 6);
    expect(formatOpFailure(report)).toContain('the gradient of input "x" is wrong at element [1]: autodiff -2, numeric -4');
  });

  it("a shape rule promising more than the kernel writes (the unwritten element is NaN in the output shown)", () => {
    // Sums each row, but the shape rule keeps the last axis.
    const rowSum = op({
      name: "test_check_row_sum_keeps_axis",
      shape: ([x]) => {
        if (x!.length === 0) throw new ShapeError("needs an axis to sum along");
        return x!;
      },
      kernel: ({ inputShapes: [x] }) => {
        const length = x![x!.length - 1]!;
        const rows = sizeOf(x!) / length;
        return ([xs], out) => {
          for (let r = 0; r < rows; r++) {
            let sum = 0;
            for (let j = 0; j < length; j++) sum += xs![r * length + j]!;
            out[r] = sum;
          }
        };
      },
      gradient: (g) => [g.emit("broadcast_to", [g.dy], { shape: [...g.shapeOf(g.inputs[0]!)] })],
    });
    const report = checkOp(rowSum);
    const f = failed(report);
    expect(f.kind).toBe("shape");
    expect(f.message).toBe("the kernel did not write element [1] of its output: the shape rule gives [2] (2 elements), more than the kernel computes.");
    expect(f.case!.inputs).toEqual([{ name: "x", shape: [2], data: [-3, -3] }]);
    expect(f.outputData).toEqual([-6, NaN]);
    expect(formatOpFailure(report)).toMatch(/^ {4}output +\[2\] +-6, NaN$/m);
  });

  it("a shape rule that loses an axis the gradient needs (the gradient cannot be summed back to the input)", () => {
    const halve = op({
      name: "test_check_drops_axis",
      shape: ([x]) => x!.slice(1),
      kernel: ({ inputShapes: [x] }) => {
        const n = sizeOf(x!);
        return ([xs], out) => {
          for (let i = 0; i < n; i++) out[i] = xs![i]! / 2;
        };
      },
      gradient: (g) => [g.emit("mul", [g.dy, g.emit("constant", [], { shape: [], value: 0.5 })])],
    });
    const f = failed(checkOp(halve));
    expect(f.kind).toBe("gradient rule");
    expect(f.message).toMatch(/produced a gradient of shape \[\] for an input of shape \[1\], which cannot be summed back to it/);
    expect(f.case!.inputs[0]!.shape).toEqual([1]);
    expect(f.case!.output).toEqual([]);
  });

  it("a kernel that reads its output before writing it", () => {
    const accumulate = op({
      name: "test_check_accumulates",
      kernel:
        ({ outputShape }) =>
        ([x], out) => {
          for (let i = 0; i < sizeOf(outputShape); i++) out[i] = out[i]! + x![i]!;
        },
    });
    const f = failed(checkOp(accumulate));
    expect(f.kind).toBe("kernel");
    expect(f.message).toMatch(/depends on what the output buffer held before the kernel ran .* reads its output before writing it/);
    expect(f.case!.inputs[0]!.shape).toEqual([]);
  });

  it("a kernel that writes into its input", () => {
    const clobber = op({
      name: "test_check_clobbers_input",
      kernel:
        ({ outputShape }) =>
        ([x], out) => {
          for (let i = 0; i < sizeOf(outputShape); i++) {
            out[i] = x![i]!;
            x![i] = 0;
          }
        },
    });
    const f = failed(checkOp(clobber));
    expect(f.kind).toBe("kernel");
    expect(f.message).toBe('the kernel changed its input "x" (element []: -3 became 0); a kernel may only write its output.');
  });

  it("a kernel that disagrees with the reference, and a shape rule that disagrees with it", () => {
    const double = (name: string, reference: NonNullable<OpDefinition["check"]>["reference"]) =>
      op({
        name,
        kernel:
          ({ outputShape }) =>
          ([x], out) => {
            for (let i = 0; i < sizeOf(outputShape); i++) out[i] = 2 * x![i]! + 1e-3;
          },
        gradient: (g) => [g.emit("add", [g.dy, g.dy])],
        check: { reference },
      });
    const values = checkOp(double("test_check_reference_values", ([x]) => ({ shape: x!.shape, data: x!.data.map((v) => 2 * v) })));
    const f = failed(values);
    expect(f.kind).toBe("kernel");
    expect(f.message).toBe("the kernel's output differs from the reference at element []: kernel -5.999, reference -6.");
    const shapes = checkOp(double("test_check_reference_shape", ([x]) => ({ shape: [...x!.shape, 1], data: x!.data.map((v) => 2 * v) })));
    expect(failed(shapes).kind).toBe("shape");
    expect(shapes.failure!.message).toBe("the shape rule gives [], but the reference implementation computes [1].");
  });

  it("hints that give attributes the op's schema refuses, and hints matching no shape the op accepts", () => {
    const scaled = op({
      name: "test_check_scaled",
      attrs: { type: "object", properties: { k: { type: "number", minimum: 0 } }, additionalProperties: false },
      check: { attrs: [{ k: 1 }, { k: -1 }] },
    });
    const f = failed(checkOp(scaled));
    expect(f.kind).toBe("hints");
    expect(f.message).toMatch(/^check\.attrs gave \{"k":-1\}, which the op's attribute schema refuses: "k" must be >= 0/);

    const pair = op({
      name: "test_check_needs_rank_5",
      shape: ([x]) => {
        if (x!.length !== 5) throw new ShapeError(`needs rank 5, got ${x!.length}`);
        return x!;
      },
    });
    const g = failed(checkOp(pair, { numRuns: 10 }));
    expect(g.kind).toBe("generate");
    expect(g.message).toMatch(
      /^could not draw inputs the op accepts: \d+ drawn cases were refused for 0 accepted \(the last: the shape rule refused \[.*\]: needs rank 5, got \d\)/,
    );
  });
});

describe("checkOp passes correct ops and follows their hints", () => {
  it("skips what has nothing to check, saying why", () => {
    expect(skipReason(op({ name: "test_check_no_gradient", gradient: undefined }))).toBe("no gradient rule");
    const skipped = op({ name: "test_check_skipped", check: { skip: "checked elsewhere" } });
    expect(checkOp(skipped)).toMatchObject({ status: "skip", reason: "checked elsewhere", cases: 0 });
  });

  it("leaves out the cases check.nearKink flags (a gradient wrong only where the hint says to stay away)", () => {
    // A gradient of 1 everywhere: right for x > 0 only.
    const positive = op({ name: "test_check_positive_only", check: { nearKink: ([x]) => x!.data.some((v) => v <= 0.5) } });
    const report = checkOp(positive, { numRuns: 20 });
    expect(report.status, formatOpFailure(report)).toBe("pass");
    expect(report.discarded).toBeGreaterThan(0);
    const unguarded = op({
      name: "test_check_positive_only_unguarded",
      kernel:
        ({ outputShape }) =>
        ([x], out) => {
          for (let i = 0; i < sizeOf(outputShape); i++) out[i] = Math.max(x![i]!, 0);
        },
    });
    expect(failed(checkOp(unguarded)).kind).toBe("gradient");
  });

  it("draws broadcast patterns, named sizes shared between inputs, values in the hinted ranges", () => {
    const seen: { shapes: Shape[]; values: number[] }[] = [];
    const spy = op({
      name: "test_check_spy",
      inputs: ["a", "b"],
      shape: ([a, b]) => (a!.length >= b!.length ? a! : b!),
      kernel: ({ inputShapes, outputShape }) => {
        return (inputs, out) => {
          seen.push({ shapes: inputShapes.map((s) => [...s]), values: inputs.flatMap((x) => [...x]) });
          out.fill(0);
          void outputShape;
        };
      },
      gradient: () => [null, null],
      check: { shapes: [["m", "n"], ["n"]], values: [0.25, 0.5], wrt: ["a"], nearKink: () => false },
    });
    checkOp(spy, { numRuns: 30 });
    expect(seen.length).toBeGreaterThan(0);
    for (const { shapes, values } of seen) {
      expect(shapes[0]![1]).toBe(shapes[1]![0]);
      for (const v of values) expect(v >= 0.25 && v <= 0.5).toBe(true);
    }
  });

  it("treats a ShapeError from another copy of graphnet (by its name) as a refusal, not a failure", () => {
    const foreign = op({
      name: "test_check_foreign_shape_error",
      shape: ([x]) => {
        if (x!.length > 1) throw Object.assign(new Error("rank ≤ 1 only"), { name: "ShapeError" });
        return x!;
      },
    });
    const report = checkOp(foreign, { numRuns: 30 });
    expect(report.status, formatOpFailure(report)).toBe("pass");
    expect(report.discarded).toBeGreaterThan(0);
  });

  it("is repeatable: the same seed draws the same cases and finds the same failure", () => {
    const wrong = op(unaryOp({ name: "test_check_repeatable", summary: "2x", f: (x) => 2 * x, gradient: (g) => [g.dy] }));
    const a = checkOp(wrong, { seed: 7 });
    const b = checkOp(wrong, { seed: 7 });
    expect({ ...a, milliseconds: 0 }).toEqual({ ...b, milliseconds: 0 });
    expect(a.seed).toBe(7);
  });

  it("refuses an op that is not registered", () => {
    expect(() => checkOp({ ...unaryOp({ name: "test_check_unregistered", summary: "x", f: (x) => x }), gradient: (g) => [g.dy] })).toThrow(/not registered/);
  });
});

describe("checkHintProblem", () => {
  const inputs = ["a", "b"];
  it.each([
    [{ shapes: [["n"]] }, /one shape template per input \(2: a, b\)/],
    [{ shapes: [["n"], [0]] }, /0 is not a dimension/],
    [{ shapes: [["...", "..."], []] }, /has "\.\.\." more than once/],
    [{ values: [3, -3] }, /min ≤ max/],
    [{ values: { c: [0, 1] } }, /names "c", which is not an input/],
    [{ wrt: ["z"] }, /names "z", which is not an input/],
    [{ attrs: [] }, /non-empty array of attribute objects/],
    [{ cases: [{ skip: "x" }] }, /"check\.cases\[0\]\.skip" is not a case hint/],
    [{ nearkink: () => true }, /"check\.nearkink" is not a check hint/],
    [{ tolerance: { abs: -1, rel: 0 } }, /tolerance/],
  ])("%j", (check, message) => {
    expect(checkHintProblem({ inputs, check })).toMatch(message);
  });

  it("accepts the hints of every example and built-in kind", () => {
    for (const check of [
      { broadcast: true },
      {
        shapes: [
          ["m", "...", "n"],
          ["m", "...", "n"],
        ],
        values: { a: [0.05, 1], b: [0, 1] },
        wrt: ["a"],
      },
      {
        cases: [
          {
            attrs: [{ t: true }],
            shapes: [
              ["k", "m"],
              ["k", 3],
            ],
          },
          { training: false },
        ],
      },
      { attrs: () => ({}), nearKink: () => false, reference: () => ({ shape: [], data: [0] }), tolerance: { abs: 1e-6, rel: 1e-5 } },
    ]) {
      expect(checkHintProblem({ inputs, check })).toBeUndefined();
    }
  });
});
