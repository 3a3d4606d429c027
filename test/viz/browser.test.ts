/**
 * The pictures as a person sees them: headless Chromium (from the npm registry, test/support/chromium.ts,
 * or CHROMIUM_PATH's) opens graph.svg and report.html from file://, logs no error, and renders something
 * that is not blank; in the graph, every label's real rendered box lies inside its node's box (and every
 * edge's label inside its patch), drawn in the font the boxes are measured for; in the report, every digit
 * decodes.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser } from "playwright-core";
import { PNG } from "pngjs";
import { afterAll, describe, expect, it } from "vitest";
import { differentiate, loadGraphFile, loadWeights, startSession, train } from "../../src/index.js";
import { renderGraphSvg, writeRunPictures } from "../../viz/index.js";
import { CHAR_WIDTH } from "../../viz/svg.js";
import { launchChromium, PICTURE_FONT } from "../support/chromium.js";
import { writeSmallMnist } from "../support/small-mnist.js";

// Started by the first test that needs it, so that a browser that cannot start fails each test with its
// reason (launchChromium's message) rather than a hook.
let launching: Promise<Browser> | undefined;
const browser = () => (launching ??= launchChromium());
const dir = mkdtempSync(join(tmpdir(), "graphnet-browser-"));
afterAll(async () => {
  await (await launching?.catch(() => undefined))?.close();
});

/** The first launch unpacks the browser (a few seconds, once per machine). */
const BROWSER_TEST_MS = 60_000;

async function open(file: string, width: number, height: number, fullPage = true) {
  const page = await (await browser()).newPage({ viewport: { width, height } });
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
  it(
    "graph.svg of the backward graph renders without errors, and every label fits its box, in DejaVu Sans Mono",
    async () => {
      const file = join(dir, "graph.svg");
      writeFileSync(file, await renderGraphSvg(differentiate(loadGraphFile("graphs/mnist.graph.json"))));
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
      // Each edge's label fits the white patch laid out for it.
      const edgeLabels = await page.evaluate(() =>
        [...document.querySelectorAll("g.edge-label")].map((g) => {
          const box = (g.querySelector("rect") as SVGGraphicsElement).getBBox();
          const b = (g.querySelector("text") as SVGGraphicsElement).getBBox();
          return { text: g.textContent, fits: b.x >= box.x && b.y >= box.y && b.x + b.width <= box.x + box.width && b.y + b.height <= box.y + box.height };
        }),
      );
      expect(edgeLabels.length).toBeGreaterThan(30);
      expect(edgeLabels.filter((label) => !label.fits)).toEqual([]);
      // The labels are drawn in the font their boxes are measured for (what the browser actually used for
      // the glyphs, not what was asked), whose advance is CHAR_WIDTH em.
      const cdp = await page.context().newCDPSession(page);
      const { root } = await cdp.send("DOM.getDocument");
      const { nodeIds } = await cdp.send("DOM.querySelectorAll", { nodeId: root.nodeId, selector: "g.node text" });
      expect(nodeIds.length).toBeGreaterThan(30);
      await cdp.send("CSS.enable");
      const families = new Set<string>();
      for (const nodeId of nodeIds) for (const font of (await cdp.send("CSS.getPlatformFontsForNode", { nodeId })).fonts) families.add(font.familyName);
      expect([...families]).toEqual([PICTURE_FONT]);
      const advances = await page.evaluate(() =>
        [...document.querySelectorAll("g.node text")].map((t) => {
          const text = t as SVGTextContentElement;
          return text.getComputedTextLength() / [...(text.textContent ?? "")].length / parseFloat(getComputedStyle(text).fontSize);
        }),
      );
      for (const advance of advances) expect(advance).toBeCloseTo(CHAR_WIDTH, 2);
    },
    BROWSER_TEST_MS,
  );

  it(
    "report.html of a real (small) run renders its curves, digits, confusion matrix and network without errors",
    async () => {
      const session = startSession({
        graphFile: "graphs/mnist.graph.json",
        dataDir: writeSmallMnist(300, 60),
        outDir: join(dir, "run"),
        overrides: { num_epochs: 2 },
      });
      const outcome = await train(session);
      loadWeights(session);
      await writeRunPictures(session, { ...outcome, test: outcome.test! });
      const { page, errors, screenshot } = await open(join(dir, "run", "report.html"), 1000, 800);
      expect(errors).toEqual([]);
      const { ink, colours } = inkAndColours(screenshot);
      expect(ink).toBeGreaterThan(0.05);
      expect(colours).toBeGreaterThan(20);
      expect(await page.locator("figure svg").count()).toBe(4);
      expect(await page.locator("figure svg g.node").count()).toBe(session.record.graph.nodes.length);
      expect(await page.locator("g.digit image").count()).toBe(8);
      // Each embedded digit decoded: the <image> itself (decode() rejects an image that cannot be), and
      // its PNG as an <img> of 28 × 28 natural pixels.
      const digits = await page.evaluate(() =>
        Promise.all(
          [...document.querySelectorAll("g.digit image")].map(async (image) => {
            const href = image.getAttribute("href") ?? "";
            const decoded = await (image as unknown as { decode(): Promise<void> }).decode().then(
              () => "decoded",
              (err: Error) => `not decoded: ${err.message}`,
            );
            const img = new Image();
            img.src = href;
            await img.decode().catch(() => {});
            return { decoded, naturalWidth: img.naturalWidth, naturalHeight: img.naturalHeight };
          }),
        ),
      );
      expect(digits).toEqual(Array.from({ length: 8 }, () => ({ decoded: "decoded", naturalWidth: 28, naturalHeight: 28 })));
      expect(await page.locator("text=test accuracy").count()).toBeGreaterThan(0);
    },
    BROWSER_TEST_MS,
  );
});

describe("a browser that cannot start", () => {
  it("is a failure that names the executable and says why", async () => {
    const missing = join(dir, "no-such-chromium");
    const error = await launchChromium({ executablePath: missing }).then(
      () => undefined,
      (err: Error) => err,
    );
    expect(error?.message).toMatch(
      new RegExp(`^headless Chromium \\(${missing.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\\) could not start: .*(ENOENT|doesn't exist|no such file)`, "s"),
    );
  });
});
