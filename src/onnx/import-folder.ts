/**
 * Where an import is written: a folder holding the graph file and its weights as a checkpoint
 * (best.safetensors), and — when the model fits the bundled MNIST (images of 784 pixels, 10 classes) —
 * the config.json of a run that has not trained yet, so that `eval` and `predict` take the folder as a
 * run's and `train --init-from` its weights.
 */
import { join } from "node:path";
import { loadMnist } from "../data/mnist.js";
import { splitDataset } from "../data/split.js";
import type { Graph } from "../graph/ir.js";
import { trainingConfig } from "../graph/training.js";
import { inferShapes } from "../graph-file/shapes.js";
import { getOp } from "../ops/registry.js";
import { freshProgress, saveCheckpoint } from "../train/checkpoint.js";
import { RunFolder } from "../train/run-folder.js";
import type { RunRecord } from "../train/run-record.js";
import { writeFileAtomic } from "../util/atomic-write.js";
import { makeDirectories } from "../util/make-directories.js";
import type { ImportedModel } from "./import.js";

export interface ImportFolder {
  readonly graphFile: string;
  readonly checkpoint: string;
  /** config.json, when the model is one eval and predict can run on MNIST. */
  readonly record?: string;
}

export function writeImportFolder(dir: string, imported: ImportedModel): ImportFolder {
  RunFolder.checkFree(dir);
  makeDirectories(dir);
  const { graph, weights } = imported;
  const graphFile = join(dir, `${fileName(graph.name)}.graph.json`);
  writeFileAtomic(graphFile, graphText(graph));

  const shapes = inferShapes(graph);
  const ofRole = (role: string) => graph.nodes.filter((n) => getOp(n.op)?.role === role).map((n) => n.id);
  const parameters = ofRole("parameter");
  const config = trainingConfig(graph);
  const checkpoint = join(dir, "best.safetensors");
  saveCheckpoint(
    checkpoint,
    {
      parameters: new Map(parameters.map((id) => [id, weights.get(id)!])),
      state: new Map(ofRole("state").map((id) => [id, weights.get(id)!])),
      shapes: new Map([...weights.keys()].map((id) => [id, shapes.get(id)! as number[]])),
      optimizer: { name: config.optimizer, steps: 0, state: {} },
      progress: freshProgress(config.seed),
    },
    parameters,
  );
  if (!fitsMnist(graph)) return { graphFile, checkpoint };

  const data = loadMnist();
  const { split } = splitDataset(data, { kind: "report", testSize: config.test_size, valSize: config.val_size, seed: config.random_state });
  const { training: _section, ...trained } = graph;
  const record: RunRecord = {
    graph_file: graphFile,
    graph: trained,
    training: config,
    data: { dir: null, split: "report", train: split.train.length, validation: split.validation.length, test: split.test.length, classes: data.classes },
    created: new Date().toISOString(),
  };
  const recordFile = join(dir, "config.json");
  writeFileAtomic(recordFile, `${JSON.stringify(record, null, 2)}\n`);
  return { graphFile, checkpoint, record: recordFile };
}

/** A graph with a loss, taking MNIST's images ([batch, 784] or [batch, 1, 28, 28]) and 10 classes. */
function fitsMnist(graph: Graph): boolean {
  if (graph.loss === undefined) return false;
  const fed = (feed: string) => graph.nodes.find((n) => n.op === "input" && n.attrs.feed === feed)?.attrs.shape as (number | string)[] | undefined;
  const images = JSON.stringify(fed("features")?.slice(1));
  return (images === "[784]" || images === "[1,28,28]") && fed("labels")?.[1] === 10;
}

/** The graph as a file: one line per node, as the shipped graphs are written. */
export function graphText(graph: Graph): string {
  const { nodes, ...rest } = graph;
  const lines = nodes.map(
    (n) =>
      `    ${JSON.stringify(n.inputs.length === 0 ? { id: n.id, op: n.op, attrs: n.attrs } : Object.keys(n.attrs).length === 0 ? { id: n.id, op: n.op, inputs: n.inputs } : n)}`,
  );
  const head = JSON.stringify({ name: rest.name, ...(rest.description !== undefined ? { description: rest.description } : {}) }, null, 2).slice(0, -2);
  const tail = JSON.stringify({ ...(rest.loss !== undefined ? { loss: rest.loss } : {}), outputs: rest.outputs, training: rest.training }, null, 2).slice(1);
  return `${head},\n  "nodes": [\n${lines.join(",\n")}\n  ],${tail}\n`;
}

function fileName(name: string): string {
  return name.replace(/[^A-Za-z0-9_.-]/g, "_").replace(/^\.+/, "_") || "model";
}
