/**
 * The training progress shows the time left: on a terminal, in the bar, at the pace kept since the run
 * began (batches and evaluations); in a log, after each epoch's line. A clock set by the test stands in
 * for time.
 */
import { describe, expect, it } from "vitest";
import { duration, progressReporter } from "../../cli/progress.js";
import type { EpochMetrics } from "../../src/index.js";

function stream(isTTY: boolean) {
  const written: string[] = [];
  return { written, stream: { isTTY, write: (chunk: string) => written.push(chunk) > 0 } as unknown as NodeJS.WriteStream };
}

const metrics = (epoch: number): EpochMetrics =>
  ({ epoch, train_loss: 0.5, train_accuracy: 0.9, val_loss: 0.4, val_accuracy: 0.91, learning_rate: 0.001, seconds: 10, samples_per_s: 1000 }) as EpochMetrics;

describe("the time left", () => {
  it("on a terminal, the bar gives it from the batches' pace, then the epochs' (evaluation included), and not after the last epoch", () => {
    let t = 0;
    const { written, stream: out } = stream(true);
    const events = progressReporter({ quiet: false, epochs: 3, stream: out, now: () => t });
    const batch = (epoch: number, b: number) => events.batch!({ epoch, batch: b, batches: 10, samples: 64 * b, loss: 0.5, samplesPerSecond: 64 });
    t = 1_000;
    batch(1, 1);
    expect(written.at(-1)).not.toContain("ETA"); // no pace yet
    t = 6_000;
    batch(1, 6); // 5 batches in 5 s: 24 batches left
    expect(written.at(-1)).toMatch(/ 6\/10 .*loss 0\.5000  ETA 24 s$/);
    t = 12_000; // the epoch's last batch at 10 s, then 2 s of evaluation: 11 s for 9 batches
    events.epoch!(metrics(1), { best: true, stoppingIn: null });
    expect(written.at(-1)).toMatch(/^epoch 1\/3 .* \*best  ETA 24 s\n$/); // 20 batches × 11/9 s
    t = 13_222;
    batch(2, 1); // 10 batches in 12.2 s: 19 left
    expect(written.at(-1)).toMatch(/ETA 23 s$/);
    t = 40_000;
    events.epoch!(metrics(3), { best: false, stoppingIn: null });
    expect(written.at(-1)).toMatch(/^epoch 3\/3 .*samples\/s\n$/);
  });

  it("in a log (no bar), each epoch's line ends with it, from the epochs' pace", () => {
    let t = 0;
    const { written, stream: out } = stream(false);
    const events = progressReporter({ quiet: false, epochs: 20, stream: out, now: () => t });
    expect(events.batch).toBeUndefined();
    t = 30_000;
    events.epoch!(metrics(1), { best: true, stoppingIn: null });
    expect(written.at(-1)).toMatch(/^epoch  1\/20 .*  \*best  ETA 9 min 30 s\n$/);
    t = 50_000; // two epochs in 50 s
    events.epoch!(metrics(2), { best: false, stoppingIn: null });
    expect(written.at(-1)).toMatch(/samples\/s  ETA 7 min 30 s\n$/);
  });

  it.each([
    [0.4, "0 s"],
    [8, "8 s"],
    [59.4, "59 s"],
    [125, "2 min 05 s"],
    [3599, "59 min 59 s"],
    [3720, "1 h 02 min"],
  ])("%d s reads %s", (seconds, text) => {
    expect(duration(seconds)).toBe(text);
  });
});
