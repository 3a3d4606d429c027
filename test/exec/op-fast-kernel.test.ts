/**
 * Fast kernels found through the op: an op's own kernel for the wasm backend (fast.wasm), from a module
 * of ops as `--ops` loads one, runs there in place of its reference kernel and gives its values; a
 * WasmCall naming no kernel of the module is refused, naming the node; and an op registered in the
 * place of a built-in one does not get the backend's kernels for the built-in.
 */
import { describe, expect, it } from "vitest";
import { Executor, compilePlan, type Graph, type GraphNode, type OpDefinition } from "../../src/index.js";
import { getOp, registerOp } from "../../src/ops/registry.js";

const LEAKY_RELU = new URL("../../examples/ops/leaky_relu.js", import.meta.url).href;
const leakyModule = (await import(LEAKY_RELU)) as { default: OpDefinition<{ alpha?: number }>[] };
for (const op of leakyModule.default) registerOp(op, { replace: true });

function graphOf(op: string, shapes: number[][], attrs: Record<string, unknown> = {}): Graph {
  return {
    name: `one-${op}`,
    nodes: [
      ...shapes.map((shape, i) => ({ id: `in${i}`, op: "input", inputs: [], attrs: { shape } })),
      { id: "out", op, inputs: shapes.map((_, i) => `in${i}`), attrs: attrs as GraphNode["attrs"] },
    ],
  };
}

/** Runs `graph` on the backend, its inputs filled with a fixed pattern of both signs; the output and whether a fast kernel ran. */
function run(graph: Graph, backend: "ts" | "wasm") {
  const executor = new Executor(compilePlan(graph, { outputs: ["out"], dtype: "float32" }), { backend });
  for (const node of graph.nodes.filter((n) => n.op === "input")) {
    const view = executor.view(node.id);
    for (let i = 0; i < view.length; i++) view[i] = Math.sin(i * 1.7 + node.id.length) * 3;
  }
  executor.run();
  return { out: Array.from(executor.view("out")), fast: executor.fastNodes.includes("out") };
}

describe("an op's own fast kernel for the wasm backend", () => {
  it("from a module of ops (examples/ops/leaky_relu.js) runs on wasm in place of its kernel, with its values; not on ts", () => {
    const graph = graphOf("my_leaky_relu", [[5, 33]], { alpha: 0.2 });
    const wasm = run(graph, "wasm");
    const ts = run(graph, "ts");
    expect(wasm.fast).toBe(true);
    expect(ts.fast).toBe(false);
    expect(wasm.out).toEqual(ts.out);
    expect(wasm.out.some((v) => v < 0)).toBe(true);
  });

  it("may declare a call of the module's kernels; one naming no such kernel is refused, naming the node and the export", () => {
    registerOp({ ...getOp("relu")!, name: "relu_by_call", fast: { wasm: () => ({ export: "relu", over: "elements" }) } });
    const byCall = run(graphOf("relu_by_call", [[4, 9]]), "wasm");
    expect(byCall.fast).toBe(true);
    expect(byCall.out).toEqual(run(graphOf("relu", [[4, 9]]), "ts").out);
    registerOp({ ...getOp("relu")!, name: "relu_by_typo", fast: { wasm: () => ({ export: "rleu", over: "elements" }) } });
    expect(() => run(graphOf("relu_by_typo", [[4, 9]]), "wasm")).toThrow(/node "out".*"rleu"/);
  });

  it("is not the backend's kernel of a built-in op for an op registered in its place", () => {
    const graph = graphOf("matmul", [
      [6, 5],
      [5, 4],
    ]);
    expect(run(graph, "wasm").fast).toBe(true);
    const builtIn = getOp("matmul")!;
    try {
      // The same definition, copied: another op as far as the backend knows, which its matmul kernel does not compute.
      registerOp({ ...builtIn }, { replace: true });
      const replaced = run(graph, "wasm");
      expect(replaced.fast).toBe(false);
      expect(replaced.out).toEqual(run(graph, "ts").out);
    } finally {
      registerOp(builtIn, { replace: true });
    }
  });

  it("must be a function, by backend name", () => {
    expect(() => registerOp({ ...getOp("relu")!, name: "relu_bad_fast", fast: { wasm: "relu" } as never })).toThrow('"fast", when given, must be an object');
  });
});
