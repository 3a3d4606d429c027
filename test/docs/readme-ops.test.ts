/**
 * The README's table of ops is the registry's: every built-in op, its inputs and its summary, so that a
 * new op cannot be left out of it. To rewrite it after adding or changing an op:
 *   UPDATE_README_OPS=1 npx vitest run test/docs/readme-ops.test.ts
 */
import { readFileSync, writeFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { BUILTIN_OPS } from "../../src/ops/builtin.js";

const README = "README.md";
const HEADER = "| op | inputs | what it computes |\n|---|---|---|\n";

function opsTable(): string {
  const rows = [...BUILTIN_OPS]
    .sort((a, b) => a.name.localeCompare(b.name))
    // A "|" in a summary (|x|) would end the cell: escaped, as Markdown tables allow.
    .map((op) => `| \`${op.name}\` | ${op.inputs.join(", ") || "—"} | ${op.summary.replaceAll("|", "\\|")}${op.gradient ? "" : " (no gradient rule)"} |`);
  return HEADER + rows.join("\n") + "\n";
}

describe("the README's table of ops", () => {
  it("lists every built-in op as the registry describes it", () => {
    const text = readFileSync(README, "utf8");
    const start = text.indexOf(HEADER, text.indexOf("## Ops"));
    const end = text.indexOf("\n\n", start) + 1;
    expect(start, `${README} has no ops table under "## Ops"`).toBeGreaterThan(0);
    if (process.env.UPDATE_README_OPS) writeFileSync(README, text.slice(0, start) + opsTable() + text.slice(end));
    expect(readFileSync(README, "utf8").slice(start, start + opsTable().length), "regenerate it: UPDATE_README_OPS=1 npx vitest run test/docs/readme-ops.test.ts").toBe(
      opsTable(),
    );
  });
});
