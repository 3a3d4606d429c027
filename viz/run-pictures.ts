/**
 * The pictures of a finished run, written into its folder: curves.svg, predictions.svg, confusion.svg
 * and report.html, which brings them together with the configuration and the final metrics.
 */
import type { Session } from "../src/train/session.js";
import { describeRunData } from "../src/train/run-data.js";
import { renderConfusionSvg } from "./confusion.js";
import { renderCurvesSvg } from "./curves.js";
import { renderPredictionsSvg } from "./predictions.js";
import { renderReportHtml } from "./report.js";
import { runPicturesInput, writePictureFiles, type PictureFiles, type RunPicturesInput, type RunSummary } from "./run-picture-files.js";

export { samplePredictions, type RunSummary } from "./run-picture-files.js";

export function writeRunPictures(session: Session, run: RunSummary): string[] {
  return writePictureFiles(session, renderRunPictures(runPicturesInput(session, run)));
}

/** The pictures of a run, drawn (d3 on jsdom). */
export function renderRunPictures({ name, network, dir, config: c, data, predictions, run }: RunPicturesInput): PictureFiles {
  const curves = renderCurvesSvg(run.history, `${name}: loss and accuracy per epoch`);
  // Samples that are not pictures (a table's) have none to draw.
  const predictionsSvg = predictions.length > 0 ? renderPredictionsSvg(predictions, `${name}: test predictions`) : null;
  const confusion = renderConfusionSvg(run.test.confusion, `${name}: confusion matrix on the test split`);
  const report = renderReportHtml({
    title: `${name}: ${dir}`,
    summary: [
      ["test accuracy", run.test.accuracy.toFixed(4)],
      ["test loss", run.test.loss.toFixed(4)],
      ["epochs", `${run.history.length} (${run.status}); best weights from epoch ${run.bestEpoch}`],
      ["training time", `${run.trainSeconds.toFixed(1)} s`],
      ["network", `${network.replaceAll("/", " / ")}, ${c.optimizer} lr ${c.learning_rate}, batch ${c.batch_size}`],
      ["data", `${describeRunData(data)}, ${data.split} split ${data.train} / ${data.validation} / ${data.test}`],
    ],
    configuration: c,
    pictures: [
      { heading: "Loss and accuracy per epoch", svg: curves },
      ...(predictionsSvg !== null ? [{ heading: "Test predictions", svg: predictionsSvg }] : []),
      { heading: "Confusion matrix (test split)", svg: confusion },
    ],
  });
  return [
    ["curves.svg", curves],
    ...(predictionsSvg !== null ? [["predictions.svg", predictionsSvg] as const] : []),
    ["confusion.svg", confusion],
    ["report.html", report],
  ];
}
