/**
 * Drawing a training run's pictures in a thread of its own. The picture libraries (the DOM and ELK above all) take
 * about a second to load; started with the run, the thread loads them while the main thread reads the
 * data and builds the model, so that at the end only the drawing itself is waited for, and the live
 * report.html after each epoch costs the training nothing. That takes a core the training does not use:
 * where there is none (two cores, training on two threads), the thread would slow the training down by as
 * much as it saves, and the pictures are drawn in the main thread: the live page between two epochs (its
 * modules loaded before the first, `prepare`), the rest at the end — but for the network's layout, which
 * a small thread of ELK alone makes meanwhile (layout-thread.ts).
 * The pictures are the same either way: the thread gets the same data and runs the same code.
 */
import { existsSync } from "node:fs";
import { availableParallelism } from "node:os";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import type { Session } from "../src/train/session.js";
import { writeFileAtomic } from "../src/util/atomic-write.js";
import type { PictureReply, PictureRequest } from "./picture-worker.js";
import type { GraphLayout } from "./graph-layout.js";
import { startLayoutThread } from "./layout-thread.js";
import { dropEarlyLayoutWorker } from "./layout-worker-start.js";
import { livePageDue, liveReportInput, networkPicture, runPicturesInput, writePictureFiles, type RunSummary } from "./run-picture-files.js";

export interface PictureThread {
  /**
   * Makes ready to draw the live page from the epoch's callback, and begins the final page's network:
   * resolves when the live page can be drawn there; the seconds it took.
   */
  prepare(session: Session): Promise<number>;
  /**
   * Writes report.html as the run stands (its folder's metrics): after each epoch, reloading itself; or,
   * given why the run stopped without its final pictures, saying so and no longer reloading (in place of
   * a live page: where none was written, nothing is). Resolves once written; a page that cannot be drawn
   * is warned of, once, and the run goes on.
   */
  live(session: Session, stopped?: string): Promise<void>;
  /** Draws the finished run's pictures (the model holding its best weights) and writes them into its folder; their paths. */
  write(session: Session, run: RunSummary): Promise<string[]>;
  /** Ends the thread: after `write`, or when the run ends without pictures (interrupted, failed). */
  dispose(): void;
}

const WORKER = new URL("./picture-worker.js", import.meta.url);

/** A live page's failure, told once: the run goes on, and its final pictures are drawn as ever. */
function liveWarning(): (message: string) => void {
  let told = false;
  return (message) => {
    if (!told) process.stderr.write(`warning: report.html could not be updated during the run: ${message}\n`);
    told = true;
  };
}

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
  // The picture thread lays out the network itself: the layout thread `graphnet train` started is not needed.
  dropEarlyLayoutWorker();
  worker.unref(); // a run that ends without pictures does not wait for the thread
  const pending = new Map<number, { resolve: (reply: PictureReply) => void; reject: (err: Error) => void }>();
  let stopped: Error | undefined;
  worker.on("message", (reply: PictureReply) => {
    pending.get(reply.id)?.resolve(reply);
    pending.delete(reply.id);
    if (pending.size === 0) worker.unref();
  });
  const stop = (err: Error) => {
    stopped ??= err;
    for (const { reject } of pending.values()) reject(err);
    pending.clear();
  };
  worker.once("error", stop);
  worker.once("exit", (code) => stop(new Error(`the picture thread stopped (exit code ${code}) before it drew the pictures`)));
  let next = 0;
  const ask = (request: PictureRequest): Promise<PictureReply> => {
    if (stopped) return Promise.reject(stopped);
    worker.ref(); // the process waits for the drawing
    return new Promise<PictureReply>((resolve, reject) => {
      pending.set(request.id, { resolve, reject });
      worker.postMessage(request);
    });
  };
  const warn = liveWarning();
  let livePages = 0;
  /** When the last live page was written (performance.now()), for livePageDue. */
  let lastPage: number | undefined;
  return {
    prepare: async () => 0, // the thread loads its libraries itself, on another core, and lays out the network at the end
    async live(session, why) {
      if (why !== undefined && livePages === 0) return;
      if (why === undefined && !livePageDue(lastPage, performance.now())) return;
      livePages++;
      lastPage = performance.now();
      const reply = await ask({ id: next++, kind: "live", input: liveReportInput(session, why) }).catch((err: Error) => ({ error: err.message }));
      if (reply.error !== undefined) warn(reply.error);
    },
    async write(session, run) {
      const reply = await ask({ id: next++, kind: "final", input: runPicturesInput(session, run) });
      if (reply.error !== undefined) throw new Error(reply.error);
      return writePictureFiles(session, reply.files!);
    },
    dispose: () => void worker.terminate(),
  };
}

function inThisThread(): PictureThread {
  let pictures: typeof import("./run-pictures.js") | undefined;
  // ELK loads in a thread of its own from now on, and lays out the network once prepare sends it.
  const layouts = startLayoutThread();
  let network: Promise<GraphLayout> | undefined;
  const warn = liveWarning();
  let livePages = 0;
  /** When the last live page was written (performance.now()), for livePageDue. */
  let lastPage: number | undefined;
  return {
    async prepare(session) {
      const start = performance.now();
      network = layouts.layout(networkPicture(session));
      pictures = await import("./run-pictures.js");
      (await import("./svg.js")).preloadDom();
      return (performance.now() - start) / 1000;
    },
    async live(session, why) {
      if (why !== undefined && livePages === 0) return;
      if (pictures === undefined) return; // not prepared: no live page (a library's caller)
      if (why === undefined && !livePageDue(lastPage, performance.now())) return;
      livePages++;
      lastPage = performance.now();
      try {
        const input = liveReportInput(session, why);
        writeFileAtomic(input.file, pictures.renderLiveReport(input));
      } catch (err) {
        warn((err as Error).message);
      }
    },
    async write(session, run) {
      pictures ??= await import("./run-pictures.js");
      return pictures.writeRunPictures(session, run, network);
    },
    dispose: () => layouts.dispose(),
  };
}
