/** Pictures: the graph, training curves, predictions, the confusion matrix, and a run's report page. */
export { renderGraphSvg, drawGraphPicture, describeGraph, nodeKind, NODE_STYLES, type GraphPicture, type NodeKind } from "./graph.js";
export { renderCurvesSvg, type CurvePoint } from "./curves.js";
export { renderPredictionsSvg, pngDataUri, type Prediction } from "./predictions.js";
export { renderConfusionSvg } from "./confusion.js";
export { renderReportHtml, type ReportInput } from "./report.js";
export { writeRunPictures, samplePredictions, type RunSummary } from "./run-pictures.js";
