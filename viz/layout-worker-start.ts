/**
 * The layout thread's worker (layout-worker.ts: ELK alone), started as early as can be. `graphnet train`
 * starts it first thing (cli/main.ts): ELK then loads on the core that Node's loading of the command's
 * modules leaves free, instead of on the core the first epoch needs. Node's own modules alone are imported
 * here, so that the executable's start costs nothing more for any command.
 */
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";

const WORKER = new URL("./layout-worker.js", import.meta.url);

let early: Worker | undefined;

/** A new layout worker, loading ELK from now on; undefined without a compiled worker (run from the TypeScript sources) or a thread to be had. */
function newLayoutWorker(): Worker | undefined {
  try {
    if (!existsSync(fileURLToPath(WORKER))) return undefined;
    // execArgv: [] — not the parent's options (a parent run with -e would run its script in the thread too).
    const worker = new Worker(WORKER, { execArgv: [] });
    worker.unref(); // a run that ends without pictures does not wait for it
    worker.on("error", () => {}); // told through the layout asked of it (layout-thread.ts)
    return worker;
  } catch {
    return undefined;
  }
}

/** Starts the worker a later `takeLayoutWorker` will get (and returns it). */
export function startLayoutWorkerEarly(): Worker | undefined {
  early ??= newLayoutWorker();
  return early;
}

/** The worker started early, or a new one. */
export function takeLayoutWorker(): Worker | undefined {
  const worker = early ?? newLayoutWorker();
  early = undefined;
  return worker;
}

/** Ends the worker started early, if no one took it: the pictures are drawn in a thread of their own. */
export function dropEarlyLayoutWorker(): void {
  void early?.terminate();
  early = undefined;
}
