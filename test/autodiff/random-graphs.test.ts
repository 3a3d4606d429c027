/**
 * Properties of random graphs composed of the built-in ops: their gradients pass the numerical check,
 * buffer reuse changes no bit of any result, and autodiff differentiates exactly what it must.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { differentiate } from "../../src/autodiff/differentiate.js";
import { GRADCHECK_RUN_STEP, checkGradients } from "../../src/check/gradcheck.js";
import { Executor } from "../../src/exec/executor.js";
import { compilePlan, type DType } from "../../src/exec/plan.js";
import type { Graph } from "../../src/graph/ir.js";
import { inferShapes } from "../../src/graph-file/shapes.js";
import { randomFeeds, randomGraph, type RandomGraph } from "../support/random-graph.js";
import { bitwiseEqual, run } from "../support/run.js";

const parameterIds = (graph: Graph) => graph.nodes.filter((n) => n.op === "parameter").map((n) => n.id);

/**
 * The smallest non-zero |value| entering a relu in the forward pass, in the mode and step the gradient check
 * uses. Exact zeros are left out: they come from a relu or a dropout upstream and stay 0 under perturbation.
 */
function reluMargin({ graph, sizes }: RandomGraph, feeds: Record<string, Float64Array>, seed: number): number {
  const reluInputs = [...new Set(graph.nodes.filter((n) => n.op === "relu").map((n) => n.inputs[0]!))];
  if (reluInputs.length === 0) return Infinity;
  const values = run(graph, { outputs: reluInputs, feeds, sizes, training: true, step: GRADCHECK_RUN_STEP, seed });
  return Math.min(...Object.values(values).flatMap((v) => [...v].filter((x) => x !== 0).map(Math.abs)));
}

describe("random graphs", () => {
  it("have gradients that pass a float64 central-difference check, for every parameter", () => {
    fc.assert(
      fc.property(randomGraph, fc.nat(), (random, seed) => {
        const feeds = randomFeeds(random.graph, random.sizes, seed);
        // Keep the check away from relu's kink, where no finite difference is right.
        fc.pre(reluMargin(random, feeds, seed) > 1e-3);
        const report = checkGradients(random.graph, { sizes: random.sizes, seed, feeds, maxChecksPerValue: 12 });
        expect(report.rows.map((r) => r.id)).toEqual(parameterIds(random.graph));
        for (const row of report.rows) expect(row, `${row.id} in ${JSON.stringify(random.graph.nodes)}`).toMatchObject({ pass: true });
        expect(report.pass).toBe(true);
        expect(Number.isFinite(report.lossValue)).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it("give bitwise identical results with buffer reuse on and off, in float32 and float64", () => {
    fc.assert(
      fc.property(randomGraph, fc.nat(), fc.constantFrom<DType>("float32", "float64"), fc.boolean(), (random, seed, dtype, training) => {
        const graph = differentiate(random.graph);
        const forward = random.graph.nodes.filter((n) => n.op !== "parameter" && n.op !== "input").map((n) => n.id);
        // The loss, every gradient, and a few forward values read back as outputs too.
        const outputs = [...new Set(["loss", ...Object.values(graph.gradients!), ...forward.filter((_, i) => i % 3 === 0)])];
        const feeds = randomFeeds(random.graph, random.sizes, seed);
        const execute = (reuse: boolean) => {
          const plan = compilePlan(graph, { outputs, sizes: random.sizes, dtype, reuse });
          const executor = new Executor(plan, { seed });
          for (const [id, data] of Object.entries(feeds)) if (executor.has(id)) executor.feed(id, data);
          // Run twice: a kernel that read its output buffer before writing it would differ on the second run.
          executor.run({ training, step: 3 });
          const first = outputs.map((id) => executor.read(id));
          executor.run({ training, step: 3 });
          return { plan, first, second: outputs.map((id) => executor.read(id)) };
        };
        const shared = execute(true);
        const separate = execute(false);
        outputs.forEach((id, i) => {
          expect(bitwiseEqual(shared.first[i]!, separate.first[i]!), id).toBe(true);
          expect(bitwiseEqual(shared.second[i]!, separate.first[i]!), id).toBe(true);
        });
        expect(shared.plan.arenaBytes).toBeLessThanOrEqual(shared.plan.naiveBytes);
        expect(separate.plan.arenaBytes).toBe(separate.plan.naiveBytes);
        expect(shared.plan.naiveBytes).toBe(separate.plan.naiveBytes);
      }),
      { numRuns: 400 },
    );
  });

  it("plan values so that no two values alive at the same step overlap in the arena", () => {
    fc.assert(
      fc.property(randomGraph, (random) => {
        const graph = differentiate(random.graph);
        const plan = compilePlan(graph, { outputs: ["loss", ...Object.values(graph.gradients!)], sizes: random.sizes });
        const values = [...plan.values.values()];
        for (const a of values) {
          expect(a.offset + a.elements).toBeLessThanOrEqual(plan.arenaElements);
          for (const b of values) {
            if (a === b) continue;
            const together = a.firstStep <= b.lastStep && b.firstStep <= a.lastStep;
            const overlap = a.offset < b.offset + b.elements && b.offset < a.offset + a.elements;
            if (together) expect(overlap, `${a.id} and ${b.id}`).toBe(false);
          }
        }
      }),
      { numRuns: 100 },
    );
  });

  it("are differentiated only along paths from the parameters to the loss, with fan-out summed by add", () => {
    fc.assert(
      fc.property(randomGraph, (random) => {
        const forward = random.graph;
        const graph = differentiate(forward);
        const byId = new Map(graph.nodes.map((n) => [n.id, n]));
        const forwardIds = new Set(forward.nodes.map((n) => n.id));

        // Forward nodes are kept as they were; everything added is a backward node.
        expect(graph.nodes.slice(0, forward.nodes.length)).toEqual(forward.nodes);
        const added = graph.nodes.slice(forward.nodes.length);
        for (const n of added) expect(n.id.startsWith("grad/")).toBe(true);

        // On the path: ancestors of the loss that descend from a parameter (computed here independently).
        const ancestors = new Set<string>();
        const stack = ["loss"];
        while (stack.length > 0) {
          const id = stack.pop()!;
          if (!ancestors.has(id)) stack.push(...(ancestors.add(id), byId.get(id)!.inputs));
        }
        const fromParameters = new Set(parameterIds(forward));
        for (const n of forward.nodes) if (n.inputs.some((i) => fromParameters.has(i))) fromParameters.add(n.id);
        const onPath = new Set([...ancestors].filter((id) => fromParameters.has(id)));

        for (const n of added) {
          const subject = /^grad\/([A-Za-z0-9_]+)/.exec(n.id)![1]!;
          if (onPath.has(subject)) continue;
          // The one exception: a parameter the loss does not depend on gets a zero, and nothing else.
          expect(
            fromParameters.has(subject) && byId.get(subject)!.op === "parameter",
            `${n.id} differentiates ${subject}, which is not on a path to the loss`,
          ).toBe(true);
          expect(n).toMatchObject({ id: `grad/${subject}`, op: "constant", inputs: [], attrs: { value: 0 } });
        }
        // Every value on the path gets a gradient of its shape, an add of its parts where it fans out. Asking
        // for the gradients of all of them names each one and adds no node.
        const everything = differentiate(forward, { wrt: [...onPath] });
        const offPathZeros = new Set(
          parameterIds(forward)
            .filter((id) => !onPath.has(id))
            .map((id) => `grad/${id}`),
        );
        expect(everything.nodes).toEqual(graph.nodes.filter((n) => !offPathZeros.has(n.id)));
        const shapes = inferShapes(graph);
        for (const id of onPath) {
          const uses = forward.nodes.filter((n) => onPath.has(n.id)).flatMap((n) => n.inputs.filter((i) => i === id)).length;
          const grad = everything.gradients![id]!;
          expect(byId.has(grad), grad).toBe(true);
          if (uses >= 2) expect(byId.get(grad)).toMatchObject({ id: `grad/${id}`, op: "add" });
          expect(shapes.get(grad)).toEqual(shapes.get(id));
        }
        expect(forwardIds.has("labels") ? byId.has("grad/labels") : false).toBe(false);
        expect(byId.has("grad/weights")).toBe(false);
        expect(byId.has("grad/x")).toBe(false);

        // Each parameter's gradient is named, and has the parameter's shape.
        expect(Object.keys(graph.gradients!).sort()).toEqual(parameterIds(forward).sort());
        for (const [id, grad] of Object.entries(graph.gradients!)) {
          expect(byId.has(grad), grad).toBe(true);
          expect(shapes.get(grad)).toEqual(shapes.get(id));
          if (!onPath.has(id)) expect(byId.get(grad)).toMatchObject({ op: "constant", attrs: { value: 0 } });
        }
      }),
      { numRuns: 300 },
    );
  });
});
