/** `graphnet inspect FILE`: the nodes, their shapes and parameter counts (the non-trainable state apart); the backward graph; the plan. */
import { differentiate, isBackwardNode } from "../../src/autodiff/differentiate.js";
import { compilePlan, type Plan } from "../../src/exec/plan.js";
import { loadGraphSource } from "../../src/graph-file/load.js";
import { inferShapes } from "../../src/graph-file/shapes.js";
import { formatShape, type Graph } from "../../src/graph/ir.js";
import { trainingConfig } from "../../src/graph/training.js";
import { formulaOf } from "../../src/ops/op.js";
import { getOp } from "../../src/ops/registry.js";
import { formatBytes } from "../../src/util/format-bytes.js";
import { formatInt, formatTable } from "../table.js";

export interface InspectOptions {
  backward?: boolean;
  plan?: boolean;
  batch?: number;
  json?: boolean;
}

/** `graphnet inspect`, its command line parsed by ../usage/inspect.ts. */
export function inspectAction(file: string, options: InspectOptions): void {
  const source = loadGraphSource(file);
  source.guard(() => inspect(file, source.graph, options));
}

function inspect(file: string, forward: Graph, options: InspectOptions): void {
  const graph = options.backward || options.plan ? differentiate(forward) : forward;
  if (options.json) {
    // With $schema, as every graph file: the output can be saved, edited and loaded again.
    const json = { $schema: "./graph.schema.json", ...(options.backward ? graph : forward) };
    process.stdout.write(`${JSON.stringify(json, null, 2)}\n`);
    return;
  }
  process.stdout.write(`${describeGraph(file, forward, options.backward ? graph : undefined)}\n`);
  if (options.plan) {
    const batch = options.batch ?? trainingConfig(forward).batch_size;
    process.stdout.write(`\n${describePlan(graph, batch)}\n`);
  }
}

/** The summary `graphnet inspect` prints: a row per node (with `withBackward`, a second table of the backward nodes). */
export function describeGraph(file: string, forward: Graph, withBackward: Graph | undefined): string {
  const graph = withBackward ?? forward;
  const shapes = inferShapes(graph);
  const byId = new Map(graph.nodes.map((n) => [n.id, n]));
  const row = (id: string) => {
    const node = byId.get(id)!;
    const op = getOp(node.op)!;
    const shape = shapes.get(id)!;
    const params = op.role === "parameter" ? formatInt(shape.reduce<number>((n, d) => n * Number(d), 1)) : "";
    const detail =
      op.role === "parameter" || op.role === "state"
        ? ` (${String(node.attrs.init)})`
        : node.op === "input" && node.attrs.feed
          ? ` (${String(node.attrs.feed)})`
          : "";
    return [id, node.op + detail, node.inputs.join(", ") || "—", formatShape(shape), params, formulaOf(op, node) ?? ""];
  };
  const columns = [{ title: "node" }, { title: "op" }, { title: "inputs" }, { title: "shape" }, { title: "parameters", align: "right" as const }];
  const forwardRows = forward.nodes.map((n) => row(n.id).slice(0, 5));
  const countOf = (role: "parameter" | "state") =>
    forward.nodes.filter((n) => getOp(n.op)?.role === role).reduce((sum, n) => sum + shapes.get(n.id)!.reduce<number>((p, d) => p * Number(d), 1), 0);
  const parameterCount = countOf("parameter");
  const stateCount = countOf("state");

  const lines = [
    `${forward.name} (${file}): ${formatInt(forward.nodes.length)} nodes${forward.loss ? `, loss "${forward.loss}"` : ""}`,
    "",
    formatTable(columns, forwardRows),
    "",
    `parameters: ${formatInt(parameterCount)} (${formatBytes(parameterCount * 4)} in float32)`,
    ...(stateCount > 0
      ? [
          `state: ${formatInt(stateCount)} (${formatBytes(stateCount * 4)} in float32), not trained: running averages updated by each training step, saved in checkpoints`,
        ]
      : []),
  ];
  if (withBackward) {
    const backward = withBackward.nodes.filter((n) => isBackwardNode(n.id));
    lines.push(
      "",
      `backward: ${backward.length} nodes derived by autodiff from "${forward.loss}"`,
      "",
      formatTable(
        [...columns.slice(0, 4), { title: "formula" }],
        backward.map((n) => {
          const cells = row(n.id);
          return [...cells.slice(0, 4), cells[5]!];
        }),
      ),
      "",
      "gradient outputs:",
      ...Object.entries(withBackward.gradients ?? {}).map(([value, grad]) => `  d${forward.loss}/d${value} = ${grad}  ${formatShape(shapes.get(grad)!)}`),
    );
  }
  return lines.join("\n");
}

function describePlan(graph: Graph, batch: number): string {
  const outputs = [...(graph.loss ? [graph.loss] : []), ...Object.values(graph.gradients ?? {})];
  const plan: Plan = compilePlan(graph, { outputs, sizes: { batch }, dtype: "float32" });
  const rows = plan.steps.map((step, i) => [
    String(i),
    step.node.id,
    step.node.op,
    formatShape(step.output.shape),
    formatInt(step.output.offset * 4),
    formatBytes(step.output.elements * 4),
    Number.isFinite(step.output.lastStep) ? `${step.output.firstStep}–${step.output.lastStep}` : `${step.output.firstStep}–end`,
  ]);
  const stored = [...plan.values.values()].filter((v) => v.storage !== "work");
  const bytesOf = (storage: string) => stored.filter((v) => v.storage === storage).reduce((n, v) => n + v.elements * 4, 0);
  const work = plan.arenaBytes - plan.parameterElements * 4 - bytesOf("state") - bytesOf("input");
  const state = bytesOf("state") > 0 ? ` + state ${formatBytes(bytesOf("state"))}` : "";
  return [
    `plan of one training step at batch ${batch}, float32: ${plan.steps.length} steps computing ${outputs.length} outputs (the loss and the gradients)`,
    "",
    formatTable(
      [
        { title: "step", align: "right" },
        { title: "node" },
        { title: "op" },
        { title: "shape" },
        { title: "offset (B)", align: "right" },
        { title: "size", align: "right" },
        { title: "live" },
      ],
      rows,
    ),
    "",
    `arena: ${formatBytes(plan.arenaBytes)} (${formatInt(plan.arenaBytes)} bytes) = parameters ${formatBytes(plan.parameterElements * 4)}${state} + inputs ${formatBytes(bytesOf("input"))} + shared work area ${formatBytes(work)}`,
    `one buffer per value would take ${formatBytes(plan.naiveBytes)} (${formatInt(plan.naiveBytes)} bytes): reuse saves ${(100 * (1 - plan.arenaBytes / plan.naiveBytes)).toFixed(1)} %`,
  ].join("\n");
}
