/**
 * Test digits with their true label and the predicted class, the report's Fig. 1: each image as a
 * 28 × 28 greyscale PNG embedded in the SVG (drawn with crisp pixels), a wrong prediction framed in red.
 */
import { PNG } from "pngjs";
import { svgDocument } from "./svg.js";

export interface Prediction {
  /** Pixels in [0, 1], row by row. */
  readonly pixels: ArrayLike<number>;
  readonly side: number;
  readonly label: number;
  readonly predicted: number;
  readonly probability: number;
}

const CELL = 150;
const IMAGE = 112;
const COLUMNS = 4;

export function renderPredictionsSvg(predictions: readonly Prediction[], title = "test predictions"): string {
  const rows = Math.ceil(predictions.length / COLUMNS);
  const wrong = predictions.filter((p) => p.predicted !== p.label).length;
  const { svg, serialize } = svgDocument(
    COLUMNS * CELL + 20,
    rows * (CELL + 34) + 36,
    `${title}: ${predictions.length - wrong} of ${predictions.length} right`,
  );
  svg
    .append("text")
    .attr("x", 10)
    .attr("y", 22)
    .attr("font-size", 13)
    .attr("font-weight", "bold")
    .text(`${predictions.length} random test digits: true label and predicted class (${wrong} wrong)`);
  predictions.forEach((p, i) => {
    const right = p.predicted === p.label;
    const g = svg
      .append("g")
      .attr("class", `digit ${right ? "right" : "wrong"}`)
      .attr("transform", `translate(${10 + (i % COLUMNS) * CELL + (CELL - IMAGE) / 2}, ${36 + Math.floor(i / COLUMNS) * (CELL + 34)})`);
    g.append("image").attr("width", IMAGE).attr("height", IMAGE).attr("href", pngDataUri(p.pixels, p.side)).attr("style", "image-rendering: pixelated");
    g.append("rect")
      .attr("x", -2)
      .attr("y", -2)
      .attr("width", IMAGE + 4)
      .attr("height", IMAGE + 4)
      .attr("fill", "none")
      .attr("stroke", right ? "#d1d5db" : "#dc2626")
      .attr("stroke-width", right ? 1 : 3);
    g.append("text")
      .attr("x", IMAGE / 2)
      .attr("y", IMAGE + 18)
      .attr("text-anchor", "middle")
      .attr("font-size", 11)
      .text(`true ${p.label}, predicted ${p.predicted}`);
    g.append("text")
      .attr("x", IMAGE / 2)
      .attr("y", IMAGE + 33)
      .attr("text-anchor", "middle")
      .attr("font-size", 11)
      .attr("font-weight", right ? null : "bold")
      .attr("fill", right ? "#15803d" : "#dc2626")
      .text(`${right ? "✓ right" : "✗ wrong"}, p = ${p.probability.toFixed(2)}`);
  });
  return serialize();
}

/** A greyscale image as a PNG data URI: white digit on black, as MNIST stores it. */
export function pngDataUri(pixels: ArrayLike<number>, side: number): string {
  const png = new PNG({ width: side, height: side });
  for (let i = 0; i < side * side; i++) {
    const v = Math.round(255 * Math.min(1, Math.max(0, pixels[i]!)));
    png.data[4 * i] = png.data[4 * i + 1] = png.data[4 * i + 2] = v;
    png.data[4 * i + 3] = 255;
  }
  return `data:image/png;base64,${PNG.sync.write(png).toString("base64")}`;
}
