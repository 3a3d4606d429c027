/**
 * The confusion matrix as a heat map: rows are the true classes, columns the predicted ones; each cell
 * holds its count and is shaded by its share of the row, so the diagonal reads as per-class recall.
 */
import { interpolateBlues, scaleSequential } from "d3";
import { svgDocument } from "./svg.js";

const CELL = 44;
const LEFT = 70;
const TOP = 76;

export function renderConfusionSvg(confusion: readonly (readonly number[])[], title = "confusion matrix"): string {
  const k = confusion.length;
  const total = confusion.flat().reduce((a, b) => a + b, 0);
  const correct = confusion.reduce((s, row, i) => s + (row[i] ?? 0), 0);
  const { svg, serialize } = svgDocument(LEFT + k * CELL + 20, TOP + k * CELL + 30, `${title}: ${correct} of ${total} right`);
  const shade = scaleSequential(interpolateBlues).domain([0, 1]);
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
      const cell = svg
        .append("g")
        .attr("class", `cell${i === j ? " diagonal" : ""}`)
        .attr("transform", `translate(${LEFT + j * CELL}, ${TOP + i * CELL})`);
      cell
        .append("rect")
        .attr("width", CELL - 1)
        .attr("height", CELL - 1)
        .attr("fill", shade(share))
        .attr("stroke", i === j ? "#1e3a8a" : "none");
      cell
        .append("text")
        .attr("x", CELL / 2)
        .attr("y", CELL / 2 + 4)
        .attr("text-anchor", "middle")
        .attr("font-size", 11)
        .attr("fill", share > 0.5 ? "white" : "#111827")
        .text(String(count));
    });
  });
  return serialize();
}
