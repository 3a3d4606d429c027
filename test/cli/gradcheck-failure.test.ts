/**
 * `graphnet gradcheck` fails (exit code 1, the failing element shown) when an op's gradient is wrong.
 * The broken op is registered in this process, and the CLI's `main` is called in-process.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { main } from "../../cli/program.js";
import { registerOp, unaryOp } from "../../src/index.js";

// cube(x) = x³ whose gradient rule forgets the factor 3: dy ⊙ x², built from existing ops.
registerOp(
  unaryOp({
    name: "cube_with_wrong_gradient",
    summary: "x³, with a deliberately wrong gradient",
    f: (x) => x * x * x,
    gradient: (g) => {
      const x = g.inputs[0]!;
      return [g.emit("mul", [g.dy, g.emit("mul", [x, x])])];
    },
  }),
);

function graphFile(activation: string): string {
  const dir = mkdtempSync(join(tmpdir(), "graphnet-gradcheck-"));
  const file = join(dir, `${activation}.graph.json`);
  writeFileSync(
    file,
    JSON.stringify({
      name: "tiny",
      nodes: [
        { id: "x", op: "input", attrs: { shape: ["batch", 3] } },
        { id: "W", op: "parameter", attrs: { shape: [3, 2], init: "xavier_normal" } },
        { id: "z", op: "matmul", inputs: ["x", "W"] },
        { id: "a", op: activation, inputs: ["z"] },
        { id: "loss", op: "sum_to", inputs: ["a"], attrs: { shape: [] } },
      ],
      loss: "loss",
    }),
  );
  return file;
}

async function run(...argv: string[]) {
  let out = "";
  const spy = vi.spyOn(process.stdout, "write").mockImplementation((chunk) => {
    out += String(chunk);
    return true;
  });
  try {
    return { code: await main(argv), out };
  } finally {
    spy.mockRestore();
  }
}

describe("gradcheck's exit code", () => {
  afterEach(() => vi.restoreAllMocks());

  it("is 1 and names the failing element when a gradient rule is wrong", async () => {
    const { code, out } = await run("gradcheck", graphFile("cube_with_wrong_gradient"));
    expect(code).toBe(1);
    expect(out).toMatch(/^W\s+\[3, 2\]\s+6 \/ 6\s+\S+\s+\S+\s+FAIL at \[\d, \d\]: autodiff \S+, numeric \S+$/m);
    expect(out).toContain("1 of 1 parameters FAIL");
  });

  it("is 0 for the same graph with a correct op", async () => {
    const { code, out } = await run("gradcheck", graphFile("tanh"));
    expect(out).toContain("1 of 1 parameters pass");
    expect(code).toBe(0);
  });
});
