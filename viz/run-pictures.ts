/**
 * The pictures of a run, written into its folder: curves.svg, predictions.svg, confusion.svg and
 * report.html, which brings them together with the network, the configuration and the final metrics.
 * While the run trains, report.html is the live page: where the run stands and its curves so far,
 * reloading itself. The live page is drawn after every epoch, so it draws only what is cheap to draw
 * (no layout of the network, which the final page adds).
 */
import type { Session } from "../src/train/session.js";
import { describeRunData } from "../src/train/run-data.js";
import { renderConfusionSvg } from "./confusion.js";
import { renderCurvesSvg } from "./curves.js";
import type { GraphLayout } from "./graph-layout.js";
import { drawGraphPicture } from "./graph.js";
import { renderPredictionsSvg } from "./predictions.js";
import { renderReportHtml } from "./report.js";
import {
  LIVE_REFRESH_SECONDS,
  runPicturesInput,
  writePictureFiles,
  type LiveReportInput,
  type PictureFiles,
  type RunDescription,
  type RunPicturesInput,
  type RunSummary,
} from "./run-picture-files.js";

export { samplePredictions, type RunSummary } from "./run-picture-files.js";

export async function writeRunPictures(session: Session, run: RunSummary, network?: Promise<GraphLayout>): Promise<string[]> {
  return writePictureFiles(session, await renderRunPictures(runPicturesInput(session, run), network));
}

/**
 * The pictures of a finished run, drawn (d3 on linkedom, the graph laid out by ELK). `network`: the
 * network's layout, when it was begun elsewhere (layout-thread.ts).
 */
export async function renderRunPictures(input: RunPicturesInput, network?: Promise<GraphLayout>): Promise<PictureFiles> {
  const { name, run } = input;
  const curves = renderCurvesSvg(run.history, `${name}: loss and accuracy per epoch`);
  // Samples that are not pictures (a table's) have none to draw.
  const predictionsSvg = input.predictions.length > 0 ? renderPredictionsSvg(input.predictions, `${name}: test predictions`) : null;
  const confusion = renderConfusionSvg(run.test.confusion, `${name}: confusion matrix on the test split`);
  const report = renderReportHtml({
    title: `${name}: ${input.dir}`,
    summary: [
      ["test accuracy", run.test.accuracy.toFixed(4)],
      ["test loss", run.test.loss.toFixed(4)],
      ["epochs", `${run.history.length} (${run.status}); best weights from epoch ${run.bestEpoch}`],
      ["training time", `${run.trainSeconds.toFixed(1)} s`],
      ...setting(input),
    ],
    configuration: input.config,
    pictures: [
      { heading: "Loss and accuracy per epoch", svg: curves },
      ...(predictionsSvg !== null ? [{ heading: "Test predictions", svg: predictionsSvg }] : []),
      { heading: "Confusion matrix (test split)", svg: confusion },
      { heading: "The network", svg: await drawGraphPicture(input.graph, network) },
    ],
  });
  return [
    ["curves.svg", curves],
    ...(predictionsSvg !== null ? [["predictions.svg", predictionsSvg] as const] : []),
    ["confusion.svg", confusion],
    ["report.html", report],
  ];
}

/** report.html while the run trains (or after it stopped without its final pictures): the epochs so far. */
export function renderLiveReport(input: LiveReportInput): string {
  const { name, history } = input;
  const last = history.at(-1);
  const best = history.length > 0 ? history.reduce((b, m) => (m.val_loss < b.val_loss ? m : b)) : undefined;
  return renderReportHtml({
    title: `${name}: ${input.dir}`,
    ...(input.running ? { refreshSeconds: LIVE_REFRESH_SECONDS } : {}),
    status: input.status,
    summary: [
      ["epochs", `${history.length} of ${input.config.num_epochs} done`],
      ...(last ? ([["last epoch", `val loss ${last.val_loss.toFixed(4)}, val accuracy ${last.val_accuracy.toFixed(4)}`]] as const) : []),
      ...(best ? ([["best so far", `epoch ${best.epoch}: val loss ${best.val_loss.toFixed(4)}`]] as const) : []),
      ...setting(input),
    ],
    configuration: input.config,
    pictures: history.length > 0 ? [{ heading: "Loss and accuracy per epoch", svg: renderCurvesSvg(history, `${name}: loss and accuracy per epoch`) }] : [],
  });
}

function setting({ network, config: c, data }: RunDescription): [string, string][] {
  return [
    ["network", `${network.replaceAll("/", " / ")}, ${c.optimizer} lr ${c.learning_rate}, batch ${c.batch_size}`],
    ["data", `${describeRunData(data)}, ${data.split} split ${data.train} / ${data.validation} / ${data.test}`],
  ];
}
