/**
 * What the pictures of a finished run show, gathered from its session as plain data, and where they go:
 * they may be drawn in another thread (picture-thread.ts), which gets a copy of the data and nothing else.
 * Loads no picture library.
 */
import { sampleInput } from "../src/data/batch.js";
import type { Evaluation } from "../src/train/model.js";
import type { RunRecord, Session } from "../src/train/session.js";
import type { TrainingOutcome } from "../src/train/trainer.js";
import { writeFileAtomic } from "../src/util/atomic-write.js";
import { Random } from "../src/util/random.js";
import { describeNetwork } from "../src/graph/configure.js";
import type { Prediction } from "./predictions.js";

/** A finished run, as train() returns it: its history and its test evaluation. */
export type RunSummary = Pick<TrainingOutcome, "history" | "bestEpoch" | "trainSeconds" | "status"> & { readonly test: Evaluation };

export interface RunPicturesInput {
  /** The graph's name. */
  readonly name: string;
  /** Its hidden layers' activations (or its size), as describeNetwork gives them. */
  readonly network: string;
  /** The run folder, as the report's title shows it. */
  readonly dir: string;
  readonly config: Session["config"];
  readonly data: RunRecord["data"];
  readonly predictions: readonly Prediction[];
  readonly run: RunSummary;
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

/** The model holds its best weights: the predictions drawn are the ones the test measured. */
export function runPicturesInput(session: Session, run: RunSummary): RunPicturesInput {
  const { record, folder, config } = session;
  return { name: record.graph.name, network: describeNetwork(record.graph), dir: folder.dir, config, data: record.data, predictions: samplePredictions(session), run };
}

/** Each picture's file name in the run folder and its content. */
export type PictureFiles = readonly (readonly [file: string, content: string])[];

/** Writes the pictures into the session's run folder; their paths. */
export function writePictureFiles(session: Session, files: PictureFiles): string[] {
  for (const [file, content] of files) writeFileAtomic(session.folder.path(file), content);
  return files.map(([file]) => session.folder.path(file));
}
