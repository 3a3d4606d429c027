/** gradcheck's second line says what is true of the graph checked: its dropout, or none. */
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
});
