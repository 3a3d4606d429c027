/**
 * What `graphnet train` shows while it runs: on a terminal, a progress bar redrawn in place with the
 * samples per second and the running loss; elsewhere (a log file, CI), one plain line per epoch.
 */
import type { EpochMetrics } from "../src/train/run-folder.js";
import type { TrainingEvents } from "../src/train/trainer.js";

export function progressReporter(options: { quiet: boolean; epochs: number; stream?: NodeJS.WriteStream }): TrainingEvents {
  const out = options.stream ?? process.stderr;
  if (options.quiet) return {};
  const tty = out.isTTY === true;
  const width = String(options.epochs).length;
  const clear = () => tty && out.write("\r\x1b[2K");
  return {
    batch: tty
      ? ({ epoch, batch, batches, loss, samplesPerSecond }) => {
          const done = Math.round((24 * batch) / batches);
          out.write(
            `\r\x1b[2Kepoch ${String(epoch).padStart(width)}/${options.epochs} [${"█".repeat(done)}${"·".repeat(24 - done)}] ` +
              `${batch}/${batches}  ${Math.round(samplesPerSecond).toLocaleString("en-US")} samples/s  loss ${loss.toFixed(4)}`,
          );
        }
      : undefined,
    epoch: (m: EpochMetrics, { best }) => {
      clear();
      out.write(`${epochLine(m, width, options.epochs)}${best ? "  *best" : ""}\n`);
    },
    notice: (message) => {
      clear();
      out.write(`${message}\n`);
    },
  };
}

function epochLine(m: EpochMetrics, width: number, epochs: number): string {
  return (
    `epoch ${String(m.epoch).padStart(width)}/${epochs}  train loss ${m.train_loss.toFixed(4)} acc ${m.train_accuracy.toFixed(4)}  ` +
    `val loss ${m.val_loss.toFixed(4)} acc ${m.val_accuracy.toFixed(4)}  ${m.seconds.toFixed(1)} s  ${Math.round(m.samples_per_s).toLocaleString("en-US")} samples/s`
  );
}
