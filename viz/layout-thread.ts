/**
 * A run's network laid out in a thread of its own, while the run trains. Where the pictures are drawn in
 * the main thread (no core is free for a picture thread: two cores, training on two), ELK's loading and
 * the layout would otherwise add about half a second to the end of every run; a thread started with the
 * run — or, for `graphnet train`, with the process (layout-worker-start.ts) — loads ELK while this thread
 * loads its modules, reads the data and builds the model (one core's work), and lays the network out as
 * soon as it is sent, a fraction of a second of the first epoch. The layout is ELK's either way:
 * without a thread (run from the TypeScript sources, or none to be had) or if it fails, the network is
 * laid out in this thread when it is drawn.
 */
import type { Worker } from "node:worker_threads";
import { elkInput, layoutGraph, placeLayout, type GraphLayout } from "./graph-layout.js";
import type { GraphPicture } from "./graph-picture.js";
import type { LayoutReply } from "./layout-worker.js";
import { takeLayoutWorker } from "./layout-worker-start.js";

export interface LayoutThread {
  /** Whether a thread was started (false: each layout is made in this thread). */
  readonly threaded: boolean;
  /** The picture's layout: begun in the thread at once, resolved when done (laid out here if the thread cannot). */
  layout(picture: GraphPicture): Promise<GraphLayout>;
  /** Ends the thread. */
  dispose(): void;
}

/** Starts the thread, which loads ELK now (or takes the one `graphnet train` started first thing: layout-worker-start.ts). */
export function startLayoutThread(): LayoutThread {
  // None to be had (or no compiled worker): laid out here, when drawn.
  const worker: Worker | undefined = takeLayoutWorker();
  let disposed = false;
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
