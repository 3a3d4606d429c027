/**
 * `train --resume RUN --epochs N [--patience P]`: a finished run trained further, as if it had been
 * configured longer from the start (constant learning rate), and refusals that name the setting to raise.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { loadCheckpoint, recordResult, reopenSession, startSession, train, type TrainingSection } from "../../src/index.js";
import { extendSession } from "../../src/train/extend.js";
import { writeSmallMnist } from "../support/small-mnist.js";

let dataDir: string;
beforeAll(() => {
  dataDir = writeSmallMnist(500, 100);
});

/** A run trained to its end, with its result written, as `graphnet train` leaves it; its folder released. */
async function finishedRun(overrides: TrainingSection) {
  const outDir = mkdtempSync(join(tmpdir(), "graphnet-run-"));
  const session = startSession({ graphFile: "graphs/mnist.graph.json", dataDir, outDir, overrides });
  const outcome = await train(session);
  recordResult(session, outcome);
  session.folder.release();
  return { dir: session.folder.dir, outcome };
}

const weights = (dir: string) => [...loadCheckpoint(join(dir, "last.safetensors")).parameters.values()].map((p) => [...p]);

async function resumeWith(dir: string, extension: TrainingSection) {
  const reopened = reopenSession(dir, { training: true });
  try {
    const { session, notice } = extendSession(reopened, extension);
    return { notice, outcome: await train({ ...session, resume: true }), session };
  } finally {
    reopened.folder.release();
  }
}

describe("extending a finished run", () => {
  it("two epochs then two more end bit for bit where four epochs end, and config.json records the new length", async () => {
    const whole = await finishedRun({ num_epochs: 4 });
    const short = await finishedRun({ num_epochs: 2 });
    const { notice, outcome } = await resumeWith(short.dir, { num_epochs: 4 });
    expect(notice).toBe("extending the run: --epochs 2 → 4");
    expect(outcome.history.map((m) => [m.train_loss, m.val_loss])).toEqual(whole.outcome.history.map((m) => [m.train_loss, m.val_loss]));
    expect(weights(short.dir)).toEqual(weights(whole.dir));
    const reopened = reopenSession(short.dir);
    expect(reopened.config.num_epochs).toBe(4);
  });

  it("says that a cosine schedule is stretched over the new length", async () => {
    const run = await finishedRun({ num_epochs: 1, lr_schedule: "cosine" });
    const reopened = reopenSession(run.dir, { training: true });
    try {
      expect(extendSession(reopened, { num_epochs: 3 }).notice).toBe("extending the run: --epochs 1 → 3 (the cosine schedule now spans 3 epochs)");
    } finally {
      reopened.folder.release();
    }
  });

  it("refuses a finished run without a longer --epochs, and fewer epochs than it trained, naming what to give", async () => {
    const run = await finishedRun({ num_epochs: 2 });
    const attempt = (extension: TrainingSection) => {
      const reopened = reopenSession(run.dir, { training: true });
      try {
        return extendSession(reopened, extension);
      } finally {
        reopened.folder.release();
      }
    };
    expect(() => attempt({})).toThrow(`${run.dir} has finished: it trained its 2 epochs; to train it further, give --epochs with more than 2.`);
    expect(() => attempt({ num_epochs: 1 })).toThrow(`--epochs 1: ${run.dir} has trained 2 epochs already; to extend it, give more than 2.`);
    expect(reopenSession(run.dir).config.num_epochs).toBe(2); // nothing was written
  });

  it("a run that stopped early goes on only with a larger patience, which it then uses", async () => {
    const run = await finishedRun({ num_epochs: 40, patience: 2, learning_rate: 0.01 });
    expect(run.outcome.status).toBe("stopped early");
    const done = run.outcome.history.length;
    const since = done - run.outcome.bestEpoch;
    await expect(resumeWith(run.dir, { num_epochs: 60 })).rejects.toThrow(
      `${run.dir} stopped early: its validation loss has not improved for ${since} epochs (best: epoch ${run.outcome.bestEpoch}); to train it further, give --patience above ${since} (or 0, never stop early).`,
    );
    const { outcome } = await resumeWith(run.dir, { num_epochs: done + 2, patience: 0 });
    expect(outcome.history.length).toBe(done + 2);
    expect(outcome.status).toBe("completed");
  });
});
