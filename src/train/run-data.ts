/** How a run's data are named in its header and report; imports nothing, so the picture thread can use it. */
import type { RunRecord } from "./run-record.js";

/** Where a run's data came from, for headers and reports: "bundled MNIST", a folder, or a file. */
export function describeRunData(data: RunRecord["data"]): string {
  if (data.file === undefined) return data.dir ?? "bundled MNIST";
  if (data.labels !== undefined) return `${data.file} with labels ${data.labels}`;
  return data.label_column !== undefined ? `${data.file} (label column ${data.label_column})` : data.file;
}
