/**
 * SVG documents built with d3 on a server-side DOM (linkedom, parsing in XML mode, so that attributes are
 * escaped as XML wants and their case kept: viewBox), serialised as standalone XML files.
 */
import { createRequire } from "node:module";
import { select, type Selection } from "d3";
import { FONT } from "./text-width.js";

export { CHAR_WIDTH, FONT, textWidth } from "./text-width.js";

type DomParserClass = typeof import("linkedom").DOMParser;
let loadedParser: DomParserClass | undefined;

/**
 * linkedom's DOMParser, loaded when the first picture is drawn, not by every command that imports the
 * picture writers. (linkedom, not jsdom: d3 needs only elements, attributes and text, and jsdom took five
 * times as long to load — over a second of a training run's pictures on a busy 2-core machine.)
 */
function domParser(): DomParserClass {
  loadedParser ??= (createRequire(import.meta.url)("linkedom") as typeof import("linkedom")).DOMParser;
  return loadedParser;
}

/** Loads the DOM now rather than for the first picture: for a thread that draws later and has time now. */
export function preloadDom(): void {
  domParser();
}

const SVG_NS = "http://www.w3.org/2000/svg";

export type Svg = Selection<SVGSVGElement, unknown, null, undefined>;

/** A new SVG root of the given size, ready for d3, and a function that serialises it. */
export function svgDocument(width: number, height: number, title: string): { svg: Svg; serialize: () => string } {
  const DOMParser = domParser();
  const [w, h] = [Math.ceil(width), Math.ceil(height)];
  // The root's attributes written in the source, so that they keep this order (linkedom puts an attribute
  // set later before the others).
  const source = `<svg xmlns="${SVG_NS}" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" font-family="${FONT}"></svg>`;
  const root = new DOMParser().parseFromString(source, "image/svg+xml").documentElement as unknown as SVGSVGElement;
  const svg = select(root);
  svg.append("title").text(title);
  svg.append("rect").attr("width", "100%").attr("height", "100%").attr("fill", "white");
  return { svg, serialize: () => `<?xml version="1.0" encoding="UTF-8"?>\n${String(root)}\n` };
}
