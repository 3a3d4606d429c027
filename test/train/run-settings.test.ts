/**
 * A run's training settings are resolved once (flags over the graph file's section over the defaults),
 * stored once in config.json, and read back from there by a resumed run; a config.json written before
 * they were stored once (a second copy inside the graph) still resumes as it was.
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { loadCheckpoint, reopenSession, startSession, train, type EpochMetrics, type TrainingSection } from "../../src/index.js";
import { graphnetInProcess } from "../support/cli.js";
import { writeSmallMnist } from "../support/small-mnist.js";

let dataDir: string;
beforeAll(() => {
  dataDir = writeSmallMnist(200, 60);
});

/** A learning rate no default or graph file has: a resumed run can only have it from config.json. */
const SETTINGS: TrainingSection = { num_epochs: 2, learning_rate: 0.0042 };

const tempDir = () => mkdtempSync(join(tmpdir(), "graphnet-settings-"));

function session(graphFile = "graphs/mnist.graph.json", overrides: TrainingSection = SETTINGS) {
  // One thread: several models in one process, each with a worker thread, would crowd the cores.
  return startSession({ graphFile, dataDir, outDir: join(tempDir(), "run"), overrides, backend: "ts", threads: 1 });
}

const configJson = (dir: string) => readFileSync(join(dir, "config.json"), "utf8");
const metrics = (dir: string) => JSON.parse(readFileSync(join(dir, "metrics.json"), "utf8")) as EpochMetrics[];
const weights = (dir: string) => [...loadCheckpoint(join(dir, "last.safetensors")).parameters.values()].map((p) => [...p]);

/** Trains the first epoch and stops, as a Ctrl-C at its end would; the folder is left for a resume to claim. */
async function firstEpochOnly(s: ReturnType<typeof session>): Promise<string> {
  const outcome = await train({ ...s, shouldStop: () => true });
  expect(outcome.status).toBe("interrupted");
  s.folder.release();
  return s.folder.dir;
}

/** Resumes the run in `dir` from config.json and its checkpoint alone, as `graphnet train --resume` does. */
async function resume(dir: string) {
  const reopened = reopenSession(dir, { backend: "ts", threads: 1, training: true });
  try {
    const outcome = await train({ ...reopened, resume: true });
    expect(outcome.status).toBe("completed");
    return reopened;
  } finally {
    reopened.folder.release();
  }
}

describe("config.json", () => {
  it("holds the training settings once, beside the graph, as the session trained with them", () => {
    const s = session();
    const text = configJson(s.folder.dir);
    s.folder.release();
    const stored = JSON.parse(text);
    expect(stored.training).toEqual(s.config);
    expect(stored.graph.training).toBeUndefined();
    expect(text.match(/"learning_rate"/g)).toHaveLength(1);
    expect(stored.training.learning_rate).toBe(0.0042);
  });

  it("records the activations the graph trains with, not the default list a graph without one gets", () => {
    const recorded = (graphFile: string, overrides: TrainingSection) => {
      const s = session(graphFile, overrides);
      const text = configJson(s.folder.dir);
      s.folder.release();
      return JSON.parse(text).training.activation_functions;
    };
    expect(recorded("graphs/mnist-cnn.graph.json", { num_epochs: 1 })).toEqual(["relu", "relu", "relu"]);
    expect(recorded("graphs/mnist.graph.json", { activation_functions: ["sigmoid", "tanh"] })).toEqual(["sigmoid", "tanh"]);
  });
});

describe("a resumed run", () => {
  let whole: ReturnType<typeof session>;
  beforeAll(async () => {
    whole = session();
    await train(whole);
    whole.folder.release();
  });

  it("takes its settings from config.json, and ends where an uninterrupted run ends", async () => {
    const dir = await firstEpochOnly(session());
    const resumed = await resume(dir);
    expect(resumed.config).toEqual(whole.config);
    expect(metrics(dir).map((m) => m.learning_rate)).toEqual([0.0042, 0.0042]);
    expect(weights(dir)).toEqual(weights(whole.folder.dir));
  });

  it("from a config.json in the layout that kept a copy of the settings in the graph, ends where an uninterrupted run ends", async () => {
    const dir = await firstEpochOnly(session());
    // What graphnet wrote before the settings were stored once: the graph carried `training` too.
    const stored = JSON.parse(configJson(dir));
    writeFileSync(join(dir, "config.json"), JSON.stringify({ ...stored, graph: { ...stored.graph, training: stored.training } }, null, 2));
    const resumed = await resume(dir);
    expect(resumed.config).toEqual(whole.config);
    expect(resumed.record.graph.training).toBeUndefined();
    expect(metrics(dir).map((m) => m.learning_rate)).toEqual([0.0042, 0.0042]);
    expect(weights(dir)).toEqual(weights(whole.folder.dir));
  });

  it("refuses a --lr given with --resume, naming it: the run continues as it was configured", async () => {
    const r = await graphnetInProcess("train", "--resume", whole.folder.dir, "--lr", "0.1");
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("--resume continues a run as it was configured, only longer if asked (--epochs, --patience): give the run folder without --lr.");
  });
});
