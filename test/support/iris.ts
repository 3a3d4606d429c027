/** examples/tabular's iris table, and its samples as arrays: features row by row, and the species numbers. */
import { readFileSync } from "node:fs";

export const IRIS = "examples/tabular/iris.csv";

const rows = readFileSync(IRIS, "utf8")
  .trim()
  .split("\n")
  .slice(1)
  .map((line) => line.split(",").map(Number));

/** The 150 samples' 4 features, row after row. */
export const irisX = rows.flatMap((row) => row.slice(0, 4));
/** The 150 samples' species, 0 … 2. */
export const irisY = rows.map((row) => row[4]!);
