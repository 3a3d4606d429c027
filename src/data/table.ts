/**
 * Samples from a file of numbers rather than pictures: a CSV table, an .npz archive, or an .npy file of
 * features with an .npy file of labels. The graph says what is expected — its features input the values
 * per sample, its labels input the number of classes — and data that do not fit are refused with one
 * line naming the file, the input and both shapes. Features are used as given: no scaling.
 */
import { extname } from "node:path";
import { UserError } from "../graph/errors.js";
import type { Graph } from "../graph/ir.js";
import { readFileNamed } from "../util/fs-errors.js";
import { parseCsvTable } from "./csv-table.js";
import type { Dataset } from "./mnist.js";
import { parseNpy, type NpyArray } from "./npy.js";
import { parseNpz } from "./npz.js";

/** A file of samples, as `--data FILE [--labels FILE] [--label-column C]` give it. */
export interface TableSource {
  /** A .csv, .npz or .npy file. */
  readonly file: string;
  /** With an .npy file of features: the .npy file of their labels. */
  readonly labels?: string;
  /** With a .csv file: the label column, by name or number (from 0). */
  readonly labelColumn?: string;
}

export const TABLE_EXTENSIONS = [".csv", ".npz", ".npy"] as const;

/** What the graph expects of each sample: the id and shape of its features and labels inputs. */
export interface GraphInputs {
  readonly features: { readonly id: string; readonly shape: readonly (number | string)[] };
  readonly labels: { readonly id: string; readonly shape: readonly (number | string)[] };
}

/** The graph's features and labels inputs (modelRoles has checked that the graph has both). */
export function graphInputs(graph: Graph): GraphInputs {
  const input = (feed: string) => {
    const node = graph.nodes.find((n) => n.op === "input" && n.attrs.feed === feed);
    if (!node) throw new UserError(`the graph has no input fed the ${feed} (an input node with "feed": "${feed}").`);
    return { id: node.id, shape: (node.attrs.shape as (number | string)[] | undefined) ?? [] };
  };
  return { features: input("features"), labels: input("labels") };
}

/** Labels are held as bytes (Samples.labels), as MNIST's are. */
const MAX_CLASSES = 256;

/** Features and labels read from a file, before they are checked against the graph. */
interface Columns {
  readonly features: Float64Array;
  /** The values of one sample, as the file shapes them: [4] for a table's row, [28, 28] for an image. */
  readonly sampleShape: readonly number[];
  /** What one sample is in the file, for messages: "4 columns besides the label column \"species\"", "shape (150, 4)". */
  readonly sampleWhat: string;
  readonly labels: Float64Array;
  /** Where the i-th label is, for messages: "iris.csv, line 52". */
  readonly labelAt: (i: number) => string;
  readonly count: number;
  /** How many samples come first from a training part (an .npz's x_train); the rest from its test part. */
  readonly trainCount: number;
}

/** The dataset `source` holds, checked against the graph's inputs. */
export function loadTable(source: TableSource, inputs: GraphInputs): Dataset {
  const ext = extname(source.file).toLowerCase();
  if (source.labels !== undefined && ext !== ".npy") {
    throw new UserError(`--labels ${source.labels} goes with an .npy file of features (--data x.npy --labels y.npy); ${source.file} holds its labels itself.`);
  }
  if (source.labelColumn !== undefined && ext !== ".csv") {
    throw new UserError(`--label-column ${source.labelColumn} names a column of a CSV file; ${source.file} is not one (.csv).`);
  }
  const columns = ext === ".csv" ? csvColumns(source) : ext === ".npz" ? npzColumns(source.file) : npyColumns(source);
  const { classes } = checkFits(columns, inputs, source.file);
  const labels = new Uint8Array(columns.count);
  columns.labels.forEach((label, i) => (labels[i] = label));
  return {
    images: new Uint8Array(0),
    values: columns.features,
    labels,
    count: columns.count,
    features: columns.features.length / Math.max(columns.count, 1),
    side: 0,
    imageShape: columns.sampleShape,
    classes,
    officialTrainCount: columns.trainCount,
    source: source.file,
  };
}

/**
 * Each sample's values, in row-major order, fill one sample of the features input (a table's row fills
 * [batch, 4]; a 28 × 28 image fills [batch, 784] or [batch, 1, 28, 28]); labels are whole numbers from
 * 0 to one less than the labels input's last dimension.
 */
function checkFits(columns: Columns, inputs: GraphInputs, file: string): { classes: number } {
  const { features, labels } = inputs;
  const sample = features.shape.slice(1);
  const width = columns.sampleShape.reduce((a, b) => a * b, 1);
  const expected = sample.every((d) => typeof d === "number") ? (sample as number[]).reduce((a, b) => a * b, 1) : NaN;
  if (expected !== width) {
    throw new UserError(
      `${file}: each sample holds ${width} value${width === 1 ? "" : "s"} (${columns.sampleWhat}), but the graph's input "${features.id}" takes [${features.shape.join(", ")}]; declare it [batch, ${width}] or give data of its width.`,
    );
  }
  const classes = labels.shape.at(-1);
  if (typeof classes !== "number" || classes < 1 || classes > MAX_CLASSES) {
    throw new UserError(
      `the graph's input "${labels.id}" takes [${labels.shape.join(", ")}]: its last dimension, the number of classes, must be a number from 1 to ${MAX_CLASSES}.`,
    );
  }
  for (let i = 0; i < columns.count; i++) {
    const label = columns.labels[i]!;
    if (!(Number.isInteger(label) && label >= 0 && label < classes)) {
      throw new UserError(
        `${columns.labelAt(i)}: label ${label} is not a class number 0 … ${classes - 1}, the classes of the graph's input "${labels.id}" [${labels.shape.join(", ")}].`,
      );
    }
  }
  return { classes };
}

function csvColumns(source: TableSource): Columns {
  const table = parseCsvTable(readFileNamed(source.file).toString("utf8"), source.file, source.labelColumn);
  return {
    features: table.features,
    sampleShape: [table.width],
    sampleWhat: `${table.width} column${table.width === 1 ? "" : "s"} besides the label column ${table.labelName}`,
    labels: table.labels,
    labelAt: (i) => `${source.file}, line ${table.lines[i]}, column ${table.labelName}`,
    count: table.count,
    trainCount: table.count,
  };
}

/** The array names an .npz is read by: features and labels, and optionally a test part. */
const NPZ_NAMES = [
  ["x", "y"],
  ["features", "labels"],
  ["x_train", "y_train"],
] as const;

function npzColumns(file: string): Columns {
  const arrays = parseNpz(readFileNamed(file), file);
  const names = NPZ_NAMES.find(([x, y]) => arrays.has(x) && arrays.has(y));
  if (!names) {
    const held = arrays.size === 0 ? "no arrays" : `the arrays ${[...arrays.keys()].join(", ")}`;
    throw new UserError(
      `${file}: holds ${held}; expected features and labels named x and y, features and labels, or x_train and y_train (with x_test and y_test), as numpy.savez(file, x=…, y=…) writes them.`,
    );
  }
  const train = arrayColumns(arrays.get(names[0])!, arrays.get(names[1])!);
  if (names[0] !== "x_train" || !(arrays.has("x_test") && arrays.has("y_test"))) return train;
  // Keras's layout (mnist.npz): the test part follows the training part, as MNIST's t10k files do.
  const test = arrayColumns(arrays.get("x_test")!, arrays.get("y_test")!);
  if (test.sampleShape.join() !== train.sampleShape.join()) {
    throw new UserError(`${file}: x_test holds samples of shape (${test.sampleShape.join(", ")}), but x_train (${train.sampleShape.join(", ")}).`);
  }
  const join = (a: Float64Array, b: Float64Array) => {
    const out = new Float64Array(a.length + b.length);
    out.set(a);
    out.set(b, a.length);
    return out;
  };
  return {
    ...train,
    features: join(train.features, test.features),
    labels: join(train.labels, test.labels),
    labelAt: (i) => (i < train.count ? train.labelAt(i) : test.labelAt(i - train.count)),
    count: train.count + test.count,
  };
}

function npyColumns(source: TableSource): Columns {
  if (source.labels === undefined) {
    throw new UserError(`${source.file}: an .npy file holds one array, the features; give their labels with --labels y.npy (or put both in an .npz).`);
  }
  const read = (file: string) => parseNpy(readFileNamed(file), file);
  return arrayColumns(read(source.file), read(source.labels));
}

/** Features of shape (count, …) and labels of shape (count,) or (count, 1). */
function arrayColumns(x: NpyArray, y: NpyArray): Columns {
  if (x.shape.length < 2) {
    throw new UserError(`${x.file}: holds an array of shape (${x.shape.join(", ")}); features are one row per sample, shape (samples, features).`);
  }
  const count = x.shape[0]!;
  if (!(y.shape.length === 1 || (y.shape.length === 2 && y.shape[1] === 1))) {
    throw new UserError(
      `${y.file}: holds labels of shape (${y.shape.join(", ")}); expected one class number per sample, shape (${count},)${y.shape.length === 2 ? " (one-hot rows? save y.argmax(axis=1))" : ""}.`,
    );
  }
  if (y.shape[0] !== count) throw new UserError(`${y.file}: holds ${y.shape[0]} labels for the ${count} samples of ${x.file}.`);
  return {
    features: x.values,
    sampleShape: x.shape.slice(1),
    sampleWhat: `shape (${x.shape.join(", ")}) of ${x.dtype}`,
    labels: y.values,
    labelAt: (i) => `${y.file}, row ${i}`,
    count,
    trainCount: count,
  };
}
