/**
 * A run folder's record: config.json, what `graphnet train` recorded so that `eval`, `predict` and
 * `--resume` rebuild the same session without the original files and flags, and metrics.json, the epochs
 * so far. Each is checked against its schema when read: a file edited by hand or damaged is refused with
 * the field that is wrong, never half used.
 */
import { Type, type Static } from "#typebox";
import { SPLIT_KINDS, type SplitKind } from "../data/split.js";
import type { Graph } from "../graph/ir.js";
import { readJsonText, type JsonText } from "../graph/json-text.js";
import { graphSourceOf } from "../graph-file/load.js";
import { DEFAULT_TRAINING, TrainingSchema, type TrainingConfig } from "../graph/training.js";
import { UserError } from "../graph/errors.js";
import type { EpochMetrics } from "./run-folder.js";
import { readGivenFile } from "../util/fs-errors.js";
import { formatCheck } from "./schema-check.js";

/** What config.json records: enough to rebuild the session without the original files' flags. */
export interface RunRecord {
  readonly graph_file: string;
  /** The graph as trained: activations and dropout rates settled. Its training section is `training`, beside it. */
  readonly graph: Graph;
  /** The training settings, resolved once when the run started (flags over the graph file's section over defaults). */
  readonly training: TrainingConfig;
  readonly data: {
    /** The idx data's directory, or null for the bundled MNIST or for data read from a file. */
    readonly dir: string | null;
    /** A .csv, .npz or .npy file the samples were read from (train --data FILE). */
    readonly file?: string;
    /** With an .npy file of features: the .npy file of their labels (--labels). */
    readonly labels?: string;
    /** With a .csv file: the label column as given (--label-column). */
    readonly label_column?: string;
    readonly split: SplitKind;
    readonly train: number;
    readonly validation: number;
    readonly test: number;
    readonly classes: number;
  };
  /** Modules of custom ops the graph was trained with, loaded again when the run is reopened. */
  readonly op_modules?: readonly string[];
  /** The checkpoint whose weights training started from (--init-from), if not the graph's initialisation. */
  readonly init_from?: string;
  readonly created: string;
}

const Count = Type.Integer({ minimum: 0, description: "a whole number ≥ 0" });

/**
 * config.json's schema. The graph is only required to be an object here: it is validated as a graph
 * file is once the run's op modules are loaded (they may define its ops), by loadRunRecord.
 */
export const RunRecordSchema = Type.Object(
  {
    graph_file: Type.String(),
    graph: Type.Object({}, { additionalProperties: true, description: "the graph as trained" }),
    training: TrainingSchema,
    data: Type.Object(
      {
        dir: Type.Union([Type.String(), Type.Null()], { description: "the idx data's directory, or null for the bundled MNIST or a file's data" }),
        file: Type.Optional(Type.String({ description: "the .csv, .npz or .npy file of samples (train --data FILE)" })),
        labels: Type.Optional(Type.String({ description: "the .npy file of labels for an .npy file of features (--labels)" })),
        label_column: Type.Optional(Type.String({ description: "a CSV file's label column, by name or number (--label-column)" })),
        split: Type.Union(SPLIT_KINDS.map((kind) => Type.Literal(kind))),
        train: Count,
        validation: Count,
        test: Count,
        classes: Count,
      },
      { additionalProperties: false },
    ),
    op_modules: Type.Optional(Type.Array(Type.String(), { description: "paths of JavaScript modules" })),
    init_from: Type.Optional(Type.String({ description: "the checkpoint the weights started from (--init-from)" })),
    created: Type.String(),
  },
  { additionalProperties: false },
);

/** A metric as JSON holds it: a number, or null where it was not one (JSON has no NaN or ±∞). */
const Metric = Type.Union([Type.Number(), Type.Null()]);

/** One epoch's row of metrics.json (src/train/run-folder.ts, EpochMetrics), also kept in checkpoints. */
export const EpochMetricsSchema = Type.Object(
  {
    epoch: Type.Integer({ minimum: 1 }),
    train_loss: Metric,
    train_accuracy: Metric,
    val_loss: Metric,
    val_accuracy: Metric,
    learning_rate: Metric,
    seconds: Metric,
    samples_per_s: Metric,
  },
  { additionalProperties: false },
);

const metrics = formatCheck<EpochMetrics[]>(Type.Array(EpochMetricsSchema));

/** Reads and checks a run's metrics.json: one row per epoch completed. */
export function readMetrics(path: string): EpochMetrics[] {
  const what = "the run's metrics";
  return metrics.check(parseJson(readText(path, what), path, what), path);
}

/** config.json as read: every field checked, except the graph, which is only known to be an object. */
export type StoredRunRecord = Omit<Static<typeof RunRecordSchema>, "graph"> & { readonly graph: Record<string, unknown> };

const runRecord = formatCheck<StoredRunRecord>(RunRecordSchema);

const WHAT = "the run's configuration";

/** Reads and checks a run's config.json, leaving its graph unchecked (the run's op modules may define its ops). */
export function readRunRecord(path: string): StoredRunRecord {
  return readRecord(path).record;
}

/**
 * A run's config.json, read and parsed once: the record checked, and the graph it stores loaded as a
 * graph file is (once the run's op modules are loaded), its errors placed at their line and column in
 * config.json.
 */
export function loadRunRecord(path: string): RunRecord {
  const { record, text } = readRecord(path);
  // The text is parsed again only to place an error found in the graph (as readJsonText places its own, lazily).
  let whole: JsonText | undefined;
  const json: JsonText = { value: record.graph, locate: (at) => (whole ??= readJsonText(text, path)).locate(["graph", ...at]) };
  // A config.json written before the settings were stored once holds them in the graph too: the same
  // object as `training`, so that copy is dropped, and such a run resumes as it was.
  const { training: _copy, ...graph } = graphSourceOf(json, path).graph;
  // A setting added to graphnet after the run was written takes its default, which is what that run did.
  return { ...record, graph, training: { ...DEFAULT_TRAINING, ...record.training } };
}

function readRecord(path: string): { record: StoredRunRecord; text: string } {
  const text = readText(path, WHAT);
  return { record: runRecord.check(parseJson(text, path, WHAT), path), text };
}

/** A JSON file's value; `what` names it in messages ("the run's configuration"). */
function parseJson(text: string, path: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new UserError(`${path}: ${what} is not JSON (${(err as Error).message}).`);
  }
}

function readText(path: string, what: string): string {
  return readGivenFile(path, what).toString("utf8");
}
