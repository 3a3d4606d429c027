/**
 * The `graphnet` command end to end: the built executable (dist/, made by `npm run build`, which
 * `npm test` runs first), on the shipped graph and on broken files.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const BIN = join(process.cwd(), "dist", "cli", "main.js");

function graphnet(...args: string[]) {
  const result = spawnSync(process.execPath, [BIN, ...args], { encoding: "utf8", timeout: 120_000 });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

function tempFile(name: string, content: string): string {
  const dir = mkdtempSync(join(tmpdir(), "graphnet-cli-"));
  const file = join(dir, name);
  writeFileSync(file, content);
  return file;
}

describe("graphnet inspect", () => {
  it("lists every node with its op, inputs, shape and the parameter counts of the report's network", () => {
    const { code, stdout, stderr } = graphnet("inspect", "graphs/mnist.graph.json");
    expect(stderr).toBe("");
    expect(code).toBe(0);
    expect(stdout).toMatch(/W1\s+parameter \(he_normal\)\s+—\s+\[784, 128\]\s+100,352/);
    expect(stdout).toMatch(/z1\s+add\s+xW1, b1\s+\[batch, 128\]/);
    expect(stdout).toMatch(/loss\s+softmax_cross_entropy\s+z3, y\s+\[\]/);
    expect(stdout).toContain("parameters: 109,386");
    expect(stdout).not.toContain("grad/");
  });

  it("--backward lists the derived backward nodes and names each parameter's gradient", () => {
    const { code, stdout } = graphnet("inspect", "graphs/mnist.graph.json", "--backward");
    expect(code).toBe(0);
    expect(stdout).toMatch(/grad\/z3\s+softmax_cross_entropy_grad\s+z3, y, grad\/loss\s+\[batch, 10\]\s+δ = \(A − Y\)\/m/);
    expect(stdout).toMatch(/grad\/W1\s+matmul\s+x, grad\/z1\s+\[784, 128\]/);
    for (const p of ["W1", "b1", "W2", "b2", "W3", "b3"]) expect(stdout).toContain(`dloss/d${p} = grad/${p}`);
  });

  it("--plan prints the schedule and the arena against one buffer per value", () => {
    const { code, stdout } = graphnet("inspect", "graphs/mnist.graph.json", "--plan", "--batch", "16");
    expect(code).toBe(0);
    expect(stdout).toContain("plan of one training step at batch 16");
    const arena = Number(/arena: .*?\(([\d,]+) bytes\)/.exec(stdout)![1]!.replace(/,/g, ""));
    const naive = Number(/one buffer per value would take .*?\(([\d,]+) bytes\)/.exec(stdout)![1]!.replace(/,/g, ""));
    expect(arena).toBeGreaterThanOrEqual(109_386 * 4);
    expect(arena).toBeLessThan(naive);
  });

  it("--backward --json prints the backward graph as graph JSON that can be read back", () => {
    const { code, stdout } = graphnet("inspect", "graphs/mnist.graph.json", "--backward", "--json");
    expect(code).toBe(0);
    const graph = JSON.parse(stdout);
    expect(graph.gradients.W1).toBe("grad/W1");
    expect(graph.nodes.some((n: { id: string }) => n.id === "grad/W1")).toBe(true);
  });
});

describe("graphnet gradcheck", () => {
  it("passes on the report's network and prints a table of every parameter", () => {
    const { code, stdout } = graphnet("gradcheck", "graphs/mnist.graph.json", "--batch", "3", "--checks", "8");
    expect(stdout).toMatch(/parameter\s+shape\s+checked\s+max abs err\s+max rel err\s+result/);
    for (const p of ["W1", "b1", "W2", "b2", "W3", "b3"])
      expect(stdout).toMatch(new RegExp(`^${p}\\s+\\[[\\d, ]+\\]\\s+\\d+ / [\\d,]+\\s+\\S+\\s+\\S+\\s+pass$`, "m"));
    expect(stdout).toContain("6 of 6 parameters pass");
    expect(code).toBe(0);
  });
});

describe("bad input gives one paragraph naming the file, and exit code 1, never a stack trace", () => {
  const cases: [string, string, RegExp][] = [
    ["not JSON", '{\n  "name": "x",\n  "nodes": [\n    {"id": "a", }\n  ]\n}\n', /broken\.json:4:\d+/],
    ["unknown op", JSON.stringify({ name: "x", nodes: [{ id: "a", op: "rleu", inputs: [] }] }), /node "a".*rleu/],
    [
      "shape mismatch",
      JSON.stringify({
        name: "x",
        nodes: [
          { id: "x", op: "input", attrs: { shape: ["batch", 3] } },
          { id: "W", op: "parameter", attrs: { shape: [4, 2], init: "zeros" } },
          { id: "y", op: "matmul", inputs: ["x", "W"] },
        ],
      }),
      /node "y".*\[batch, 3\].*\[4, 2\]/,
    ],
  ];
  it.each(cases)("%s", (_name, content, pattern) => {
    const file = tempFile("broken.json", content);
    const { code, stdout, stderr } = graphnet("inspect", file);
    expect(code).toBe(1);
    expect(stdout).toBe("");
    expect(stderr).toContain(file);
    expect(stderr).toMatch(pattern);
    expect(stderr).not.toMatch(/\n\s+at /); // no stack trace
    expect(stderr.trim().split("\n")).toHaveLength(1);
  });

  it("an error found after loading (by autodiff) still names the file", () => {
    const file = tempFile("no-loss.json", JSON.stringify({ name: "x", nodes: [{ id: "x", op: "input", attrs: { shape: ["batch", 3] } }] }));
    const { code, stderr } = graphnet("inspect", file, "--backward");
    expect(code).toBe(1);
    expect(stderr).toMatch(new RegExp(`^graphnet: ${file.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}:1:1: field "loss": there is no loss to differentiate`));
  });

  it("usage errors of a subcommand look like the program's: graphnet: …, exit code 1", () => {
    const { code, stderr } = graphnet("inspect", "graphs/mnist.graph.json", "--no-such-flag");
    expect(code).toBe(1);
    expect(stderr).toMatch(/^graphnet: unknown option '--no-such-flag'/);
  });

  it("--version is graphnet's own", () => {
    const { code, stdout, stderr } = graphnet("--version");
    expect(code).toBe(0);
    expect(stderr).toBe("");
    expect(stdout.trim()).toBe(JSON.parse(readFileSync("package.json", "utf8")).version);
  });

  it("a missing file", () => {
    const { code, stderr } = graphnet("gradcheck", "no/such/graph.json");
    expect(code).toBe(1);
    expect(stderr).toContain("no/such/graph.json");
    expect(stderr).not.toMatch(/\n\s+at /);
  });

  it("a bad flag value", () => {
    const { code, stderr } = graphnet("inspect", "graphs/mnist.graph.json", "--plan", "--batch", "zero");
    expect(code).toBe(1);
    expect(stderr).toContain("--batch must be a positive integer");
  });
});
