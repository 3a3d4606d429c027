/** gradcheck's second line says what is true of the graph checked: its dropout, or none. */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { graphnetInProcess } from "../support/cli.js";

const secondLine = async (...args: string[]) => (await graphnetInProcess("gradcheck", ...args)).stdout.split("\n")[1];

describe("gradcheck's header", () => {
  it("names no dropout for a graph without a dropout node", async () => {
    expect(await secondLine("examples/tabular/iris.graph.json")).toMatch(/^random batch of \d+, loss [\d.]+$/);
  });

  it("gives the rate the dropout nodes run at, or says they are off", async () => {
    expect(await secondLine("graphs/mnist.graph.json")).toMatch(/^random batch of \d+, dropout 0\.1 with a fixed mask, loss/);
    expect(await secondLine("graphs/mnist.graph.json", "--dropout", "0")).toMatch(/^random batch of \d+, dropout off, loss/);
  });

  it("names a node that keeps its own rate, which --dropout does not change", async () => {
    const graph = JSON.parse(readFileSync("graphs/mnist.graph.json", "utf8"));
    delete graph.$schema;
    graph.nodes.find((n: { id: string }) => n.id === "h1").attrs = { rate: 0.3 };
    const file = join(mkdtempSync(join(tmpdir(), "graphnet-gradcheck-")), "own-rate.graph.json");
    writeFileSync(file, JSON.stringify(graph));
    expect(await secondLine(file)).toMatch(/^random batch of \d+, dropout 0\.3 at h1 \(its own rate\), dropout 0\.1 at h2 with a fixed mask, loss/);
    expect(await secondLine(file, "--dropout", "0")).toMatch(/^random batch of \d+, dropout 0\.3 at h1 \(its own rate\) with a fixed mask, loss/);
  });
});
