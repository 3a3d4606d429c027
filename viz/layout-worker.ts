/**
 * The thread that lays out a run's network (started by layout-thread.ts): it loads ELK as soon as it
 * starts, then lays out the graph it is sent — ELK's input as graph-layout.ts makes it — and hands back
 * ELK's result. Nothing of graphnet is loaded here: the thread costs ELK's loading and the layout only.
 */
import { createRequire } from "node:module";
import { parentPort } from "node:worker_threads";
import type { ELK, ElkNode } from "elkjs/lib/elk-api.js";

export type LayoutReply = { readonly root?: ElkNode; readonly error?: string };

const ElkConstructor = createRequire(import.meta.url)("elkjs/lib/elk.bundled.js") as new () => ELK;
const elk = new ElkConstructor();
const port = parentPort!;
port.on("message", (input: ElkNode) => {
  elk.layout(input).then(
    (root) => port.postMessage({ root } satisfies LayoutReply),
    (err: Error) => port.postMessage({ error: err.message } satisfies LayoutReply),
  );
});
