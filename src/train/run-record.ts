/**
 * A run folder's record: config.json, what `graphnet train` recorded so that `eval`, `predict` and
 * `--resume` rebuild the same session without the original files and flags, and metrics.json, the epochs
 * so far. Each is checked against its schema when read: a file edited by hand or damaged is refused with
 * the field that is wrong, never half used.
 */
import { Type, type Static } from "@sinclair/typebox";
import { findNodeAtLocation, parseTree } from "jsonc-parser";
import { SPLIT_KINDS, type SplitKind } from "../data/split.js";
import { UserError } from "../graph/errors.js";
import type { Graph } from "../graph/ir.js";
import { parseGraph } from "../graph-file/load.js";
import { TrainingSchema, type TrainingConfig } from "../graph/training.js";
import type { EpochMetrics } from "./run-folder.js";
import { readGivenFile } from "../util/fs-errors.js";
import { formatCheck } from "./schema-check.js";

/** What config.json records: enough to rebuild the session without the original files' flags. */
export interface RunRecord {
  readonly graph_file: string;
  /** The graph as trained: activations and dropout rates settled, the training section complete. */
  readonly graph: Graph;
  readonly training: TrainingConfig;
  readonly data: {
    readonly dir: string | null;
    readonly split: SplitKind;
    readonly train: number;
    readonly validation: number;
    readonly test: number;
    readonly classes: number;
  };
  /** Modules of custom ops the graph was trained with, loaded again when the run is reopened. */
  readonly op_modules?: readonly string[];
  readonly created: string;
}

const Count = Type.Integer({ minimum: 0, description: "a whole number ≥ 0" });

/**
 * config.json's schema. The graph is only required to be an object here: it is validated as a graph
 * file is once the run's op modules are loaded (they may define its ops), by parseGraph.
 */
export const RunRecordSchema = Type.Object(
  {
    graph_file: Type.String(),
    graph: Type.Object({}, { additionalProperties: true, description: "the graph as trained" }),
    training: TrainingSchema,
    data: Type.Object(
      {
        dir: Type.Union([Type.String(), Type.Null()], { description: "the idx data's directory, or null for the bundled MNIST" }),
        split: Type.Union(SPLIT_KINDS.map((kind) => Type.Literal(kind))),
        train: Count,
        validation: Count,
        test: Count,
        classes: Count,
      },
      { additionalProperties: false },
    ),
    op_modules: Type.Optional(Type.Array(Type.String(), { description: "paths of JavaScript modules" })),
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
  return metrics.check(readJson(path, "the run's metrics"), path);
}

/** config.json as read: every field checked, except the graph, which is only known to be an object. */
export type StoredRunRecord = Omit<Static<typeof RunRecordSchema>, "graph"> & { readonly graph: Record<string, unknown> };

const runRecord = formatCheck<StoredRunRecord>(RunRecordSchema);

/** Reads and checks a run's config.json. */
export function readRunRecord(path: string): StoredRunRecord {
  return runRecord.check(readJson(path, "the run's configuration"), path);
}

/**
 * The graph recorded in config.json (whose record readRunRecord checked), parsed and validated as a
 * graph file is, once the run's op modules are loaded. Its errors give the line and column in config.json:
 * the parser is given the file's text with everything before the graph blanked out (newlines kept).
 */
export function parseRecordedGraph(path: string): Graph {
  const text = readText(path, "the run's configuration");
  const node = findNodeAtLocation(parseTree(text) ?? { type: "null", offset: 0, length: 0 }, ["graph"]);
  if (!node) throw new UserError(`${path}: field "graph": is required but missing.`);
  const before = text.slice(0, node.offset).replace(/[^\r\n]/g, " ");
  return parseGraph(before + text.slice(node.offset, node.offset + node.length), path);
}

/** A JSON file's value; `what` names it in messages ("the run's configuration"). */
function readJson(path: string, what: string): unknown {
  const text = readText(path, what);
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new UserError(`${path}: ${what} is not JSON (${(err as Error).message}).`);
  }
}

function readText(path: string, what: string): string {
  return readGivenFile(path, what).toString("utf8");
}
