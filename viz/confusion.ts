/**
 * The confusion matrix as a heat map: rows are the true classes, columns the predicted ones; each cell
 * holds its count. The diagonal is shaded blue by its share of the row (per-class recall); the errors off
 * it by a scale of their own, red, from the square root of the count up to the largest error: on a
 * shared scale an error of 29 beside a diagonal of 1,000 is 3 % of the darkest shade and barely shows,
 * while here the largest error is the deepest red and a single one is still tinted.
 */
import { interpolateBlues, interpolateReds, scaleSequential, scaleSqrt } from "d3";
import { svgDocument, type Svg } from "./svg.js";

const CELL = 44;
const LEFT = 70;
const TOP = 76;
/** The key under the matrix. */
const KEY = 46;
/** The palest red an error gets: a single one is tinted, not white. */
const FAINTEST_ERROR = 0.18;

export function renderConfusionSvg(confusion: readonly (readonly number[])[], title = "confusion matrix"): string {
  const k = confusion.length;
  const total = confusion.flat().reduce((a, b) => a + b, 0);
  const correct = confusion.reduce((s, row, i) => s + (row[i] ?? 0), 0);
  const width = Math.max(LEFT + k * CELL + 20, 480);
  const { svg, serialize } = svgDocument(width, TOP + k * CELL + 30 + KEY, `${title}: ${correct} of ${total} right`);
  const shade = scaleSequential(interpolateBlues).domain([0, 1]);
  const largestError = Math.max(0, ...confusion.flatMap((row, i) => row.filter((_, j) => j !== i)));
  const errorShade = scaleSqrt()
    .domain([1, Math.max(largestError, 2)])
    .range([FAINTEST_ERROR, 0.85])
    .clamp(true);
  const fillOf = (count: number, share: number, diagonal: boolean) => (diagonal ? shade(share) : count > 0 ? interpolateReds(errorShade(count)) : "white");
  svg
    .append("text")
    .attr("x", 10)
    .attr("y", 20)
    .attr("font-size", 13)
    .attr("font-weight", "bold")
    .text(
      `confusion matrix: ${correct.toLocaleString("en-US")} of ${total.toLocaleString("en-US")} right (${((100 * correct) / Math.max(total, 1)).toFixed(2)} %)`,
    );
  svg
    .append("text")
    .attr("x", LEFT + (k * CELL) / 2)
    .attr("y", TOP - 30)
    .attr("text-anchor", "middle")
    .attr("font-size", 12)
    .text("predicted class");
  svg
    .append("text")
    .attr("transform", `translate(18, ${TOP + (k * CELL) / 2}) rotate(-90)`)
    .attr("text-anchor", "middle")
    .attr("font-size", 12)
    .text("true class");
  for (let j = 0; j < k; j++) {
    svg
      .append("text")
      .attr("x", LEFT + j * CELL + CELL / 2)
      .attr("y", TOP - 8)
      .attr("text-anchor", "middle")
      .attr("font-size", 12)
      .text(String(j));
  }
  confusion.forEach((row, i) => {
    const rowTotal = row.reduce((a, b) => a + b, 0) || 1;
    svg
      .append("text")
      .attr("x", LEFT - 10)
      .attr("y", TOP + i * CELL + CELL / 2 + 4)
      .attr("text-anchor", "end")
      .attr("font-size", 12)
      .text(String(i));
    row.forEach((count, j) => {
      const share = count / rowTotal;
      const diagonal = i === j;
      const depth = diagonal ? share : count > 0 ? errorShade(count) : 0;
      const cell = svg
        .append("g")
        .attr("class", `cell${diagonal ? " diagonal" : count > 0 ? " error" : ""}`)
        .attr("transform", `translate(${LEFT + j * CELL}, ${TOP + i * CELL})`);
      cell
        .append("rect")
        .attr("width", CELL - 1)
        .attr("height", CELL - 1)
        .attr("fill", fillOf(count, share, diagonal))
        .attr("stroke", diagonal ? "#1e3a8a" : "#e5e7eb");
      cell
        .append("text")
        .attr("x", CELL / 2)
        .attr("y", CELL / 2 + 4)
        .attr("text-anchor", "middle")
        .attr("font-size", 11)
        .attr("fill", depth > 0.5 ? "white" : count === 0 ? "#9ca3af" : "#111827")
        .text(String(count));
    });
  });
  drawKey(svg, TOP + k * CELL + 22, largestError);
  return serialize();
}

/** What the two colours say: a row of swatches for each scale, and its meaning. */
function drawKey(svg: Svg, y: number, largestError: number): void {
  const key = svg.append("g").attr("class", "key").attr("transform", `translate(10, ${y})`);
  const rows: [colours: string[], meaning: string][] = [
    [[0.25, 0.5, 0.75, 1].map((t) => interpolateBlues(t)), "right: share of the true class"],
    [
      largestError > 0 ? [FAINTEST_ERROR, 0.4, 0.62, 0.85].map((t) => interpolateReds(t)) : [],
      largestError > 0 ? `wrong: the count, on a square-root scale from 1 to ${largestError.toLocaleString("en-US")}` : "wrong: none",
    ],
  ];
  rows.forEach(([colours, meaning], row) => {
    const line = key.append("g").attr("transform", `translate(0, ${row * 20})`);
    colours.forEach((colour, i) =>
      line
        .append("rect")
        .attr("x", i * 16)
        .attr("width", 14)
        .attr("height", 14)
        .attr("fill", colour)
        .attr("stroke", "#d1d5db"),
    );
    line.append("text").attr("x", 72).attr("y", 11).attr("font-size", 11).text(meaning);
  });
}
