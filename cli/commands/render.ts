/** `graphnet render GRAPH -o graph.svg`: the forward (or forward and backward) graph as an SVG picture. */
import { differentiate } from "../../src/autodiff/differentiate.js";
import { loadGraphSource } from "../../src/graph-file/load.js";
import { writeFileAtomic } from "../../src/util/atomic-write.js";

/** `graphnet render`, its command line parsed by ../usage/render.ts. */
export async function renderAction(file: string, options: { out: string; backward?: boolean }): Promise<void> {
  const source = loadGraphSource(file);
  const forward = source.graph;
  // The drawing libraries (d3, jsdom) load when a picture is drawn, not with every graphnet command.
  const { renderGraphSvg } = await import("../../viz/index.js");
  const svg = source.guard(() =>
    renderGraphSvg(options.backward ? differentiate(forward) : forward, `${forward.name}${options.backward ? " with its backward graph" : ""}`),
  );
  writeFileAtomic(options.out, svg);
  process.stdout.write(`wrote ${options.out}\n`);
}
