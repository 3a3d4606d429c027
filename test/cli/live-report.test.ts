/**
 * report.html while `graphnet train` runs: written after each epoch, reloading itself, with the curves so
 * far; left saying why (and no longer reloading) when the run is interrupted; replaced by the final page,
 * which does not reload and adds the network, when the run ends. Watched at exact moments through
 * GRAPHNET_TEST_SIGNAL_AT, in a thread of its own (--threads 1 leaves a core for it) and in the main one.
 */
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { JSDOM } from "jsdom";
import { beforeAll, describe, expect, it } from "vitest";
import { graphnetProcess } from "../support/cli.js";
import { writeSmallMnist } from "../support/small-mnist.js";

let data: string;
beforeAll(() => {
  data = writeSmallMnist(300, 60);
});

const runDir = () => join(mkdtempSync(join(tmpdir(), "graphnet-live-")), "run");
const train = (out: string, extra: readonly string[], signalAt?: string) =>
  graphnetProcess(["train", "graphs/mnist.graph.json", "--data", data, "--out", out, "--quiet", ...extra], {
    timeout: 120_000,
    ...(signalAt ? { env: { ...process.env, GRAPHNET_TEST_SIGNAL_AT: signalAt } } : {}),
  });

function report(dir: string) {
  const html = readFileSync(join(dir, "report.html"), "utf8");
  const document = new JSDOM(html).window.document;
  return {
    html,
    refresh: document.querySelector('meta[http-equiv="refresh"]')?.getAttribute("content"),
    status: document.querySelector(".status")?.textContent,
    headings: [...document.querySelectorAll("h2")].map((h) => h.textContent),
    epochs: document.querySelectorAll("path.series.training").length > 0 ? document.querySelectorAll("g.panel.loss path.series.training + g circle").length : 0,
    nodes: document.querySelectorAll("figure g.node").length,
  };
}

describe("report.html during a run", () => {
  it("is written after the first epoch, reloading itself, with the curves so far (drawn in the pictures' thread)", () => {
    const out = runDir();
    // The process stops the moment the first report.html is in place: the page of epoch 1 of 3.
    const r = train(out, ["--epochs", "3", "--threads", "1"], "wrote:report.html#1=SIGKILL");
    expect(r.stderr).toBe("");
    const page = report(out);
    expect(page.refresh).toBe("5");
    expect(page.status).toBe("training: 1 epoch of 3 done; this page reloads every 5 s until the run ends.");
    expect(page.headings).toEqual(["Loss and accuracy per epoch", "Configuration"]);
    expect(page.epochs).toBe(1);
  });

  it("says the run was interrupted and stops reloading; the resumed run's final page replaces it, with the network", () => {
    const out = runDir();
    // Ctrl-C as epoch 2 of 3 ends: the run saves it and stops.
    const interrupted = train(out, ["--epochs", "3", "--threads", "2", "--backend", "wasm"], "epoch-end#2=SIGINT");
    expect(interrupted.code).toBe(130);
    const stopped = report(out);
    expect(stopped.refresh).toBeUndefined();
    expect(stopped.status).toBe(`interrupted; continue with graphnet train --resume ${out}`);
    expect(stopped.html).toContain("2 of 3 done");
    expect(stopped.epochs).toBe(2);

    const resumed = graphnetProcess(["train", "--resume", out, "--quiet"], { timeout: 120_000 });
    expect(resumed.code).toBe(0);
    const final = report(out);
    expect(final.refresh).toBeUndefined();
    expect(final.status).toBeUndefined();
    expect(final.headings).toEqual(["Loss and accuracy per epoch", "Test predictions", "Confusion matrix (test split)", "The network", "Configuration"]);
    expect(final.epochs).toBe(3);
    expect(final.nodes).toBe(JSON.parse(readFileSync(join(out, "config.json"), "utf8")).graph.nodes.length);
    expect(final.html).toContain("test accuracy");
  });
});
