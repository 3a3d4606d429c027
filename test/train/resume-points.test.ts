/**
 * A run can be resumed from whatever a kill leaves at the end of an epoch: the folder is put in each
 * state a kill between two of the end-of-epoch writes leaves (best.safetensors, last.safetensors,
 * metrics.json, in that order), and the resumed run must end bit for bit where an uninterrupted one ends,
 * with every epoch's metrics. (test/cli/kill-resume.test.ts kills real processes at those moments.)
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { RunFolder, UserError, loadCheckpoint, startSession, train, type EpochMetrics, type TrainingSection } from "../../src/index.js";
import { writeSmallMnist } from "../support/small-mnist.js";

let dataDir: string;
beforeAll(() => {
  dataDir = writeSmallMnist(200, 60);
});

const OPTIONS: TrainingSection = { num_epochs: 3, use_dropout: true, use_data_augmentation: true };

function session(overrides: TrainingSection = OPTIONS, backend: "ts" | "wasm" = "ts") {
  const outDir = join(mkdtempSync(join(tmpdir(), "graphnet-resume-")), "run");
  // One thread: several models in one process, each with a worker thread, would crowd the cores.
  return startSession({ graphFile: "graphs/mnist.graph.json", dataDir, outDir, overrides, backend, threads: 1 });
}

function weights(dir: string, file: string) {
  return [...loadCheckpoint(join(dir, file)).parameters.values()].map((p) => [...p]);
}

const metrics = (dir: string) => JSON.parse(readFileSync(join(dir, "metrics.json"), "utf8")) as EpochMetrics[];
/** What is the same between two runs of one seed (the seconds are not). */
const losses = (rows: readonly EpochMetrics[]) => rows.map((m) => [m.epoch, m.train_loss, m.train_accuracy, m.val_loss, m.val_accuracy, m.learning_rate]);

/** Trains `epochs` more epochs and stops, as a Ctrl-C at that epoch's end would. */
async function trainEpochs(s: ReturnType<typeof session>, epochs: number, resume = false) {
  let ended = 0;
  const outcome = await train({ ...s, resume, events: { epoch: () => void ended++ }, shouldStop: () => ended >= epochs });
  expect(outcome.status).toBe("interrupted");
}

let whole: ReturnType<typeof session>;
beforeAll(async () => {
  whole = session();
  await train(whole);
});

describe("resuming from what a kill at an epoch's end leaves", () => {
  it("before last.safetensors of the first epoch was written: from best.safetensors, which holds the same state", async () => {
    const s = session();
    await trainEpochs(s, 1);
    for (const name of ["last.safetensors", "metrics.json", "metrics.csv"]) rmSync(s.folder.path(name));
    const notices: string[] = [];
    const resumed = await train({ ...s, resume: true, events: { notice: (m) => notices.push(m) } });
    expect(notices[0]).toBe(`resuming after epoch 1 (from ${s.folder.bestCheckpoint}: last.safetensors was never written)`);
    expect(resumed.status).toBe("completed");
    expect(weights(s.folder.dir, "last.safetensors")).toEqual(weights(whole.folder.dir, "last.safetensors"));
    expect(weights(s.folder.dir, "best.safetensors")).toEqual(weights(whole.folder.dir, "best.safetensors"));
    expect(losses(metrics(s.folder.dir))).toEqual(losses(metrics(whole.folder.dir)));
  });

  it("after the checkpoints but before metrics.json: the epoch's metrics come from the checkpoint", async () => {
    const s = session();
    await trainEpochs(s, 2);
    const rows = metrics(s.folder.dir);
    writeFileSync(s.folder.path("metrics.json"), JSON.stringify(rows.slice(0, 1))); // as it stood before epoch 2's writes
    const resumed = await train({ ...s, resume: true });
    expect(losses(resumed.history)).toEqual(losses(metrics(whole.folder.dir)));
    expect(losses(metrics(s.folder.dir))).toEqual(losses(metrics(whole.folder.dir)));
    expect(weights(s.folder.dir, "last.safetensors")).toEqual(weights(whole.folder.dir, "last.safetensors"));
  });

  it("between best.safetensors and last.safetensors of a later epoch: that epoch is trained again, to the same end", async () => {
    const s = session();
    await trainEpochs(s, 1);
    const after1 = { last: readFileSync(s.folder.lastCheckpoint), metrics: readFileSync(s.folder.path("metrics.json")) };
    await trainEpochs(s, 1, true);
    expect(loadCheckpoint(s.folder.bestCheckpoint).progress.epoch).toBe(2); // epoch 2 improved: best.safetensors is new
    writeFileSync(s.folder.lastCheckpoint, after1.last);
    writeFileSync(s.folder.path("metrics.json"), after1.metrics);
    const resumed = await train({ ...s, resume: true });
    expect(losses(resumed.history)).toEqual(losses(metrics(whole.folder.dir)));
    expect(weights(s.folder.dir, "last.safetensors")).toEqual(weights(whole.folder.dir, "last.safetensors"));
    expect(weights(s.folder.dir, "best.safetensors")).toEqual(weights(whole.folder.dir, "best.safetensors"));
  });

  it("on the wasm backend too, resumed in the same process on the same model", async () => {
    const [uninterrupted, s] = [session(OPTIONS, "wasm"), session(OPTIONS, "wasm")];
    await train(uninterrupted);
    await trainEpochs(s, 1);
    await train({ ...s, resume: true });
    expect(weights(s.folder.dir, "last.safetensors")).toEqual(weights(uninterrupted.folder.dir, "last.safetensors"));
  });

  it("a run with no checkpoint has nothing to resume, and says how to start again", async () => {
    const s = session();
    await expect(train({ ...s, resume: true })).rejects.toThrow(UserError);
    await expect(train({ ...s, resume: true })).rejects.toThrow(
      `${s.folder.dir}: there is nothing to resume: the run has no checkpoint, so it stopped before it finished its first epoch. ` +
        `Start it again (\`graphnet train GRAPH --out ${s.folder.dir}\` takes the folder over).`,
    );
  });

  it("a run that stopped early and was killed before its test stays stopped", async () => {
    const s = session({ num_epochs: 30, patience: 1, learning_rate: 0.05 });
    const first = await train(s);
    expect(first.status).toBe("stopped early");
    const resumed = await train({ ...s, resume: true });
    expect(resumed.status).toBe("stopped early");
    expect(resumed.history).toEqual(first.history);
    expect(resumed.test).toEqual(first.test);
  });
});

describe("temporary files a kill left", () => {
  it("are removed when the folder is claimed again, except those of a process still running", () => {
    const dir = mkdtempSync(join(tmpdir(), "graphnet-resume-"));
    writeFileSync(join(dir, "config.json"), "{}");
    const stale = [".last.safetensors.999999999.tmp", `.metrics.json.${process.pid}.tmp`];
    const live = `.lock.${process.ppid}.tmp`;
    for (const name of [...stale, live]) writeFileSync(join(dir, name), "x");
    const folder = RunFolder.claimExisting(dir);
    for (const name of stale) expect(existsSync(join(dir, name))).toBe(false);
    expect(existsSync(join(dir, live))).toBe(true);
    folder.release();
  });
});
