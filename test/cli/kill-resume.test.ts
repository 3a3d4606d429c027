/**
 * kill -9 at any moment after a run's first epoch ended leaves a run that `graphnet train --resume`
 * finishes, bit for bit as an uninterrupted run ends. One run folder is killed again and again, each
 * time at another moment — inside the writes at an epoch's end (between any two files, and with a file
 * half-written under its temporary name), and mid-epoch — and stopped once by SIGTERM, resumed each
 * time; then it is resumed to the end and compared with an uninterrupted run.
 *
 * The moments are exact: GRAPHNET_TEST_SIGNAL_AT (src/util/test-signal.ts) makes the process signal
 * itself the N-th time it reaches a named point, counted from its own start.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { loadCheckpoint, startSession, train, type EpochMetrics } from "../../src/index.js";
import { BIN } from "../support/cli.js";
import { writeSmallMnist } from "../support/small-mnist.js";

const GRAPH = "graphs/mnist.graph.json";
const EPOCHS = 6;
/** Dropout and augmentation on: a resumed run must also continue their random draws exactly. */
const FLAGS = ["--epochs", String(EPOCHS), "--dropout", "--augment", "--patience", "0"];

function graphnet(args: readonly string[], signalAt: string) {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    encoding: "utf8",
    timeout: 60_000,
    env: { ...process.env, GRAPHNET_TEST_SIGNAL_AT: signalAt },
  });
  return { code: r.status, signal: r.signal, stderr: r.stderr, pid: r.pid! };
}

const weights = (file: string) => [...loadCheckpoint(file).parameters.values()].map((p) => [...p]);
const epochOf = (file: string) => loadCheckpoint(file).progress.epoch;
/** The rows of a metrics.csv under its header (0 when there is none). */
const csvRows = (file: string): number => (existsSync(file) ? readFileSync(file, "utf8").trim().split("\n").length - 1 : 0);
const metrics = (dir: string): EpochMetrics[] => (existsSync(join(dir, "metrics.json")) ? JSON.parse(readFileSync(join(dir, "metrics.json"), "utf8")) : []);
const losses = (history: readonly EpochMetrics[]) => history.map((m) => [m.epoch, m.train_loss, m.val_loss, m.val_accuracy]);

let data: string;
let reference: string;
beforeAll(async () => {
  data = writeSmallMnist(200, 60);
  // The uninterrupted run, in this process on the CLI's backend (wasm): the same numbers, bit for bit.
  const session = startSession({
    graphFile: GRAPH,
    dataDir: data,
    outDir: join(mkdtempSync(join(tmpdir(), "graphnet-kill-")), "reference"),
    backend: "wasm",
    overrides: { num_epochs: EPOCHS, use_dropout: true, use_data_augmentation: true, patience: 0 },
  });
  await train(session);
  session.folder.release();
  reference = session.folder.dir;
});

describe("a run killed at any moment after its first epoch", () => {
  it("resumes every time, and ends bit for bit where an uninterrupted run ends", () => {
    const dir = join(mkdtempSync(join(tmpdir(), "graphnet-kill-")), "run");
    const file = (name: string) => join(dir, name);
    const resume = ["train", "--resume", dir];

    // First epoch's end, between best.safetensors and last.safetensors: only best holds the epoch.
    let r = graphnet(["train", GRAPH, "--data", data, "--out", dir, ...FLAGS], "wrote:best.safetensors#1=SIGKILL");
    expect(r.signal).toBe("SIGKILL");
    expect(readdirSync(dir).sort()).toEqual([".lock", "best.safetensors", "config.json"]);

    // Resumed from best; killed with last.safetensors written under its temporary name, not yet in place.
    r = graphnet(resume, "write:last.safetensors#1=SIGKILL");
    expect(r.signal).toBe("SIGKILL");
    expect(r.stderr).toContain(`resuming after epoch 1 (from ${file("best.safetensors")}: last.safetensors was never written)`);
    expect(existsSync(file(`.last.safetensors.${r.pid}.tmp`))).toBe(true);
    expect(existsSync(file("last.safetensors"))).toBe(false);

    // Killed mid-epoch, by nothing more than the 3rd training step: nothing new written. The stale
    // temporary file and lock of the process before are gone.
    r = graphnet(resume, "batch#3=SIGKILL");
    expect(r.signal).toBe("SIGKILL");
    expect(readdirSync(dir).filter((name) => name.endsWith(".tmp"))).toEqual([]);

    // Between last.safetensors and metrics.json: the checkpoint is ahead of metrics.json, and holds the
    // metrics of every epoch it completed.
    r = graphnet(resume, "wrote:last.safetensors#1=SIGKILL");
    expect(r.signal).toBe("SIGKILL");
    const last = loadCheckpoint(file("last.safetensors"));
    expect(metrics(dir).length).toBeLessThan(last.progress.epoch);
    expect(last.history!.map((m) => m.epoch)).toEqual([...Array(last.progress.epoch).keys()].map((k) => k + 1));

    // Between metrics.json and metrics.csv.
    r = graphnet(resume, "wrote:metrics.json#1=SIGKILL");
    expect(r.signal).toBe("SIGKILL");
    expect(csvRows(file("metrics.csv"))).toBeLessThan(metrics(dir).length);
    expect(epochOf(file("last.safetensors"))).toBe(metrics(dir).length);

    // SIGTERM mid-epoch, as Ctrl-C: a checkpoint of the batches done, exit code 143, the lock released.
    r = graphnet(resume, "batch#4=SIGTERM");
    expect(r.code).toBe(143);
    expect(r.stderr).toContain("SIGTERM: stopping after this batch");
    expect(r.stderr).toMatch(/interrupted (at epoch \d, batch \d+ of 10|after epoch \d): saved .*last\.safetensors; continue with graphnet train --resume/);
    expect(existsSync(file(".lock"))).toBe(false);

    // After an epoch's validation, before any of its files.
    r = graphnet(resume, "epoch-end#1=SIGKILL");
    expect(r.signal).toBe("SIGKILL");
    expect(epochOf(file("last.safetensors"))).toBeLessThan(EPOCHS);

    r = graphnet(resume, "");
    expect(r.stderr).toMatch(/^resuming after epoch \d/m);
    expect(r.code).toBe(0);
    expect(losses(metrics(dir))).toEqual(losses(metrics(reference)));
    expect(weights(file("last.safetensors"))).toEqual(weights(join(reference, "last.safetensors")));
    expect(weights(file("best.safetensors"))).toEqual(weights(join(reference, "best.safetensors")));
    expect(existsSync(file("result.json"))).toBe(true);
    expect(readdirSync(dir).filter((name) => name.startsWith("."))).toEqual([]);
  }, 120_000);
});
