/**
 * The pictures as a person sees them: headless Chromium (Debian's, which .ci/run installs) opens
 * graph.svg and report.html from file://, logs no error, and renders something that is not blank;
 * in the graph, every label's real rendered box lies inside its node's box.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type Browser } from "playwright-core";
import { PNG } from "pngjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { differentiate, loadGraphFile, loadWeights, startSession, train } from "../../src/index.js";
import { renderGraphSvg, writeRunPictures } from "../../viz/index.js";
import { writeSmallMnist } from "../support/small-mnist.js";

const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

let browser: Browser;
let dir: string;
beforeAll(async () => {
  browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium", args: CHROMIUM_ARGS, headless: true });
  dir = mkdtempSync(join(tmpdir(), "graphnet-browser-"));
}, 60_000);
afterAll(async () => {
  await browser?.close();
});

async function open(file: string, width: number, height: number, fullPage = true) {
  const page = await browser.newPage({ viewport: { width, height } });
  const errors: string[] = [];
  page.on("console", (message) => {
    if (message.type() === "error") errors.push(message.text());
  });
  page.on("pageerror", (error) => errors.push(error.message));
  page.on("requestfailed", (request) => errors.push(`request failed: ${request.url()}`));
  await page.goto(`file://${file}`);
  // (A full-page screenshot of a bare SVG document never completes in Chromium: size the viewport instead.)
  const screenshot = PNG.sync.read(await page.screenshot({ fullPage }));
  return { page, errors, screenshot };
}

/** Share of pixels that are not white, and the number of distinct colours: a blank page has 0 and 1. */
function inkAndColours(png: PNG): { ink: number; colours: number } {
  let ink = 0;
  const colours = new Set<number>();
  for (let i = 0; i < png.data.length; i += 4) {
    const [r, g, b] = [png.data[i]!, png.data[i + 1]!, png.data[i + 2]!];
    if (r < 245 || g < 245 || b < 245) ink++;
    colours.add((r << 16) | (g << 8) | b);
  }
  return { ink: ink / (png.width * png.height), colours: colours.size };
}

describe("in headless Chromium", () => {
  it("graph.svg of the backward graph renders without errors, and every label fits its box", async () => {
    const file = join(dir, "graph.svg");
    writeFileSync(file, renderGraphSvg(differentiate(loadGraphFile("graphs/mnist.graph.json"))));
    const { page, errors, screenshot } = await open(file, 1700, 2200, false);
    expect(errors).toEqual([]);
    const { ink, colours } = inkAndColours(screenshot);
    expect(ink).toBeGreaterThan(0.05);
    expect(colours).toBeGreaterThan(20);
    const overflowing = await page.evaluate(() =>
      [...document.querySelectorAll("g.node")].flatMap((g) => {
        const box = (g.querySelector("rect") as SVGGraphicsElement).getBBox();
        return [...g.querySelectorAll("text")]
          .map((t) => ({ text: t.textContent, b: (t as SVGGraphicsElement).getBBox() }))
          .filter(({ b }) => b.x < box.x || b.y < box.y || b.x + b.width > box.x + box.width || b.y + b.height > box.y + box.height)
          .map(({ text }) => `${g.getAttribute("data-id")}: ${text}`);
      }),
    );
    expect(overflowing).toEqual([]);
    expect(await page.locator("g.node").count()).toBeGreaterThan(30);
  });

  it("report.html of a real (small) run renders its curves, digits and confusion matrix without errors", async () => {
    const session = startSession({
      graphFile: "graphs/mnist.graph.json",
      dataDir: writeSmallMnist(300, 60),
      outDir: join(dir, "run"),
      overrides: { num_epochs: 2 },
    });
    const outcome = await train(session);
    loadWeights(session);
    writeRunPictures(session, { ...outcome, test: outcome.test! });
    const { page, errors, screenshot } = await open(join(dir, "run", "report.html"), 1000, 800);
    expect(errors).toEqual([]);
    const { ink, colours } = inkAndColours(screenshot);
    expect(ink).toBeGreaterThan(0.05);
    expect(colours).toBeGreaterThan(20);
    expect(await page.locator("figure svg").count()).toBe(3);
    expect(await page.locator("g.digit image").count()).toBe(8);
    // The embedded digits decoded: an <image> that failed to load has no natural size to draw.
    expect(await page.locator("text=test accuracy").count()).toBeGreaterThan(0);
  }, 60_000);
});
