/**
 * What `graphnet train` shows while it runs: on a terminal, a progress bar redrawn in place with the
 * samples per second, the running loss and the time left; elsewhere (a log file, CI), one plain line per
 * epoch, with the time left after it.
 */
import type { EpochMetrics } from "../src/train/run-folder.js";
import type { TrainingEvents } from "../src/train/trainer.js";

export interface ProgressOptions {
  quiet: boolean;
  epochs: number;
  stream?: NodeJS.WriteStream;
  /** Milliseconds on a steady clock; performance.now unless a test sets the time. */
  now?: () => number;
}

export function progressReporter(options: ProgressOptions): TrainingEvents {
  const out = options.stream ?? process.stderr;
  if (options.quiet) return {};
  const now = options.now ?? (() => performance.now());
  const tty = out.isTTY === true;
  const width = String(options.epochs).length;
  const clear = () => tty && out.write("\r\x1b[2K");
  const left = timeLeft(options.epochs, now);
  return {
    batch: tty
      ? ({ epoch, batch, batches, loss, samplesPerSecond }) => {
          const done = Math.round((24 * batch) / batches);
          const eta = left.afterBatch(epoch, batch, batches);
          out.write(
            `\r\x1b[2Kepoch ${String(epoch).padStart(width)}/${options.epochs} [${"█".repeat(done)}${"·".repeat(24 - done)}] ` +
              `${batch}/${batches}  ${Math.round(samplesPerSecond).toLocaleString("en-US")} samples/s  loss ${loss.toFixed(4)}` +
              (eta === undefined ? "" : `  ETA ${duration(eta)}`),
          );
        }
      : undefined,
    epoch: (m: EpochMetrics, { best }) => {
      clear();
      const eta = left.afterEpoch(m.epoch);
      out.write(`${epochLine(m, width, options.epochs)}${best ? "  *best" : ""}${eta === undefined ? "" : `  ETA ${duration(eta)}`}\n`);
    },
    notice: (message) => {
      clear();
      out.write(`${message}\n`);
    },
  };
}

/**
 * The seconds the run has left, at the pace it has kept since this process began reporting (so a
 * resumed run counts only its own batches, and the pace includes each epoch's evaluation once one has
 * ended). Undefined until there is a pace to go by, and after the last epoch. Early stopping may end the
 * run sooner than this says.
 */
function timeLeft(epochs: number, now: () => number) {
  const start = now();
  let first: { at: number; done: number } | undefined; // the first batch seen, in batches of the run
  let batchesPerEpoch = 0;
  let firstEpoch: number | undefined; // the first epoch this process trains
  return {
    afterBatch(epoch: number, batch: number, batches: number): number | undefined {
      batchesPerEpoch = batches;
      const done = (epoch - 1) * batches + batch;
      first ??= { at: now(), done };
      const elapsed = now() - first.at;
      if (done <= first.done || elapsed <= 0) return undefined;
      return ((epochs * batches - done) * elapsed) / (done - first.done) / 1000;
    },
    afterEpoch(epoch: number): number | undefined {
      firstEpoch ??= epoch;
      if (epoch >= epochs) return undefined;
      // With a bar, the pace is the batches'; without one (no batch events), the epochs'.
      if (first && batchesPerEpoch > 0) return this.afterBatch(epoch + 1, 0, batchesPerEpoch);
      const perEpoch = (now() - start) / (epoch - firstEpoch + 1);
      return ((epochs - epoch) * perEpoch) / 1000;
    },
  };
}

/** "8 s", "2 min 05 s", "1 h 02 min". */
export function duration(seconds: number): string {
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, "0")} s`;
  const minutes = Math.round(s / 60);
  return `${Math.floor(minutes / 60)} h ${String(minutes % 60).padStart(2, "0")} min`;
}

function epochLine(m: EpochMetrics, width: number, epochs: number): string {
  return (
    `epoch ${String(m.epoch).padStart(width)}/${epochs}  train loss ${m.train_loss.toFixed(4)} acc ${m.train_accuracy.toFixed(4)}  ` +
    `val loss ${m.val_loss.toFixed(4)} acc ${m.val_accuracy.toFixed(4)}  ${m.seconds.toFixed(1)} s  ${Math.round(m.samples_per_s).toLocaleString("en-US")} samples/s`
  );
}
