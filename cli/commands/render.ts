/** `graphnet render GRAPH -o graph.svg`: the forward (or forward and backward) graph as an SVG picture. */
import { differentiate } from "../../src/autodiff/differentiate.js";
import { loadGraphSource } from "../../src/graph-file/load.js";
import { writeFileAtomic } from "../../src/util/atomic-write.js";
import { describeGraph } from "../../viz/graph-picture.js";

/** `graphnet render`, its command line parsed by ../usage/render.ts. */
export async function renderAction(file: string, options: { out: string; backward?: boolean }): Promise<void> {
  const source = loadGraphSource(file);
  const forward = source.graph;
  // What the picture shows is settled here, where a mistake in the graph is placed in its file.
  const picture = source.guard(() =>
    describeGraph(options.backward ? differentiate(forward) : forward, `${forward.name}${options.backward ? " with its backward graph" : ""}`),
  );
  // The drawing libraries (d3, linkedom, elkjs) load when a picture is drawn, not with every graphnet command.
  const { drawGraphPicture } = await import("../../viz/graph.js");
  writeFileAtomic(options.out, await drawGraphPicture(picture));
  process.stdout.write(`wrote ${options.out}\n`);
}
