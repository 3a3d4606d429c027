/**
 * Drawing a training run's pictures in a thread of its own. The picture libraries (jsdom above all) take
 * about a second to load; started with the run, the thread loads them while the main thread reads the
 * data and builds the model, so that at the end only the drawing itself is waited for. That takes a core
 * the training does not use: where there is none (two cores, training on two threads), the thread would
 * slow the training down by as much as it saves, and the pictures are drawn in the main thread at the end.
 * The pictures are the same either way: the thread gets the same data and runs the same code.
 */
import { existsSync } from "node:fs";
import { availableParallelism } from "node:os";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import type { Session } from "../src/train/session.js";
import { runPicturesInput, writePictureFiles, type PictureFiles, type RunSummary } from "./run-picture-files.js";

export interface PictureThread {
  /** Draws the finished run's pictures (the model holding its best weights) and writes them into its folder; their paths. */
  write(session: Session, run: RunSummary): Promise<string[]>;
  /** Ends the thread: after `write`, or when the run ends without pictures (interrupted, failed). */
  dispose(): void;
}

const WORKER = new URL("./picture-worker.js", import.meta.url);

/** `trainingThreads`: the threads the run's training steps keep busy. */
export function startPictureThread(trainingThreads: number): PictureThread {
  if (availableParallelism() <= trainingThreads) return inThisThread();
  // Run from the TypeScript sources (by a test runner) there is no compiled worker module: draw in this thread.
  if (!existsSync(fileURLToPath(WORKER))) return inThisThread();
  let worker: Worker;
  try {
    worker = new Worker(WORKER);
  } catch {
    return inThisThread(); // no thread to be had: the pictures cost the time they cost here
  }
  worker.unref(); // a run that ends without pictures does not wait for the thread
  const drawn = new Promise<PictureFiles>((resolve, reject) => {
    worker.once("message", resolve);
    worker.once("error", reject);
    worker.once("exit", (code) => reject(new Error(`the picture thread stopped (exit code ${code}) before it drew the pictures`)));
  });
  drawn.catch(() => {}); // when it is never asked to draw
  return {
    async write(session, run) {
      worker.ref(); // the process waits for the drawing
      worker.postMessage(runPicturesInput(session, run));
      return writePictureFiles(session, await drawn);
    },
    dispose: () => void worker.terminate(),
  };
}

function inThisThread(): PictureThread {
  return {
    async write(session, run) {
      const { writeRunPictures } = await import("./run-pictures.js");
      return writeRunPictures(session, run);
    },
    dispose() {},
  };
}
