/**
 * The weights an export writes: a run's best checkpoint (its parameters and its state, as eval reads
 * them), or a graph's initial ones (as training would start from them, with the training seed).
 */
import { existsSync } from "node:fs";
import { Executor } from "../exec/executor.js";
import { initializeParameters } from "../exec/initialize.js";
import { compilePlan } from "../exec/plan.js";
import { UserError } from "../graph/errors.js";
import { sameShape, type Graph } from "../graph/ir.js";
import { trainingConfig } from "../graph/training.js";
import { inferShapes } from "../graph-file/shapes.js";
import { getOp } from "../ops/registry.js";
import { loadCheckpoint } from "../train/checkpoint.js";
import { RunFolder } from "../train/run-folder.js";
import { loadRunRecord } from "../train/run-record.js";

/** A graph and the values of its parameters and state, by id. */
export interface WeightedGraph {
  readonly graph: Graph;
  readonly weights: Map<string, Float32Array>;
}

/** The run's graph with the weights of its best (default) or last checkpoint. Load the run's op modules first. */
export function runWeights(dir: string, which: "best" | "last" = "best"): WeightedGraph {
  const folder = RunFolder.open(dir);
  const record = loadRunRecord(folder.path("config.json"));
  const path = which === "best" ? folder.bestCheckpoint : folder.lastCheckpoint;
  if (!existsSync(path)) throw new UserError(`${dir}: there is no ${which} checkpoint yet (${path}); the run has not finished an epoch.`);
  const checkpoint = loadCheckpoint(path);
  const weights = new Map([...checkpoint.parameters, ...(checkpoint.state ?? [])]);
  checkWeights(record.graph, weights, checkpoint.shapes, path);
  return { graph: record.graph, weights };
}

/** The graph's weights as training would initialise them (its training section's seed unless given). */
export function initialWeights(graph: Graph, seed = trainingConfig(graph).seed): Map<string, Float32Array> {
  const stored = graph.nodes.filter((n) => ["parameter", "state"].includes(getOp(n.op)?.role ?? "")).map((n) => n.id);
  if (stored.length === 0) return new Map();
  // A plan of the stored values alone, at batch 1: nothing is computed, the executor only holds them.
  const plan = compilePlan(graph, { outputs: stored, sizes: { batch: 1 }, dtype: "float32" });
  const executor = new Executor(plan, { seed, backend: "ts" });
  initializeParameters(executor, graph, seed);
  return new Map(stored.map((id) => [id, Float32Array.from(executor.view(id))]));
}

/** Every parameter and state of the graph has its tensor, of its shape. */
function checkWeights(graph: Graph, weights: ReadonlyMap<string, Float32Array>, shapes: ReadonlyMap<string, readonly number[]>, source: string): void {
  const inferred = inferShapes(graph);
  for (const node of graph.nodes) {
    const role = getOp(node.op)?.role;
    if (role !== "parameter" && role !== "state") continue;
    const shape = inferred.get(node.id)!;
    if (!weights.has(node.id)) throw new UserError(`${source}: has no tensor for the graph's ${role} "${node.id}".`);
    const saved = shapes.get(node.id)!;
    if (!sameShape(saved, shape))
      throw new UserError(`${source}: tensor "${node.id}" has shape [${saved.join(", ")}], but the graph's ${role} "${node.id}" is [${shape.join(", ")}].`);
  }
}
