/**
 * What the pictures of a run show, gathered from its session as plain data, and where they go: they may
 * be drawn in another thread (picture-thread.ts), which gets a copy of the data and nothing else — the
 * graph too goes as the picture describeGraph makes of it here, where the run's op modules are loaded.
 * Loads no picture library.
 */
import { sampleInput } from "../src/data/batch.js";
import type { Evaluation } from "../src/train/model.js";
import type { EpochMetrics } from "../src/train/run-folder.js";
import { readMetrics } from "../src/train/run-record.js";
import type { RunRecord, Session } from "../src/train/session.js";
import type { TrainingOutcome } from "../src/train/trainer.js";
import { writeFileAtomic } from "../src/util/atomic-write.js";
import { plural } from "../src/graph/plural.js";
import { Random } from "../src/util/random.js";
import { describeNetwork } from "../src/graph/configure.js";
import { describeGraph, type GraphPicture } from "./graph-picture.js";
import type { Prediction } from "./predictions.js";

/** A finished run, as train() returns it: its history and its test evaluation. */
export type RunSummary = Pick<TrainingOutcome, "history" | "bestEpoch" | "trainSeconds" | "status"> & { readonly test: Evaluation };

/** What every report of a run shows, finished or not. */
export interface RunDescription {
  /** The graph's name. */
  readonly name: string;
  /** Its hidden layers' activations (or its size), as describeNetwork gives them. */
  readonly network: string;
  /** The run folder, as the report's title shows it. */
  readonly dir: string;
  readonly config: Session["config"];
  readonly data: RunRecord["data"];
}

export interface RunPicturesInput extends RunDescription {
  /** The forward graph as trained (configured: its activations, its dropout rates). */
  readonly graph: GraphPicture;
  readonly predictions: readonly Prediction[];
  readonly run: RunSummary;
}

/** report.html while the run trains: what it has done so far. */
export interface LiveReportInput extends RunDescription {
  /** Where report.html goes. */
  readonly file: string;
  /** The epochs done so far (none before the first ends). */
  readonly history: readonly EpochMetrics[];
  /** Reloads itself while the run trains; not once it has stopped without its final pictures. */
  readonly running: boolean;
  /** Where the run stands, as the page says it ("training: 3 epochs of 15 done; …", "interrupted; …"). */
  readonly status: string;
}

/** Eight test digits drawn at random (seeded) and what the model, holding its best weights, makes of them. */
export function samplePredictions(session: Session, count = 8, seed = session.config.seed): Prediction[] {
  const random = new Random(seed ^ 0xf1e1d);
  const { data, split, model } = session;
  if (data.values) return []; // samples that are not pictures: nothing to draw
  return Array.from({ length: count }, () => {
    const sample = split.test[random.int(split.test.length)]!;
    const pixels = sampleInput(data, sample);
    const probs = model.predict(pixels);
    const predicted = probs.indexOf(Math.max(...probs));
    return { pixels, side: data.side, label: data.labels[sample]!, predicted, probability: probs[predicted]! };
  });
}

function runDescription(session: Session): RunDescription {
  const { record, folder, config } = session;
  return { name: record.graph.name, network: describeNetwork(record.graph), dir: folder.dir, config, data: record.data };
}

/** The model holds its best weights: the predictions drawn are the ones the test measured. */
export function runPicturesInput(session: Session, run: RunSummary): RunPicturesInput {
  return { ...runDescription(session), graph: networkPicture(session), predictions: samplePredictions(session), run };
}

/** The network as report.html draws it. */
export function networkPicture(session: Session): GraphPicture {
  return describeGraph(session.record.graph, `${session.record.graph.name}: the network trained`);
}

/** How often the live page reloads itself, in seconds. */
export const LIVE_REFRESH_SECONDS = 5;

/**
 * Whether an epoch's end writes the live page: the first epoch's always, then one when the last is at least
 * a refresh old. A page no browser reloads sooner would cost a short epoch (an MLP's takes half a second)
 * a tenth of its time for nothing.
 */
export function livePageDue(lastWrittenMs: number | undefined, nowMs: number): boolean {
  return lastWrittenMs === undefined || nowMs - lastWrittenMs >= LIVE_REFRESH_SECONDS * 1000;
}

/**
 * report.html as the run stands: its epochs so far as its folder records them (metrics.json, written
 * after each epoch; a resumed run's earlier epochs included). `stopped`: why the run stopped without
 * its final pictures; while it trains, undefined.
 */
export function liveReportInput(session: Session, stopped?: string): LiveReportInput {
  const { folder, config } = session;
  const history = folder.has("metrics.json") ? readMetrics(folder.path("metrics.json")) : [];
  const status =
    stopped ?? `training: ${plural(history.length, "epoch")} of ${config.num_epochs} done; this page reloads every ${LIVE_REFRESH_SECONDS} s until the run ends.`;
  return { ...runDescription(session), file: folder.path("report.html"), history, running: stopped === undefined, status };
}

/** Each picture's file name in the run folder and its content. */
export type PictureFiles = readonly (readonly [file: string, content: string])[];

/** Writes the pictures into the session's run folder; their paths. */
export function writePictureFiles(session: Session, files: PictureFiles): string[] {
  for (const [file, content] of files) writeFileAtomic(session.folder.path(file), content);
  return files.map(([file]) => session.folder.path(file));
}
