/** What `graphnet render` accepts; what it does is ../commands/render.ts, loaded when it runs. */
import { Command } from "commander";

export function renderCommand(): Command {
  return new Command("render")
    .description("Draw the graph as SVG: a layered layout with edges routed around the boxes, each node with its id, op, shape and attributes, each edge with its tensor's shape.")
    .argument("<graph>", "a graph JSON file")
    .option("-o, --out <file>", "where to write the SVG", "graph.svg")
    .option("--backward", "add the backward nodes derived by autodiff and the gradient outputs")
    .action(async (file: string, options) => (await import("../commands/render.js")).renderAction(file, options));
}
