/**
 * A run's network laid out in a thread of its own, while the run trains. Where the pictures are drawn in
 * the main thread (no core is free for a picture thread: two cores, training on two), ELK's loading and
 * the layout would otherwise add about half a second to the end of every run; a thread started with the
 * run loads ELK while the run reads its data and builds its model (one core's work), and lays the network
 * out as soon as it is sent, a fraction of a second of the first epoch. The layout is ELK's either way:
 * without a thread (run from the TypeScript sources, or none to be had) or if it fails, the network is
 * laid out in this thread when it is drawn.
 */
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import { elkInput, layoutGraph, placeLayout, type GraphLayout } from "./graph-layout.js";
import type { GraphPicture } from "./graph-picture.js";
import type { LayoutReply } from "./layout-worker.js";

const WORKER = new URL("./layout-worker.js", import.meta.url);

export interface LayoutThread {
  /** Whether a thread was started (false: each layout is made in this thread). */
  readonly threaded: boolean;
  /** The picture's layout: begun in the thread at once, resolved when done (laid out here if the thread cannot). */
  layout(picture: GraphPicture): Promise<GraphLayout>;
  /** Ends the thread. */
  dispose(): void;
}

/** Starts the thread, which loads ELK now. */
export function startLayoutThread(): LayoutThread {
  let worker: Worker | undefined;
  let disposed = false;
  try {
    // execArgv: [] — not the parent's options (a parent run with -e would run its script in the thread too).
    if (existsSync(fileURLToPath(WORKER))) worker = new Worker(WORKER, { execArgv: [] });
  } catch {
    worker = undefined; // no thread to be had: laid out here, when drawn
  }
  worker?.unref(); // a run that ends without pictures does not wait for it
  worker?.on("error", () => {}); // told through the layout's promise, below
  return {
    threaded: worker !== undefined,
    layout(picture) {
      if (worker === undefined) return layoutGraph(picture);
      const thread = worker;
      const laidOut = new Promise<GraphLayout>((resolve, reject) => {
        thread.once("message", (reply: LayoutReply) => (reply.root ? resolve(placeLayout(reply.root)) : reject(new Error(reply.error))));
        thread.once("error", reject);
        thread.once("exit", () => reject(new Error("the layout thread ended")));
        thread.postMessage(elkInput(picture));
      });
      // A layout the thread could not make is made here: the picture is ELK's either way. Not after the
      // thread was ended: the run ended without its pictures.
      const layout = laidOut.catch((err: Error) => {
        if (disposed) throw err;
        return layoutGraph(picture);
      });
      layout.catch(() => {}); // a run that ends without pictures never asks for it
      return layout;
    },
    dispose() {
      disposed = true;
      void worker?.terminate();
    },
  };
}
