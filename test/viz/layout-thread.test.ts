/**
 * The network laid out in a thread of ELK alone (viz/layout-thread.ts), as a run whose pictures are drawn
 * in the main thread does: the same layout as made in this thread, and the main thread never loads ELK
 * for it. Run as the built modules (dist/): the thread's module is compiled JavaScript.
 */
import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";

const dist = (path: string) => JSON.stringify(new URL(`../../dist/${path}`, import.meta.url).href);

describe("the layout thread", () => {
  it("lays out a graph (blocks and all) exactly as this thread does, without loading ELK here", () => {
    const script = `
      import { createRequire } from "node:module";
      const elkLoaded = () => Object.keys(createRequire(import.meta.url).cache).some((path) => path.includes("/node_modules/elkjs/"));
      const { loadGraphFile } = await import(${dist("src/index.js")});
      const { describeGraph } = await import(${dist("viz/graph-picture.js")});
      const { startLayoutThread } = await import(${dist("viz/layout-thread.js")});
      const { layoutGraph } = await import(${dist("viz/graph-layout.js")});
      const picture = describeGraph(loadGraphFile("graphs/mnist-cnn-best.graph.json"), "cnn");
      const thread = startLayoutThread();
      const laidOut = await thread.layout(picture);
      const here = elkLoaded();
      thread.dispose();
      const plain = (layout) => JSON.stringify(layout, (_, v) => (v instanceof Map ? [...v] : v));
      const same = plain(laidOut) === plain(await layoutGraph(picture));
      console.log(JSON.stringify({ threaded: thread.threaded, elkLoadedHere: here, same, groups: laidOut.groups.size, edges: laidOut.edges.size }));`;
    const r = spawnSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8" });
    expect(r.stderr).toBe("");
    const seen = JSON.parse(r.stdout);
    expect(seen).toMatchObject({ threaded: true, elkLoadedHere: false, same: true });
    expect(seen.groups).toBeGreaterThan(0);
    expect(seen.edges).toBeGreaterThan(10);
  });

  it("is made by the worker `graphnet train` started first thing; a run whose pictures get a thread of their own ends that worker", () => {
    const script = `
      const start = await import(${dist("viz/layout-worker-start.js")});
      const { startPictureThread } = await import(${dist("viz/picture-thread.js")});
      const early = start.startLayoutWorkerEarly();
      const taken = start.takeLayoutWorker();
      const fresh = start.takeLayoutWorker();
      const unused = start.startLayoutWorkerEarly();
      const ended = new Promise((resolve) => unused.once("exit", () => resolve(true)));
      // Training on no thread at all leaves every core free: the pictures get a thread of their own.
      const pictures = startPictureThread(0);
      const endedUnused = await ended;
      pictures.dispose();
      await Promise.all([taken.terminate(), fresh.terminate()]);
      console.log(JSON.stringify({ tookEarly: taken === early, freshIsNew: fresh !== early && fresh !== undefined, endedUnused }));`;
    const r = spawnSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8" });
    expect(r.stderr).toBe("");
    expect(JSON.parse(r.stdout)).toEqual({ tookEarly: true, freshIsNew: true, endedUnused: true });
  });
});
