/**
 * The thread that draws a training run's pictures (started by picture-thread.ts): it loads the picture
 * libraries as soon as it starts, while the run reads its data and trains, then draws the one run it is
 * sent and hands back the files' contents.
 */
import { parentPort } from "node:worker_threads";
import type { RunPicturesInput } from "./run-picture-files.js";
import { renderRunPictures } from "./run-pictures.js";
import { preloadDom } from "./svg.js";

preloadDom();
parentPort!.once("message", (input: RunPicturesInput) => parentPort!.postMessage(renderRunPictures(input)));
