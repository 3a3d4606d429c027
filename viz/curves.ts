/**
 * Training curves, the report's Fig. 2: loss and accuracy per epoch, for training and validation, side
 * by side, with the epoch of the best validation loss marked (the weights early stopping keeps).
 */
import { axisBottom, axisLeft, extent, line, scaleLinear, type Selection } from "d3";
import { svgDocument } from "./svg.js";

export interface CurvePoint {
  readonly epoch: number;
  readonly train_loss: number;
  readonly val_loss: number;
  readonly train_accuracy: number;
  readonly val_accuracy: number;
}

const PANEL = { width: 430, height: 300, left: 58, right: 16, top: 34, bottom: 44 };
const COLOURS = { train: "#2563eb", validation: "#dc2626" };

export function renderCurvesSvg(history: readonly CurvePoint[], title = "training curves"): string {
  if (history.length === 0) throw new Error("no epochs to draw");
  const best = history.reduce((b, m) => (m.val_loss < b.val_loss ? m : b));
  const width = 2 * PANEL.width;
  const legendHeight = 26;
  const { svg, serialize } = svgDocument(width, PANEL.height + legendHeight, `${title}: best epoch ${best.epoch}`);
  const legend = svg.append("g").attr("class", "legend").attr("transform", "translate(60, 16)");
  (
    [
      ["training", COLOURS.train, null],
      ["validation", COLOURS.validation, "6 4"],
    ] as const
  ).forEach(([name, colour, dash], i) => {
    const item = legend.append("g").attr("transform", `translate(${i * 150}, 0)`);
    item
      .append("line")
      .attr("x1", 0)
      .attr("x2", 28)
      .attr("y1", 0)
      .attr("y2", 0)
      .attr("stroke", colour)
      .attr("stroke-width", 2.5)
      .attr("stroke-dasharray", dash);
    item.append("text").attr("x", 36).attr("y", 4).attr("font-size", 12).text(name);
  });
  const bestLegend = legend.append("g").attr("transform", "translate(300, 0)");
  bestLegend.append("line").attr("x1", 14).attr("x2", 14).attr("y1", -8).attr("y2", 8).attr("stroke", "#6b7280").attr("stroke-dasharray", "3 3");
  bestLegend.append("text").attr("x", 24).attr("y", 4).attr("font-size", 12).text(`best epoch (lowest validation loss): ${best.epoch}`);

  const panels = [
    { name: "loss", train: (m: CurvePoint) => m.train_loss, validation: (m: CurvePoint) => m.val_loss, label: "cross-entropy loss" },
    { name: "accuracy", train: (m: CurvePoint) => m.train_accuracy, validation: (m: CurvePoint) => m.val_accuracy, label: "accuracy" },
  ];
  panels.forEach((panel, i) => {
    const g = svg
      .append("g")
      .attr("class", `panel ${panel.name}`)
      .attr("transform", `translate(${i * PANEL.width}, ${legendHeight})`);
    drawPanel(g, history, panel, best.epoch);
  });
  return serialize();
}

function drawPanel(
  g: Selection<SVGGElement, unknown, null, undefined>,
  history: readonly CurvePoint[],
  panel: { name: string; train: (m: CurvePoint) => number; validation: (m: CurvePoint) => number; label: string },
  bestEpoch: number,
): void {
  const innerWidth = PANEL.width - PANEL.left - PANEL.right;
  const innerHeight = PANEL.height - PANEL.top - PANEL.bottom;
  const [first, last] = extent(history, (m) => m.epoch) as [number, number];
  const x = scaleLinear()
    .domain(first === last ? [first - 1, last + 1] : [first, last])
    .range([0, innerWidth]);
  const values = history.flatMap((m) => [panel.train(m), panel.validation(m)]);
  const [low, high] = extent(values) as [number, number];
  const margin = (high - low || Math.abs(high) || 1) * 0.08;
  const y = scaleLinear()
    .domain([low - margin, high + margin])
    .nice()
    .range([innerHeight, 0]);
  const plot = g.append("g").attr("transform", `translate(${PANEL.left}, ${PANEL.top})`);
  plot
    .append("g")
    .attr("class", "x-axis")
    .attr("transform", `translate(0, ${innerHeight})`)
    .call(
      axisBottom(x)
        .ticks(Math.min(history.length, 10))
        .tickFormat((d) => String(d)),
    );
  plot.append("g").attr("class", "y-axis").call(axisLeft(y).ticks(6));
  plot
    .append("text")
    .attr("x", innerWidth / 2)
    .attr("y", innerHeight + 36)
    .attr("text-anchor", "middle")
    .attr("font-size", 12)
    .text("epoch");
  plot
    .append("text")
    .attr("transform", `translate(-44, ${innerHeight / 2}) rotate(-90)`)
    .attr("text-anchor", "middle")
    .attr("font-size", 12)
    .text(panel.label);
  plot
    .append("text")
    .attr("x", innerWidth / 2)
    .attr("y", -12)
    .attr("text-anchor", "middle")
    .attr("font-size", 13)
    .attr("font-weight", "bold")
    .text(panel.name);
  plot
    .append("line")
    .attr("class", "best-epoch")
    .attr("x1", x(bestEpoch))
    .attr("x2", x(bestEpoch))
    .attr("y1", 0)
    .attr("y2", innerHeight)
    .attr("stroke", "#6b7280")
    .attr("stroke-dasharray", "3 3");
  for (const [series, colour, dash, value] of [
    ["training", COLOURS.train, null, panel.train],
    ["validation", COLOURS.validation, "6 4", panel.validation],
  ] as const) {
    const path = line<CurvePoint>()
      .x((m) => x(m.epoch))
      .y((m) => y(value(m)));
    plot
      .append("path")
      .attr("class", `series ${series}`)
      .attr("d", path([...history]))
      .attr("fill", "none")
      .attr("stroke", colour)
      .attr("stroke-width", 2)
      .attr("stroke-dasharray", dash);
    plot
      .append("g")
      .selectAll("circle")
      .data(history)
      .join("circle")
      .attr("cx", (m) => x(m.epoch))
      .attr("cy", (m) => y(value(m)))
      .attr("r", 2.5)
      .attr("fill", colour);
  }
}
