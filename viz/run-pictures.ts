/**
 * The pictures of a finished run, written into its folder: curves.svg, predictions.svg, confusion.svg
 * and report.html, which brings them together with the configuration and the final metrics.
 */
import type { Session } from "../src/train/session.js";
import type { Evaluation } from "../src/train/model.js";
import type { TrainingOutcome } from "../src/train/trainer.js";
import { Random } from "../src/util/random.js";
import { writeFileAtomic } from "../src/util/atomic-write.js";
import { renderConfusionSvg } from "./confusion.js";
import { renderCurvesSvg } from "./curves.js";
import { renderPredictionsSvg, type Prediction } from "./predictions.js";
import { renderReportHtml } from "./report.js";

/** A finished run, as train() returns it: its history and its test evaluation. */
export type RunSummary = Pick<TrainingOutcome, "history" | "bestEpoch" | "trainSeconds" | "status"> & { readonly test: Evaluation };

/** Eight test digits drawn at random (seeded) and what the model, holding its best weights, makes of them. */
export function samplePredictions(session: Session, count = 8, seed = session.config.seed): Prediction[] {
  const random = new Random(seed ^ 0xf1e1d);
  const { data, split, model } = session;
  const f = data.features;
  return Array.from({ length: count }, () => {
    const sample = split.test[random.int(split.test.length)]!;
    const pixels = Float64Array.from(data.images.subarray(sample * f, (sample + 1) * f), (p) => p / 255);
    const probs = model.predict(pixels);
    const predicted = probs.indexOf(Math.max(...probs));
    return { pixels, side: data.side, label: data.labels[sample]!, predicted, probability: probs[predicted]! };
  });
}

export function writeRunPictures(session: Session, run: RunSummary): string[] {
  const name = session.record.graph.name;
  const curves = renderCurvesSvg(run.history, `${name}: loss and accuracy per epoch`);
  const predictions = renderPredictionsSvg(samplePredictions(session), `${name}: test predictions`);
  const confusion = renderConfusionSvg(run.test.confusion, `${name}: confusion matrix on the test split`);
  const c = session.config;
  const report = renderReportHtml({
    title: `${name}: ${session.folder.dir}`,
    summary: [
      ["test accuracy", run.test.accuracy.toFixed(4)],
      ["test loss", run.test.loss.toFixed(4)],
      ["epochs", `${run.history.length} (${run.status}); best weights from epoch ${run.bestEpoch}`],
      ["training time", `${run.trainSeconds.toFixed(1)} s`],
      ["network", `${c.activation_functions.join(" / ")}, ${c.optimizer} lr ${c.learning_rate}, batch ${c.batch_size}`],
      [
        "data",
        `${session.record.data.dir ?? "bundled MNIST"}, ${session.record.data.split} split ${session.record.data.train} / ${session.record.data.validation} / ${session.record.data.test}`,
      ],
    ],
    configuration: c,
    pictures: [
      { heading: "Loss and accuracy per epoch", svg: curves },
      { heading: "Test predictions", svg: predictions },
      { heading: "Confusion matrix (test split)", svg: confusion },
    ],
  });
  const files: [string, string][] = [
    ["curves.svg", curves],
    ["predictions.svg", predictions],
    ["confusion.svg", confusion],
    ["report.html", report],
  ];
  for (const [file, content] of files) writeFileAtomic(session.folder.path(file), content);
  return files.map(([file]) => session.folder.path(file));
}
