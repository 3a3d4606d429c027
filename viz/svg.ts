/**
 * SVG documents built with d3 on a server-side DOM (jsdom), serialised as standalone XML files.
 */
import { createRequire } from "node:module";
import { select, type Selection } from "d3";
import type { JSDOM as JsdomClass } from "jsdom";
import { FONT } from "./text-width.js";

export { CHAR_WIDTH, FONT, textWidth } from "./text-width.js";

let loadedJsdom: typeof JsdomClass | undefined;

/**
 * jsdom, loaded when the first picture is drawn: it takes a large share of a CLI start-up (over a second
 * on a busy 2-core machine), which every command that imports the picture writers would otherwise pay.
 */
function jsdom(): typeof JsdomClass {
  loadedJsdom ??= (createRequire(import.meta.url)("jsdom") as typeof import("jsdom")).JSDOM;
  return loadedJsdom;
}

/** Loads jsdom now rather than for the first picture: for a thread that draws later and has time now. */
export function preloadDom(): void {
  jsdom();
}

const SVG_NS = "http://www.w3.org/2000/svg";

export type Svg = Selection<SVGSVGElement, unknown, null, undefined>;

/** A new SVG root of the given size, ready for d3, and a function that serialises it. */
export function svgDocument(width: number, height: number, title: string): { svg: Svg; serialize: () => string } {
  const JSDOM = jsdom();
  const dom = new JSDOM("<!DOCTYPE html><body></body>");
  const document = dom.window.document;
  const root = document.createElementNS(SVG_NS, "svg") as unknown as SVGSVGElement;
  document.body.appendChild(root as unknown as Node);
  const svg = select(root)
    .attr("xmlns", SVG_NS)
    .attr("width", Math.ceil(width))
    .attr("height", Math.ceil(height))
    .attr("viewBox", `0 0 ${Math.ceil(width)} ${Math.ceil(height)}`)
    .attr("font-family", FONT);
  svg.append("title").text(title);
  svg.append("rect").attr("width", "100%").attr("height", "100%").attr("fill", "white");
  const serializer = new dom.window.XMLSerializer();
  return { svg, serialize: () => `<?xml version="1.0" encoding="UTF-8"?>\n${serializer.serializeToString(root as unknown as Node)}\n` };
}
