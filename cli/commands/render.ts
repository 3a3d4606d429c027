/** `graphnet render GRAPH -o graph.svg`: the forward (or forward and backward) graph as an SVG picture. */
import { Command } from "commander";
import { differentiate, loadGraphSource } from "../../src/index.js";
import { writeFileAtomic } from "../../src/util/atomic-write.js";

export function renderCommand(): Command {
  return new Command("render")
    .description("Draw the graph as SVG: a layered layout, each node with its op, id and shape, each edge with its tensor's shape.")
    .argument("<graph>", "a graph JSON file")
    .option("-o, --out <file>", "where to write the SVG", "graph.svg")
    .option("--backward", "add the backward nodes derived by autodiff and the gradient outputs")
    .action(async (file: string, options: { out: string; backward?: boolean }) => {
      const source = loadGraphSource(file);
      const forward = source.graph;
      // The drawing libraries (d3, jsdom) load when a picture is drawn, not with every graphnet command.
      const { renderGraphSvg } = await import("../../viz/index.js");
      const svg = source.guard(() =>
        renderGraphSvg(options.backward ? differentiate(forward) : forward, `${forward.name}${options.backward ? " with its backward graph" : ""}`),
      );
      writeFileAtomic(options.out, svg);
      process.stdout.write(`wrote ${options.out}\n`);
    });
}
