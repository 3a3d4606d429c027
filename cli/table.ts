/** Plain-text tables for the terminal: columns padded to their widest cell, numbers right-aligned. */

export type Align = "left" | "right";

export interface Column {
  readonly title: string;
  readonly align?: Align;
}

export function formatTable(columns: readonly Column[], rows: readonly (readonly string[])[]): string {
  // A loop, not Math.max(...cells): spreading the rows of a 100,000-node graph as arguments overflows the stack.
  const widths = columns.map((c, i) => rows.reduce((widest, r) => Math.max(widest, width(r[i] ?? "")), width(c.title)));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) => (columns[i]!.align === "right" ? padStart(cell, widths[i]!) : padEnd(cell, widths[i]!)))
      .join("  ")
      .trimEnd();
  return [line(columns.map((c) => c.title)), line(widths.map((w) => "─".repeat(w))), ...rows.map(line)].join("\n");
}

// Width in terminal columns: combining marks (as in Aᵀ) take none.
function width(text: string): number {
  return [...text.normalize("NFC")].filter((ch) => !/\p{Mn}/u.test(ch)).length;
}

function padEnd(text: string, n: number): string {
  return text + " ".repeat(Math.max(0, n - width(text)));
}

function padStart(text: string, n: number): string {
  return " ".repeat(Math.max(0, n - width(text))) + text;
}

export function formatInt(n: number): string {
  return n.toLocaleString("en-US");
}
