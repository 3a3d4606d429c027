/**
 * The epoch loop: shuffle, mini-batches, an optimizer step per batch, validation after each epoch,
 * early stopping on the monitored validation figure (restoring the best weights), checkpoints, metrics.
 *
 * Everything random — the initial weights, each epoch's shuffle, the augmentation, the dropout masks —
 * follows from the configuration's seed, so two runs with the same seed are bit-identical, and a run
 * resumed from a checkpoint continues exactly as if it had never stopped.
 */
import { augmentBatch, type AugmentSettings } from "../data/augment.js";
import type { Dataset } from "../data/mnist.js";
import type { Split } from "../data/split.js";
import { UserError } from "../graph/errors.js";
import type { TrainingConfig } from "../graph/training.js";
import { Random } from "../util/random.js";
import { signalPoint } from "../util/test-signal.js";
import { freshProgress, loadCheckpoint, saveCheckpoint, type Progress } from "./checkpoint.js";
import type { Evaluation, Model } from "./model.js";
import { createOptimizer, type Optimizer } from "./optimizers.js";
import type { EpochMetrics, RunFolder } from "./run-folder.js";
import { readMetrics } from "./run-record.js";
import type { PhaseClock } from "./phases.js";
import { learningRateAt } from "./schedule.js";
import { plural } from "../graph/plural.js";
import { improves, monitoredFigure } from "./monitor.js";

/** What a person watching the run is told, as it happens. */
export interface TrainingEvents {
  batch?(info: { epoch: number; batch: number; batches: number; samples: number; loss: number; samplesPerSecond: number }): void;
  epoch?(metrics: EpochMetrics, info: { best: boolean; stoppingIn: number | null }): void;
  notice?(message: string): void;
}

export interface TrainingRun {
  readonly model: Model;
  readonly config: TrainingConfig;
  readonly data: Dataset;
  readonly split: Split;
  readonly folder: RunFolder;
  readonly events?: TrainingEvents;
  /** Polled between batches; true makes the run save a checkpoint and return (Ctrl-C). */
  readonly shouldStop?: () => boolean;
  /** Continue from the folder's last checkpoint (its best, if the last was never written) and metrics. */
  readonly resume?: boolean;
  /** Told the wall clock of the training steps, the validations, the checkpoints and the test. */
  readonly phases?: PhaseClock;
}

export interface TrainingOutcome {
  readonly status: "completed" | "stopped early" | "interrupted";
  readonly history: readonly EpochMetrics[];
  readonly bestEpoch: number;
  readonly test?: Evaluation;
  readonly trainSeconds: number;
}

/** Thrown when the loss stops being a finite number; the last good checkpoint is left as it was. */
export class TrainingDivergedError extends UserError {
  override name = "TrainingDivergedError";
}

export async function train(run: TrainingRun): Promise<TrainingOutcome> {
  // The state's memory goes back to the model at the end, so that a later run on the same model (a
  // resume in the same process) gets the backend's reserved memory and fast update as this one did, and
  // ends bit for bit where an uninterrupted run ends.
  const optimizer = createOptimizer(run.config, run.model.parameterSizes(), run.model.parameterUpdates());
  try {
    return await trainWith(run, optimizer);
  } finally {
    optimizer.release();
  }
}

async function trainWith(run: TrainingRun, optimizer: Optimizer): Promise<TrainingOutcome> {
  const { model, config, data, split, folder, events = {} } = run;
  const phase = <T>(name: string, work: () => T): T => (run.phases ? run.phases.time(name, work) : work());
  const augment: AugmentSettings = { maxShift: config.max_shift, maxRotation: config.max_rotation };
  const scratch = new Float64Array(data.side * data.side);
  const batches = Math.ceil(split.train.length / config.batch_size);
  const totalSteps = batches * config.num_epochs;
  const shapes = new Map([...model.parameterShapes(), ...model.stateShapes()]);

  let history: EpochMetrics[] = [];
  let progress: Progress = freshProgress(config.seed);
  if (run.resume) {
    const path = folder.resumeCheckpoint();
    const checkpoint = loadCheckpoint(path);
    model.load(checkpoint, path);
    optimizer.restore(checkpoint.optimizer, path);
    progress = checkpoint.progress;
    history = [...(checkpoint.history ?? (folder.has("metrics.json") ? readMetrics(folder.path("metrics.json")) : []))].slice(0, progress.epoch);
    const from = path === folder.lastCheckpoint ? "" : ` (from ${path}: last.safetensors was never written)`;
    events.notice?.(`resuming after epoch ${progress.epoch}${progress.batchInEpoch > 0 ? `, batch ${progress.batchInEpoch} of ${batches}` : ""}${from}`);
  }

  const checkpoint = (path: string, p: Progress) =>
    saveCheckpoint(
      path,
      {
        parameters: model.snapshot(),
        state: model.stateSnapshot(),
        shapes,
        optimizer: { name: optimizer.name, steps: optimizer.steps, state: optimizer.state() },
        progress: p,
        history,
      },
      model.parameterIds,
    );

  const stopsEarly = (p: Progress) => config.patience > 0 && p.epochsWithoutImprovement >= config.patience;
  // A run that stopped early and was killed before its test was written stays stopped.
  let status: TrainingOutcome["status"] = stopsEarly(progress) ? "stopped early" : "completed";
  let trainSeconds = history.reduce((s, m) => s + m.seconds, 0);
  for (let epoch = progress.epoch + 1; epoch <= config.num_epochs && status === "completed"; epoch++) {
    // The epoch's shuffle is the first draw of the generator as it stood when the epoch began; the
    // augmentation draws follow. A run resumed mid-epoch redraws the same shuffle, then continues the
    // augmentation from the generator's saved state.
    const shuffler = new Random(progress.randomAtEpochStart);
    const order = shuffler.shuffle(Uint32Array.from(split.train));
    const random = progress.batchInEpoch > 0 ? new Random(progress.randomNow) : shuffler;
    const prepare = config.use_data_augmentation
      ? (x: Parameters<typeof augmentBatch>[0], rows: number) => augmentBatch(x, rows, data.side, random, augment, scratch)
      : undefined;

    let { epochLossSum: lossSum, epochCorrect: correct, epochSamples: seen } = progress;
    const started = performance.now() - progress.epochSeconds * 1000;
    let lastYield = performance.now();
    // The rate of the step about to be taken; the epoch's metrics record its last step's.
    let learningRate = learningRateAt(config, optimizer.steps, totalSteps);
    for (let b = progress.batchInEpoch; b < batches; b++) {
      const start = b * config.batch_size;
      const rows = Math.min(config.batch_size, split.train.length - start);
      learningRate = learningRateAt(config, optimizer.steps, totalSteps);
      const result = model.step(data, order, start, rows, optimizer.steps, prepare);
      if (!Number.isFinite(result.loss)) {
        throw new TrainingDivergedError(
          `training diverged: the loss became ${result.loss} at epoch ${epoch}, step ${b + 1} of ${batches} (learning rate ${learningRate}). ` +
            (folder.has("last.safetensors")
              ? `The last good checkpoint, ${folder.lastCheckpoint} (after epoch ${progress.epoch}), is intact; try a smaller --lr.`
              : `No checkpoint was written yet; try a smaller --lr.`),
        );
      }
      optimizer.step(model.parameters, model.gradients, learningRate);
      lossSum += result.loss * rows;
      correct += result.correct;
      seen += rows;
      signalPoint("batch");

      const now = performance.now();
      if (now - lastYield > 100) {
        lastYield = now;
        events.batch?.({ epoch, batch: b + 1, batches, samples: seen, loss: lossSum / seen, samplesPerSecond: (seen * 1000) / (now - started) });
        await letSignalsIn();
      }
      if (run.shouldStop?.() && b + 1 < batches) {
        const epochSeconds = (performance.now() - started) / 1000;
        checkpoint(folder.lastCheckpoint, {
          ...progress,
          batchInEpoch: b + 1,
          randomNow: random.state(),
          epochLossSum: lossSum,
          epochCorrect: correct,
          epochSamples: seen,
          epochSeconds,
        });
        events.notice?.(
          `interrupted at epoch ${epoch}, batch ${b + 1} of ${batches}: saved ${folder.lastCheckpoint}; continue with graphnet train --resume ${folder.dir}`,
        );
        return { status: "interrupted", history, bestEpoch: progress.bestEpoch, trainSeconds: trainSeconds + epochSeconds };
      }
    }
    const seconds = (performance.now() - started) / 1000;
    trainSeconds += seconds;
    run.phases?.add("training", seconds);

    const validation = phase("validation", () => model.evaluate(data, split.validation));
    const metrics: EpochMetrics = {
      epoch,
      train_loss: lossSum / seen,
      train_accuracy: correct / seen,
      val_loss: validation.loss,
      val_accuracy: validation.accuracy,
      learning_rate: learningRate,
      seconds,
      samples_per_s: seen / seconds,
    };
    history.push(metrics);
    signalPoint("epoch-end");

    // The best epoch's figures are in the history; a checkpoint written before histories were kept has
    // only the best loss.
    const best =
      history.find((m) => m.epoch === progress.bestEpoch) ??
      (progress.bestEpoch > 0 ? { val_loss: progress.bestValidationLoss, val_accuracy: -Infinity } : undefined);
    const improved = improves(metrics, best, config.monitor);
    progress = {
      epoch,
      batchInEpoch: 0,
      randomAtEpochStart: random.state(),
      randomNow: [],
      epochLossSum: 0,
      epochCorrect: 0,
      epochSamples: 0,
      epochSeconds: 0,
      bestValidationLoss: improved ? validation.loss : progress.bestValidationLoss,
      bestEpoch: improved ? epoch : progress.bestEpoch,
      epochsWithoutImprovement: improved ? 0 : progress.epochsWithoutImprovement + 1,
    };
    // The order makes every moment resumable. best before last: a last checkpoint never names a best
    // epoch whose weights best.safetensors lacks (after a kill between the two, last is the previous
    // epoch's and the resumed run redoes this one, bit for bit; in the first epoch best stands in for
    // it). The checkpoints, which carry the history, before metrics.json, which is made from them.
    phase("checkpoints", () => {
      if (improved) checkpoint(folder.bestCheckpoint, progress);
      checkpoint(folder.lastCheckpoint, progress);
      folder.writeMetrics(history);
    });
    const stop = stopsEarly(progress);
    events.epoch?.(metrics, { best: improved, stoppingIn: config.patience > 0 ? config.patience - progress.epochsWithoutImprovement : null });
    await letSignalsIn(); // a Ctrl-C during a short epoch is seen here
    if (!stop && epoch < config.num_epochs && run.shouldStop?.()) {
      events.notice?.(`interrupted after epoch ${epoch}: saved ${folder.lastCheckpoint}; continue with graphnet train --resume ${folder.dir}`);
      return { status: "interrupted", history, bestEpoch: progress.bestEpoch, trainSeconds };
    }
    if (stop) {
      status = "stopped early";
      events.notice?.(`early stopping: the ${monitoredFigure(config.monitor)} has not improved for ${plural(config.patience, "epoch")} (best: epoch ${progress.bestEpoch})`);
      break;
    }
  }

  // Test with the best weights, as early stopping promises.
  const test = phase("test", () => {
    if (folder.has("best.safetensors")) model.load(loadCheckpoint(folder.bestCheckpoint), folder.bestCheckpoint);
    return model.evaluate(data, split.test);
  });
  return { status, history, bestEpoch: progress.bestEpoch, test, trainSeconds };
}

/**
 * Lets a Ctrl-C (or SIGTERM) that arrived during the synchronous steps reach its handler. Node runs
 * signal handlers in the event loop's poll phase; one setImmediate queued from an I/O callback runs in
 * the same turn's check phase, before any poll. Two in a row always have a poll phase between them.
 */
async function letSignalsIn(): Promise<void> {
  for (let i = 0; i < 2; i++) await new Promise((resolve) => setImmediate(resolve));
}
