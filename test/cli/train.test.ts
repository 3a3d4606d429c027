/**
 * `graphnet train`, `eval` and `predict` end to end, as a person runs them, on a small MNIST
 * (gzipped idx files in a temporary directory, read with --data).
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { loadCheckpoint, loadWeights, reopenSession } from "../../src/index.js";
import { renderRunPictures } from "../../viz/run-pictures.js";
import { runPicturesInput } from "../../viz/run-picture-files.js";
import { writeSmallMnist } from "../support/small-mnist.js";

const BIN = join(process.cwd(), "dist", "cli", "main.js");
const graphnet = (...args: string[]) => {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: "utf8", timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
};
const tempDir = () => mkdtempSync(join(tmpdir(), "graphnet-cli-run-"));
const weights = (file: string) => [...loadCheckpoint(file).parameters.values()].map((p) => [...p]);

let data: string;
let run: string;
beforeAll(() => {
  data = writeSmallMnist(500, 100, true);
  run = join(tempDir(), "run");
  const r = graphnet("train", "graphs/mnist.graph.json", "--data", data, "--epochs", "2", "--out", run, "--quiet");
  if (r.code !== 0) throw new Error(r.stderr);
});

describe("graphnet train", () => {
  it("--quiet prints only the summary, and the run folder holds what a person comes back for", () => {
    const out = join(tempDir(), "r");
    const r = graphnet("train", "graphs/mnist.graph.json", "--data", data, "--epochs", "1", "--out", out, "--quiet");
    expect(r.code).toBe(0);
    expect(r.stderr).toBe("");
    expect(r.stdout).toMatch(/^test accuracy 0\.\d{4} \(loss \d+\.\d{4}\) with the weights of epoch 1 of 1, [\d.]+ s of training; run folder .*\n$/);
    expect(r.stdout.trimEnd().endsWith(`run folder ${out}`)).toBe(true);
    // The folder this run just wrote (not the 2-epoch one of beforeAll).
    expect(readdirSync(out).sort()).toEqual(
      [
        "best.safetensors",
        "config.json",
        "confusion.csv",
        "confusion.svg",
        "curves.svg",
        "last.safetensors",
        "metrics.csv",
        "metrics.json",
        "predictions.svg",
        "report.html",
        "result.json",
      ].sort(),
    );
    const config = JSON.parse(readFileSync(join(out, "config.json"), "utf8"));
    expect(config.training.num_epochs).toBe(1);
    expect(config.data).toMatchObject({ dir: data, split: "report", train: 360, validation: 120, test: 120, classes: 10 });
    const result = JSON.parse(readFileSync(join(out, "result.json"), "utf8"));
    expect(result.confusion.flat().reduce((a: number, b: number) => a + b, 0)).toBe(120);
    expect(result.test_accuracy.toFixed(4)).toBe(/^test accuracy (0\.\d{4})/.exec(r.stdout)![1]);
    expect(JSON.parse(readFileSync(join(out, "metrics.json"), "utf8")).map((m: { epoch: number }) => m.epoch)).toEqual([1]);
    expect(loadCheckpoint(join(out, "last.safetensors")).progress.epoch).toBe(1);
  });

  it("--verbose tells where the wall clock went, phase by phase; result.json records the phases up to the test", () => {
    const out = join(tempDir(), "r");
    const r = graphnet("train", "graphs/mnist.graph.json", "--data", data, "--epochs", "2", "--out", out, "--quiet", "--verbose");
    expect(r.code).toBe(0);
    const phase = (name: string) => `${name} \\d+\\.\\d{2} s`;
    const line = ["start-up", "graph", "data", "model", "training", "validation", "checkpoints", "test", "pictures"].map(phase).join(", ");
    expect(r.stderr).toMatch(new RegExp(`^wall clock \\d+\\.\\d s: ${line}\n$`));
    const result = JSON.parse(readFileSync(join(out, "result.json"), "utf8"));
    expect(Object.keys(result.phases)).toEqual(["start-up", "graph", "data", "model", "training", "validation", "checkpoints", "test"]);
    expect(result.phases.training).toBeCloseTo(result.train_seconds, 3);
    const metrics = JSON.parse(readFileSync(join(out, "metrics.json"), "utf8")) as { seconds: number }[];
    expect(result.phases.training).toBeCloseTo(metrics[0]!.seconds + metrics[1]!.seconds, 3);
  });

  it("draws the pictures in a thread of their own where a core is free for it, the same as drawn in this one", async () => {
    // Training on one thread leaves a core of two or more for the pictures' thread.
    const run = join(tempDir(), "r");
    expect(graphnet("train", "graphs/mnist.graph.json", "--data", data, "--epochs", "2", "--threads", "1", "--out", run, "--quiet").code).toBe(0);
    const result = JSON.parse(readFileSync(join(run, "result.json"), "utf8"));
    const session = reopenSession(run);
    loadWeights(session);
    const summary = {
      history: JSON.parse(readFileSync(join(run, "metrics.json"), "utf8")),
      bestEpoch: result.best_epoch,
      trainSeconds: result.train_seconds,
      status: result.status,
      test: { accuracy: result.test_accuracy, loss: result.test_loss, confusion: result.confusion },
    };
    const drawn = await renderRunPictures(runPicturesInput(session, summary));
    expect(drawn.map(([file]) => file)).toEqual(["curves.svg", "predictions.svg", "confusion.svg", "report.html"]);
    for (const [file, content] of drawn) expect(readFileSync(join(run, file), "utf8"), file).toBe(content);
  });

  it("shows one plain line per epoch when not on a terminal", () => {
    const r = graphnet("train", "graphs/mnist.graph.json", "--data", data, "--epochs", "2", "--out", join(tempDir(), "r"));
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/^epoch 1\/2  train loss \d\.\d{4} acc \d\.\d{4}  val loss \d\.\d{4} acc \d\.\d{4}  [\d.]+ s  [\d,]+ samples\/s/m);
    expect(r.stderr).toMatch(/^epoch 2\/2 /m);
    expect(r.stderr).not.toContain("\r");
    // The header names the graph's own activations and counts the epochs in words that agree.
    expect(r.stderr).toMatch(/^mnist-mlp: relu\/tanh, adam lr [\d.]+, batch \d+, 2 epochs, patience \d+, seed/m);
  });

  it("names the flag of a bad value, and refuses --resume with options other than --epochs and --patience, naming them", () => {
    const bad = graphnet("train", "graphs/mnist.graph.json", "--data", data, "--lr", "-1");
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^graphnet: --lr: must be > 0/);
    const both = graphnet("train", "graphs/mnist.graph.json", "--resume", run);
    expect(both.code).toBe(1);
    expect(both.stderr).toContain(`--resume continues a run as it was configured, only longer if asked (--epochs, --patience): give the run folder without the graph graphs/mnist.graph.json.`);
    const lr = graphnet("train", "--resume", run, "--lr", "0.1", "--epochs", "9");
    expect(lr.code).toBe(1);
    expect(lr.stderr).toMatch(/^graphnet: --resume continues a run .*: give the run folder without --lr\.$/m);
    const acts = graphnet("train", "graphs/mnist.graph.json", "--data", data, "--activations", "relu");
    expect(acts.code).toBe(1);
    expect(acts.stderr).toContain("1 activation function was given (relu), but the graph has 2 activation nodes (a1, a2)");
  });

  it("Ctrl-C saves a checkpoint and exits cleanly; --resume finishes the run where an uninterrupted one ends", () => {
    const dir = join(tempDir(), "interrupted");
    // The run itself sends the Ctrl-C, after its 5th training step (of 23 in an epoch): no race with its speed.
    const interrupted = spawnSync(process.execPath, [BIN, "train", "graphs/mnist.graph.json", "--data", data, "--epochs", "2", "--out", dir], {
      encoding: "utf8",
      timeout: 120_000,
      env: { ...process.env, GRAPHNET_TEST_SIGNAL_AT: "batch#5=SIGINT" },
    });
    expect(interrupted.status).toBe(130);
    expect(interrupted.stderr).toContain("Ctrl-C: stopping after this batch (Ctrl-C again to quit at once)");
    expect(interrupted.stderr).toMatch(
      /interrupted (after epoch 1|at epoch 1, batch \d+ of 23): saved .*last\.safetensors; continue with graphnet train --resume/,
    );
    expect(interrupted.stderr).not.toMatch(/\n\s+at /);
    expect(existsSync(join(dir, "last.safetensors"))).toBe(true);
    expect(existsSync(join(dir, "result.json"))).toBe(false);
    expect(existsSync(join(dir, ".lock"))).toBe(false);

    const resumed = graphnet("train", "--resume", dir);
    expect(resumed.code).toBe(0);
    expect(resumed.stderr).toMatch(/resuming after epoch \d/);
    expect(resumed.stdout).toMatch(/of 2/);
    const metrics = JSON.parse(readFileSync(join(dir, "metrics.json"), "utf8"));
    expect(metrics.map((m: { epoch: number }) => m.epoch)).toEqual([1, 2]);
    // The same run as `run` (same data, flags and seed), never interrupted: the same weights, bit for bit.
    for (const file of ["last.safetensors", "best.safetensors"]) expect(weights(join(dir, file))).toEqual(weights(join(run, file)));
  });
});

describe("graphnet render", () => {
  it("-o writes the graph as SVG; --backward adds the backward nodes with their formulas", () => {
    const out = join(tempDir(), "graph.svg");
    const forward = graphnet("render", "graphs/mnist.graph.json", "-o", out);
    expect(forward.code).toBe(0);
    expect(forward.stdout).toBe(`wrote ${out}\n`);
    const svg = readFileSync(out, "utf8");
    expect(svg).toMatch(/^<\?xml version="1.0" encoding="UTF-8"\?>\n<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    expect(svg).not.toContain("grad/");
    expect(graphnet("render", "graphs/mnist.graph.json", "-o", out, "--backward").code).toBe(0);
    const backward = readFileSync(out, "utf8");
    expect(backward).toContain('data-id="grad/W1"');
    expect(backward).toContain("xᵀ · grad/z1");
    expect(backward).toContain("δ = (A − Y)/m");
  });
});

describe("graphnet eval and predict", () => {
  it("eval reports the run's test accuracy and a confusion matrix", () => {
    const result = JSON.parse(readFileSync(join(run, "result.json"), "utf8"));
    const r = graphnet("eval", run);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`test accuracy ${result.test_accuracy.toFixed(4)}, loss ${result.test_loss.toFixed(4)}`);
    expect(r.stdout).toMatch(/^true\s+0\s+1\s+2\s+3\s+4\s+5\s+6\s+7\s+8\s+9\s+recall$/m);
  });

  it("predict --index N prints the ten class probabilities of a test image, most likely first", () => {
    const r = graphnet("predict", run, "--index", "3");
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split("\n");
    expect(lines[0]).toMatch(/^predicted \d \(true label \d\)$/);
    const probs = lines.slice(1).map((l) => Number(/^\s+\d\s+(\d\.\d{4})/.exec(l)![1]));
    expect(probs).toHaveLength(10);
    expect(probs.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 2);
    expect([...probs].sort((a, b) => b - a)).toEqual(probs);
  });

  it("refuses a bad run folder or a bad index with one line", () => {
    const notRun = graphnet("eval", tempDir());
    expect(notRun.code).toBe(1);
    expect(notRun.stderr).toMatch(/not a graphnet run folder/);
    const index = graphnet("predict", run, "--index", "120");
    expect(index.code).toBe(1);
    expect(index.stderr).toContain("--index must be below 120");
  });
});
