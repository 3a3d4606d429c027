/**
 * The thread that draws a training run's pictures (started by picture-thread.ts): it loads the picture
 * libraries as soon as it starts, while the run reads its data and trains; then writes the live
 * report.html after each epoch, and at the end draws the finished run's pictures, whose contents it hands
 * back. Every request is answered, with its id, once done.
 */
import { parentPort } from "node:worker_threads";
import { writeFileAtomic } from "../src/util/atomic-write.js";
import { preloadLayout } from "./graph-layout.js";
import type { LiveReportInput, PictureFiles, RunPicturesInput } from "./run-picture-files.js";
import { renderLiveReport, renderRunPictures } from "./run-pictures.js";
import { preloadDom } from "./svg.js";

export type PictureRequest = { readonly id: number } & (
  { readonly kind: "live"; readonly input: LiveReportInput } | { readonly kind: "final"; readonly input: RunPicturesInput }
);

export type PictureReply = { readonly id: number; readonly files?: PictureFiles; readonly error?: string };

preloadDom();
preloadLayout();
const port = parentPort!;
port.on("message", (request: PictureRequest) => {
  const failed = (err: Error) => port.postMessage({ id: request.id, error: err.message } satisfies PictureReply);
  if (request.kind === "live") {
    // Drawn at once, in the order asked: a live page never lands after the final one.
    try {
      writeFileAtomic(request.input.file, renderLiveReport(request.input));
      port.postMessage({ id: request.id } satisfies PictureReply);
    } catch (err) {
      failed(err as Error);
    }
  } else {
    renderRunPictures(request.input).then((files) => port.postMessage({ id: request.id, files } satisfies PictureReply), failed);
  }
});
