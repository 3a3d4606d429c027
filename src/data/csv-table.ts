/**
 * A CSV file as a table of numbers: one sample per row, one label column, the other columns its features.
 * The header row is optional: a first row with a cell that is not a number names the columns. The label
 * column is the one named (or numbered from 0) by `labelColumn`; by default the column named "label",
 * else the last one. Parsed by csv-parse (quoting, CRLF, a byte-order mark).
 */
import { parse } from "csv-parse/sync";
import { UserError } from "../graph/errors.js";

export interface CsvTable {
  /** count × width feature values, row-major, in the file's column order (the label column left out). */
  readonly features: Float64Array;
  /** The label column's values, one per row. */
  readonly labels: Float64Array;
  readonly count: number;
  /** Feature columns per row. */
  readonly width: number;
  /** How the label column is named in messages, after "column": "\"species\"" (a header name) or "4" (no header). */
  readonly labelName: string;
  /** Where each sample's row is in the file (1-based lines), for messages. */
  readonly lines: readonly number[];
}

export function parseCsvTable(text: string, file: string, labelColumn?: string): CsvTable {
  let records: { record: string[]; info: { lines: number } }[];
  try {
    records = parse(text, { bom: true, trim: true, skip_empty_lines: true, info: true }) as unknown as typeof records;
  } catch (err) {
    throw new UserError(`${file}: not a readable CSV table (${(err as Error).message}).`);
  }
  if (records.length === 0) throw new UserError(`${file}: the CSV file holds no rows.`);
  const first = records[0]!.record;
  const header = first.some((cell) => !isNumber(cell)) ? first : null;
  const rows = header ? records.slice(1) : records;
  if (rows.length === 0) throw new UserError(`${file}: the CSV file holds a header row and no samples.`);
  const columns = first.length;
  if (columns < 2) throw new UserError(`${file}: each row holds ${columns} column; a table needs a label column and at least one feature column.`);
  const label = labelIndex(header, columns, file, labelColumn);
  const nameOf = (c: number) => (header ? `"${header[c]}"` : String(c));
  const width = columns - 1;
  const features = new Float64Array(rows.length * width);
  const labels = new Float64Array(rows.length);
  rows.forEach(({ record, info }, r) => {
    let k = r * width;
    record.forEach((cell, c) => {
      if (!isNumber(cell)) {
        const what = c === label ? "label" : "feature";
        throw new UserError(
          `${file}, line ${info.lines}, column ${nameOf(c)}: ${JSON.stringify(cell)} is not a number; each ${what} must be one${c === label ? " (a class number 0, 1, …)" : ""}.`,
        );
      }
      if (c === label) labels[r] = Number(cell);
      else features[k++] = Number(cell);
    });
  });
  return { features, labels, count: rows.length, width, labelName: nameOf(label), lines: rows.map(({ info }) => info.lines) };
}

/** A cell that holds a finite number, written as a number (not empty, not "NaN"). */
function isNumber(cell: string): boolean {
  return cell !== "" && Number.isFinite(Number(cell));
}

function labelIndex(header: readonly string[] | null, columns: number, file: string, given: string | undefined): number {
  if (given === undefined) {
    const named = header?.indexOf("label") ?? -1;
    return named >= 0 ? named : columns - 1;
  }
  const named = header?.indexOf(given) ?? -1;
  if (named >= 0) return named;
  if (/^\d+$/.test(given) && Number(given) < columns) return Number(given);
  const names = header ? `its columns are ${header.map((h) => JSON.stringify(h)).join(", ")}` : `it has no header row, and columns 0 to ${columns - 1}`;
  throw new UserError(`${file}: --label-column ${given} names no column; ${names}.`);
}
